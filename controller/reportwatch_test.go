package controller

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/volfailover/volfailover/state"
)

func TestReportTipsVerdict(t *testing.T) {
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	least := 2500 * time.Millisecond
	for _, tt := range []struct {
		name string
		r    state.Report
		want bool
	}{
		{"reachable", state.Report{Reachable: true, At: at}, false},
		{"unreachable without since (an older agent)", state.Report{At: at}, false},
		{"unreachable for less than the minimum", state.Report{At: at, Since: at.Add(-least + time.Millisecond)}, false},
		{"unreachable for the minimum", state.Report{At: at, Since: at.Add(-least)}, true},
		{"unreachable for longer", state.Report{At: at, Since: at.Add(-time.Minute)}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, tips(tt.r, least))
		})
	}
}

// TestPushedReportWakesTheRound: the leader's round ticks every 30 s, yet a
// dead owner is failed over well within that. The leader's own probes reach
// its minimum first (200 ms) and wake a round that can only say suspect: the
// witnesses' reports do not yet cover it, the owner's lease outlives the
// test, and fleet still lists the machine. The witnesses push their reports
// when their failures reach their own minimum (1 s), and only the leader's
// watch of those reports can wake the round that finds the owner dead.
func TestPushedReportWakesTheRound(t *testing.T) {
	const round = 30 * time.Second
	c := newCluster(t, clusterSpec{azs: fourInOneAZ, mutate: func(h *host, o *Options) {
		o.RoundInterval = round
		o.SessionTTL = 2*round + time.Second
		o.WitnessRefresh = round
		o.MinUnreachable = time.Second
		if h.n == 1 {
			o.MinUnreachable = 200 * time.Millisecond
		}
	}})
	c.start()
	owner := c.owner()
	require.Equal(t, c.hosts[0], c.leader(), "the first host leads")
	killed := time.Now()
	c.crash(owner)
	owner.pg.Close()

	rec := c.waitDone(1, round*2/3)
	require.Equal(t, owner.id, rec.From.Instance)
	require.Contains(t, rec.Reason, "witnesses", "decided on the witnesses' reports: %s", rec.Reason)
	t.Logf("owner crashed → failover planned in %s, with rounds ticking every %s", rec.Created.Sub(killed).Round(time.Millisecond), round)
}
