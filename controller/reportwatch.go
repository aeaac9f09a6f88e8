package controller

import (
	"context"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/volfailover/volfailover/state"
)

// followReports watches the witness reports for the term and wakes the round
// when one could tip a verdict: a report of an owner unreachable for the
// policy's minimum. Witnesses write such a report the moment it becomes true,
// so the verdict does not wait for the next round to read it. The round still
// reads every report itself; the watch only decides when. A failed watch is
// opened again after a round interval; meanwhile the rounds still read the
// reports on their tick.
func (l *leader) followReports(ctx context.Context) {
	for ctx.Err() == nil {
		l.watchReports(ctx)
		select {
		case <-ctx.Done():
		case <-l.c.clk.After(l.c.o.RoundInterval):
		}
	}
}

func (l *leader) watchReports(ctx context.Context) {
	wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	defer cancel()
	k := l.c.keys
	for resp := range l.c.cli.Watch(wctx, k.Witness(), clientv3.WithPrefix()) {
		if resp.Err() != nil {
			l.log.Debug().Err(resp.Err()).Msg("witness report watch ended")
			return
		}
		for _, ev := range resp.Events {
			if ev.Type != clientv3.EventTypePut {
				continue
			}
			rep, err := k.ParseReport(ev.Kv)
			if err != nil || !tips(rep, l.c.policy.MinUnreachable) {
				continue
			}
			select {
			case l.wake <- struct{}{}:
			default:
			}
		}
	}
}

// tips says whether a report can make its owner dead: unreachable for at
// least the minimum. Only such reports wake the round; the refreshes of
// reachable reports, the bulk of the writes, do not.
func tips(r state.Report, least time.Duration) bool {
	return !r.Reachable && !r.Since.IsZero() && r.At.Sub(r.Since) >= least
}
