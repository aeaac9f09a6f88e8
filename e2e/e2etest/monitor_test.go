//go:build e2e

package e2etest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/volfailover/volfailover/state"
)

// TestMonitorCatchesViolations breaks invariants 1, 4 and 5 by hand on a
// live sandbox and checks that a fresh monitor flags each one, naming it.
func TestMonitorCatchesViolations(t *testing.T) {
	w := newWorld(t, worldOptions{unmonitored: true})
	vol := w.sb.Volume()
	leader := w.leader()
	require.NotEmpty(t, leader, "a leader")

	check := func(want Invariant, inject, undo func()) {
		t.Helper()
		ctx, cancel := context.WithCancel(w.ctx)
		defer cancel()
		m := NewMonitor(w.sb, w.cli, MonitorOptions{Cooldown: time.Minute, SessionTTL: sessionTTL}, nil)
		m.Start(ctx)
		inject()
		w.waitFor(5*time.Second, fmt.Sprintf("the monitor flagging invariant %d", want), func() (bool, string) {
			return m.Violation() != nil, "nothing flagged"
		})
		v := m.Stop(ctx)
		undo()
		require.Equal(t, want, v.Invariant, "got %v", v)
		t.Logf("caught: %v", v)
	}

	// 1: the volume's device shows up on a second host.
	core2 := w.host("core2")
	link := filepath.Join(core2.Root, "dev", "sdf")
	check(OneAttachment, func() {
		require.NoError(t, os.MkdirAll(filepath.Dir(link), 0o755))
		require.NoError(t, os.Symlink(w.sb.EC2().VolumeDir(vol), link))
	}, func() { require.NoError(t, os.Remove(link)) })

	// 4: an EC2 mutation by a controller that is not the leader.
	var other string
	for _, h := range w.sb.Hosts() {
		if h.InstanceID != leader {
			other = h.InstanceID
			break
		}
	}
	check(NoZombieMutates, func() {
		form := url.Values{"Action": {"CreateTags"}, "Version": {"2016-11-15"}, "ResourceId.1": {vol}, "Tag.1.Key": {"e2e"}, "Tag.1.Value": {"zombie"}}
		req, err := http.NewRequestWithContext(w.ctx, http.MethodPost, w.sb.Endpoints().EC2, strings.NewReader(form.Encode()))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("User-Agent", "aws-sdk-go-v2/1.0 app/volfailover-"+other)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err, "zombie CreateTags")
		require.NoError(t, resp.Body.Close())
	}, func() {})

	// 5: a failover recorded while the cluster is paused.
	rec := state.Record{ID: "20990101T000000.000Z-e2e00000", Kind: state.KindFailover, Volume: vol, Step: state.StepDone}
	key := w.keys.HistoryRecord(vol, rec.ID)
	check(NoFailoverHeld, func() {
		w.put(w.keys.Pause(), `{"reason":"e2e monitor test"}`)
		paused := time.Now()
		w.waitFor(5*time.Second, "the pause older than the monitor's grace", func() (bool, string) {
			return time.Since(paused) > 1500*time.Millisecond, "young"
		})
		rec.Created = time.Now().UTC()
		b, err := json.Marshal(rec)
		require.NoError(t, err)
		w.put(key, string(b))
	}, func() {
		w.del(key)
		w.del(w.keys.Pause())
	})
}
