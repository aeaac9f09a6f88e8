package controller

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/volfailover/volfailover/alert"
	"github.com/volfailover/volfailover/state"
)

// primaryOf reads the published primary of the test volume (nil when none).
func (c *cluster) primaryOf() *state.Primary {
	c.t.Helper()
	resp, err := c.admin.Get(context.Background(), c.keys.VolumePrimary(testVolume))
	require.NoError(c.t, err)
	if len(resp.Kvs) == 0 {
		return nil
	}
	p, err := c.keys.ParsePrimary(resp.Kvs[0])
	require.NoError(c.t, err)
	return &p
}

// primaryCheck is GET /primary/<volume> on h: its status and body.
func primaryCheck(t *testing.T, h *host) (int, primaryAnswer) {
	t.Helper()
	resp, err := http.Get(h.baseURL() + "/primary/" + testVolume)
	require.NoError(t, err)
	defer resp.Body.Close()
	var a primaryAnswer
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&a))
	return resp.StatusCode, a
}

// TestPrimaryFollowsTheFailover: the leader publishes the owner as the
// volume's primary, and after a failover the new one, as a journal step
// after verified; /primary answers 200 only on the primary, and the new
// primary's --on-primary-change hook runs with the publication in its
// environment, its outcome journaled and paged (issue 15 §1).
func TestPrimaryFollowsTheFailover(t *testing.T) {
	dir := t.TempDir()
	c := newCluster(t, clusterSpec{azs: fourInOneAZ, mutate: func(h *host, o *Options) {
		o.OnPrimaryChange = `echo "$VOLFAILOVER_VOLUME $VOLFAILOVER_ADDRESS:$VOLFAILOVER_PORT $VOLFAILOVER_FAILOVER_ID" > ` +
			filepath.Join(dir, h.id) + `; echo switched clients`
		o.OnPrimaryChangeTimeout = 5 * time.Second
	}})
	c.start()
	owner := c.owner()
	require.Eventually(t, func() bool { p := c.primaryOf(); return p != nil && p.Instance == owner.id }, 10*time.Second, 20*time.Millisecond,
		"waiting for the owner published as the primary")
	code, a := primaryCheck(t, owner)
	require.Equal(t, http.StatusOK, code, "the primary answers 200: %+v", a)
	code, a = primaryCheck(t, c.hosts[0])
	require.Equal(t, http.StatusServiceUnavailable, code, "another host answers 503")
	require.Contains(t, a.Reason, "the primary is "+owner.id)

	c.kill(owner)
	rec := c.waitDone(1, 15*time.Second)
	to := c.byID(rec.To.Instance)
	p := c.primaryOf()
	require.NotNil(t, p)
	require.Equal(t, to.id, p.Instance, "the new owner published")
	require.Equal(t, rec.ID, p.FailoverID)
	require.Equal(t, to.ip, p.Address)

	var published state.StepRecord
	for _, st := range rec.Timeline {
		if st.Step == state.StepPublished {
			published = st
		}
	}
	require.False(t, published.End.IsZero(), "published is a journal step: %+v", rec.Timeline)
	require.Contains(t, published.Note, "on-primary-change hook succeeded")
	got, err := os.ReadFile(filepath.Join(dir, to.id))
	require.NoError(t, err, "the hook ran on the new primary")
	require.Equal(t, fmt.Sprintf("%s %s:%d %s", testVolume, to.ip, c.pgPort, rec.ID), strings.TrimSpace(string(got)), "the hook's environment")
	ev := c.waitPage(alert.KindFailoverCompleted, alert.ActionResolve, 5*time.Second)
	require.Contains(t, ev.Summary, "on-primary-change hook succeeded", "the completion page says how the hook went")
	code, _ = primaryCheck(t, to)
	require.Equal(t, http.StatusOK, code, "the new primary answers 200")
}
