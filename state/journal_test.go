package state

import (
	"encoding/json"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestStepNextAndValid(t *testing.T) {
	for i, s := range Steps {
		require.True(t, s.Valid(), "%s: got invalid want valid", s)
		next, ok := s.Next()
		if i+1 == len(Steps) {
			require.False(t, ok, "%s is last: got next %q", s, next)
			continue
		}
		require.True(t, ok)
		require.Equal(t, Steps[i+1], next, "after %s: got %s want %s", s, next, Steps[i+1])
	}
	require.False(t, Step("fencing").Valid(), "got valid for an unknown step")
	_, ok := Step("fencing").Next()
	require.False(t, ok, "an unknown step has no next")
}

const goodRecord = `{"id":"20260301T120000.000Z-0a1b2c3d","kind":"failover","volume":"vol-1","az":"us-east-1a","device":"/dev/xvdb",` +
	`"from":{"instance":"i-0aaaaaaaaaaaaaaa1","machine":"m1"},"to":{"instance":"i-0bbbbbbbbbbbbbbb2","machine":"m2","privateIp":"10.0.0.2"},` +
	`"reason":"owner dead","signals":[{"Source":"ec2-state","OK":false,"Unknown":false,"Detail":"stopped","Since":"2026-03-01T11:59:55Z"}],` +
	`"epoch":4,"fence":"stop-then-detach","step":"fenced","created":"2026-03-01T12:00:00Z","updated":"2026-03-01T12:00:01Z",` +
	`"timeline":[{"step":"planned","start":"2026-03-01T12:00:00Z","end":"2026-03-01T12:00:00Z","attempts":1,"leader":"i-0ccccccccccccccc3"}]}`

func TestParseRecord(t *testing.T) {
	rec, err := ParseRecord([]byte(goodRecord), 42)
	require.NoError(t, err)
	require.Equal(t, int64(42), rec.Rev, "got Rev %d want the create revision 42", rec.Rev)
	require.Equal(t, StepFenced, rec.Step)
	require.Equal(t, FenceStopThenDetach, rec.Fence)
	require.Equal(t, []Signal{{Source: "ec2-state", Detail: "stopped", Since: time.Date(2026, 3, 1, 11, 59, 55, 0, time.UTC)}}, rec.Signals)

	edit := func(from, to string) string {
		require.Contains(t, goodRecord, from)
		return strings.Replace(goodRecord, from, to, 1)
	}
	for _, tt := range []struct {
		name, value, wantErr string
	}{
		{"not JSON", `{`, "journal record: unexpected end of JSON input"},
		{"wrong type", `{"id":7}`, "journal record: json: cannot unmarshal number"},
		{"no id", edit(`"id":"20260301T120000.000Z-0a1b2c3d"`, `"id":""`), `journal record of vol-1: id "" volume "vol-1": both required`},
		{"no volume", edit(`"volume":"vol-1"`, `"volume":""`), `volume "": both required`},
		{"unknown kind", edit(`"kind":"failover"`, `"kind":"teleport"`), `kind: "teleport" unknown`},
		{"unknown step", edit(`"step":"fenced"`, `"step":"fencing"`), `step: "fencing" unknown`},
		{"target not an instance", edit(`"instance":"i-0bbbbbbbbbbbbbbb2"`, `"instance":"web-2"`), `to: instance "web-2" machine "m2" incomplete`},
		{"target without machine", edit(`"machine":"m2"`, `"machine":""`), `to: instance "i-0bbbbbbbbbbbbbbb2" machine "" incomplete`},
		{"failover without owner", edit(`"instance":"i-0aaaaaaaaaaaaaaa1"`, `"instance":""`), `from: instance "" is not an instance ID`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseRecord([]byte(tt.value), 1)
			require.ErrorContains(t, err, tt.wantErr)
		})
	}

	heal := edit(`"kind":"failover"`, `"kind":"heal"`)
	heal = strings.Replace(heal, `"instance":"i-0aaaaaaaaaaaaaaa1"`, `"instance":""`, 1)
	_, err = ParseRecord([]byte(heal), 0)
	require.NoError(t, err, "a heal has no previous owner")
}

func TestRecordEncodeRoundTrips(t *testing.T) {
	rec, err := ParseRecord([]byte(goodRecord), 42)
	require.NoError(t, err)
	require.JSONEq(t, goodRecord, rec.Encode(), "got … want the stored form unchanged (Rev is not stored)")
	back, err := ParseRecord([]byte(rec.Encode()), 0)
	require.NoError(t, err)
	back.Rev = rec.Rev
	require.Equal(t, rec, back)
}

func TestRecordEntry(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.FixedZone("x", 3600))
	r := &Record{Timeline: []StepRecord{{Step: StepPlanned, Start: t0.UTC(), Attempts: 1}}}
	require.Same(t, &r.Timeline[0], r.Entry(StepPlanned, t0.Add(time.Hour)), "an existing entry is returned, not added")
	e := r.Entry(StepFenced, t0)
	require.Len(t, r.Timeline, 2)
	require.Equal(t, StepRecord{Step: StepFenced, Start: t0.UTC()}, *e, "a new entry starts at now, in UTC")
}

func TestNewFailoverIDSortsByTime(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var ids []string
	for _, d := range []time.Duration{3 * time.Second, time.Millisecond, 0, time.Hour} {
		ids = append(ids, NewFailoverID(t0.Add(d)))
	}
	require.Regexp(t, `^20260301T120003\.000Z-[0-9a-f]{8}$`, ids[0])
	sorted := append([]string(nil), ids...)
	sort.Strings(sorted)
	require.Equal(t, []string{ids[2], ids[1], ids[0], ids[3]}, sorted, "got … want key order = time order")
}

func TestSignalJSONHasNoTags(t *testing.T) {
	b, err := json.Marshal(Signal{Source: "probe", OK: true})
	require.NoError(t, err)
	require.JSONEq(t, `{"Source":"probe","OK":true,"Unknown":false,"Detail":"","Since":"0001-01-01T00:00:00Z"}`, string(b),
		"got … want the field names records have always been stored with")
}
