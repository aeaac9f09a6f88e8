package bench

import (
	"context"
	"errors"
	"fmt"
	"syscall"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/volfailover/volfailover/e2e/ec2sim"
)

// TakeoverRun is one leader kill.
type TakeoverRun struct {
	OldLeader string  `json:"oldLeader"`
	NewLeader string  `json:"newLeader"`
	ElectedMs float64 `json:"electedMs"`
	// FirstRoundMs is the kill → the new leader's first reconcile round
	// publishing the owners list.
	FirstRoundMs float64 `json:"firstRoundMs"`
}

// TakeoverResult is the leader takeover benchmark of one profile.
type TakeoverResult struct {
	Profile      string        `json:"profile"`
	SessionTTLMs float64       `json:"sessionTtlMs"`
	TargetMs     float64       `json:"targetMs"`
	Runs         []TakeoverRun `json:"runs"`
	Elected      Summary       `json:"elected"`
	FirstRound   Summary       `json:"firstRound"`
	// IdleFollower is a volfailover process that neither leads nor owns, measured before the kills.
	IdleFollower Usage `json:"idleFollower"`
	// Run is when and from which commit these results were measured.
	Run RunInfo `json:"run"`
}

// sessionTTL is the sandbox's controller session per profile (docs/sandbox.md).
func sessionTTL(p ec2sim.Profile) time.Duration {
	if p == ec2sim.ProfileAWSTypical {
		return 10 * time.Second
	}
	return 3 * time.Second
}

// RunTakeover SIGKILLs the leader's volfailover process runs times and
// measures how long until the next leader's first reconcile round, which is
// seen in etcd: right after the kill the harness blanks the owners list, and
// a leader's round rewrites it whenever it differs.
func RunTakeover(ctx context.Context, c SandboxConfig, runs int, idleWindow time.Duration) (*TakeoverResult, error) {
	s, err := startSandbox(ctx, c)
	if err != nil {
		return nil, err
	}
	defer s.close()
	ttl := sessionTTL(c.Profile)
	res := &TakeoverResult{Profile: string(c.Profile), SessionTTLMs: ms(ttl), TargetMs: ms(ttl + time.Second)}
	owner, err := s.settle(ctx)
	if err != nil {
		return nil, err
	}
	if idleWindow > 0 {
		_, pid, err := s.followerPID(ctx, owner)
		if err != nil {
			return nil, err
		}
		a, err := ReadProc(pid)
		if err != nil {
			return nil, err
		}
		if err := pause(ctx, idleWindow); err != nil {
			return nil, err
		}
		b, err := ReadProc(pid)
		if err != nil {
			return nil, err
		}
		res.IdleFollower = UsageBetween(a, b)
	}
	var elected, rounds []time.Duration
	for i := range runs {
		if i > 0 {
			if _, err := s.settle(ctx); err != nil {
				return nil, fmt.Errorf("takeover run %d: %w", i+1, err)
			}
		}
		r, e, f, err := s.killLeader(ctx)
		if err != nil {
			return nil, fmt.Errorf("takeover run %d: %w", i+1, err)
		}
		c.Logger.Info().Str("profile", string(c.Profile)).Int("run", i+1).Dur("firstRound", f).Msg("takeover measured")
		res.Runs = append(res.Runs, r)
		elected, rounds = append(elected, e), append(rounds, f)
	}
	res.Elected, res.FirstRound = Summarize(elected), Summarize(rounds)
	return res, nil
}

// killLeader kills the leader's process and waits for the next leader's first round.
func (s *sbox) killLeader(ctx context.Context) (TakeoverRun, time.Duration, time.Duration, error) {
	var r TakeoverRun
	old, pid, err := s.leader(ctx)
	if err != nil {
		return r, 0, 0, err
	}
	r.OldLeader = old.Name
	t0 := time.Now()
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		return r, 0, 0, fmt.Errorf("kill leader %s pid %d: %w", old.Name, pid, err)
	}
	if err := waitUntil(ctx, 5*time.Second, "the killed leader process to vanish", func() bool {
		return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
	}); err != nil {
		return r, 0, 0, err
	}
	put, err := s.cli.Put(ctx, s.keys.Owners(), "[]")
	if err != nil {
		return r, 0, 0, fmt.Errorf("blank the owners list: %w", err)
	}
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	wch := s.cli.Watch(wctx, s.keys.Owners(), clientv3.WithRev(put.Header.Revision+1))
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	var elected time.Duration
	for {
		select {
		case <-wctx.Done():
			return r, 0, 0, fmt.Errorf("no new leader round within a minute of killing %s", old.Name)
		case <-tick.C:
			if elected == 0 {
				if id, _ := leaderID(wctx, s.cli, s.keys); id != "" && id != old.InstanceID {
					elected = time.Since(t0)
					r.NewLeader = s.hostName(id)
				}
			}
		case wr, ok := <-wch:
			if !ok {
				return r, 0, 0, fmt.Errorf("watch of the owners list ended: %w", wctx.Err())
			}
			for _, ev := range wr.Events {
				if ev.Type == clientv3.EventTypePut && string(ev.Kv.Value) != "[]" {
					round := time.Since(t0)
					if elected == 0 || elected > round {
						elected = round
					}
					if id, _ := leaderID(wctx, s.cli, s.keys); id != "" {
						r.NewLeader = s.hostName(id)
					}
					r.ElectedMs, r.FirstRoundMs = ms(elected), ms(round)
					return r, elected, round, nil
				}
			}
		}
	}
}

func (s *sbox) hostName(instance string) string {
	for _, h := range s.sb.Hosts() {
		if h.InstanceID == instance {
			return h.Name
		}
	}
	return instance
}
