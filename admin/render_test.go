package admin

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/volfailover/volfailover/state"
)

// TestRenderHistoryShowsReplannedAndAbandonedMoves: a move whose first target
// died before the attach, and one given up after it, read as such.
func TestRenderHistoryShowsReplannedAndAbandonedMoves(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	rec := func(id, to string) state.Record {
		return state.Record{ID: id, Kind: state.KindFailover, Volume: "vol-0123456789abcdef0", AZ: "us-east-1a",
			From: state.Endpoint{Instance: "i-0aaaaaaaaaaaaaaa1"}, To: state.Endpoint{Instance: to},
			Reason: "owner dead", Created: t0, Finished: t0.Add(3 * time.Second)}
	}
	replanned := rec("20260301T120000.000Z-00000001", "i-0ccccccccccccccc3")
	replanned.Step = state.StepDone
	replanned.PreviousTargets = []string{"i-0bbbbbbbbbbbbbbb2"}
	replanned.Timeline = []state.StepRecord{{Step: state.StepAttached, Start: t0, End: t0.Add(time.Second), Attempts: 2,
		Note: "target i-0bbbbbbbbbbbbbbb2: EC2 state stopped; new target i-0ccccccccccccccc3."}}
	abandoned := rec("20260301T120100.000Z-00000002", "i-0bbbbbbbbbbbbbbb2")
	abandoned.Step = state.StepAttached
	abandoned.Abandoned = "target i-0bbbbbbbbbbbbbbb2: EC2 state stopped before step metadata-moved, with the volume attached to it"

	var b strings.Builder
	require.NoError(t, RenderHistory(&b, &History{Records: []state.Record{replanned, abandoned}}, true))
	out := b.String()
	for _, want := range []string{
		"failover (ABANDONED)",
		"ABANDONED: target i-0bbbbbbbbbbbbbbb2: EC2 state stopped before step metadata-moved",
		"previous targets: i-0bbbbbbbbbbbbbbb2",
		"new target i-0ccccccccccccccc3.",
	} {
		require.Contains(t, out, want, "history output:\n%s", out)
	}
	require.Equal(t, 1, strings.Count(out, "(ABANDONED)"), "only the abandoned record is marked:\n%s", out)
}

// TestStatusJSONFieldsMatch: the JSON view of Status lists every field of
// Status, so a field added to one cannot be missing from the other.
func TestStatusJSONFieldsMatch(t *testing.T) {
	s := Status{Time: time.Unix(0, 0).UTC(), Hosts: []state.Host{{Instance: "i-0123456789abcdef0", NoFailover: true}},
		Versions: []VersionCount{}, Volumes: []VolumeStatus{}}
	b, err := json.Marshal(s)
	require.NoError(t, err)
	var got map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(b, &got))
	typ := reflect.TypeOf(Status{})
	require.Len(t, got, typ.NumField(), "got %s", b)
	for i := range typ.NumField() {
		name, _, _ := strings.Cut(typ.Field(i).Tag.Get("json"), ",")
		require.Contains(t, got, name, "field %s", typ.Field(i).Name)
	}
	require.Contains(t, string(got["hosts"]), `"noFailover":true`)
	require.NotContains(t, string(got["hosts"]), `"since"`, "an unset time is left out")

	h := hostJSON{}
	require.Equal(t, reflect.TypeOf(state.Host{}).NumField(), reflect.TypeOf(h).NumField(), "hostJSON mirrors state.Host")
	require.Equal(t, reflect.TypeOf(state.Signal{}).NumField(), reflect.TypeOf(signalJSON{}).NumField(), "signalJSON mirrors state.Signal")
}

func TestVersions(t *testing.T) {
	for _, tc := range []struct {
		name  string
		hosts map[string]string
		want  []VersionCount
	}{
		{"none", nil, []VersionCount{}},
		{"one", map[string]string{"i-1": "v1", "i-2": "v1"}, []VersionCount{{"v1", []string{"i-1", "i-2"}}}},
		{"most common first", map[string]string{"i-1": "v2", "i-2": "v1", "i-3": "v2"}, []VersionCount{{"v2", []string{"i-1", "i-3"}}, {"v1", []string{"i-2"}}}},
		{"unregistered version", map[string]string{"i-1": "", "i-2": "v1"}, []VersionCount{{"unknown", []string{"i-1"}}, {"v1", []string{"i-2"}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var hosts []state.Host
			for id, v := range tc.hosts {
				hosts = append(hosts, state.Host{Instance: id, Version: v})
			}
			require.Equal(t, tc.want, versions(hosts))
		})
	}
}
