package bench

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/volfailover/volfailover/e2e/sandbox"
	"github.com/volfailover/volfailover/state"
)

// Phases of a recovery, in order, as the report and the chart name them.
// They follow one another and add up to the recovery time: detection (kill →
// journal record), the journal's fence, detach, attach and metadata steps,
// reschedule (metadata moved → the new Postgres process starts: fleet's
// scheduling), Postgres start (its own log: starting → ready) and first write
// (ready → the writer's first commit).
var Phases = []string{"detection", "fence", "detach", "attach", "metadata", "reschedule", "postgres start", "first write"}

// stepPhase names the journal step that ends each phase.
var stepPhase = map[state.Step]string{
	state.StepFenced: "fence", state.StepDetached: "detach", state.StepAttached: "attach",
	state.StepMetadataMoved: "metadata", state.StepRescheduled: "reschedule", state.StepVerified: "verify",
}

// RecoveryRun is one owner kill.
type RecoveryRun struct {
	From       string             `json:"from"`
	To         string             `json:"to"`
	RecoveryMs float64            `json:"recoveryMs"`
	PhasesMs   map[string]float64 `json:"phasesMs"`
	// CloudMs is the emulated EC2 time: detaching→detached plus attaching→attached.
	CloudMs float64 `json:"cloudMs"`
	// PostgresStartMs is "starting PostgreSQL" → "ready to accept connections" in the new owner's log.
	PostgresStartMs float64 `json:"postgresStartMs"`
	// ControllerAddedMs is recovery − detection − cloud − Postgres start.
	ControllerAddedMs float64 `json:"controllerAddedMs"`
	// FleetSchedulingMs is metadata moved → the new Postgres process starting:
	// fleet's engine and agent at work, not the controller.
	FleetSchedulingMs float64 `json:"fleetSchedulingMs"`
	// ControllerOnlyMs is ControllerAddedMs less FleetSchedulingMs.
	ControllerOnlyMs float64 `json:"controllerOnlyMs"`
	// JournalStepsMs are the controller's own step durations (reschedule
	// waits for fleet to report the unit active, verify for a startup answer).
	JournalStepsMs   map[string]float64 `json:"journalStepsMs"`
	AckedRows        int                `json:"ackedRows"`
	LostRows         int                `json:"lostRows"`
	LeaderMovedFirst bool               `json:"leaderMovedFirst"`
}

// RecoveryResult is the recovery benchmark of one profile.
type RecoveryResult struct {
	Profile         string             `json:"profile"`
	Runs            []RecoveryRun      `json:"runs"`
	Recovery        Summary            `json:"recovery"`
	ControllerAdded Summary            `json:"controllerAdded"`
	ControllerOnly  Summary            `json:"controllerOnly"`
	FleetScheduling Summary            `json:"fleetScheduling"`
	Cloud           Summary            `json:"cloud"`
	PostgresStart   Summary            `json:"postgresStart"`
	Phases          map[string]Summary `json:"phases"`
	JournalSteps    map[string]Summary `json:"journalSteps"`
	// Run is when and from which commit these results were measured.
	Run RunInfo `json:"run"`
}

// RunRecovery kills the volume's owner runs times (EC2 still says running)
// and measures from the kill to the writer's first acknowledged commit on the
// new owner, broken down by the controller's journal timeline.
func RunRecovery(ctx context.Context, c SandboxConfig, runs int) (*RecoveryResult, error) {
	s, err := startSandbox(ctx, c)
	if err != nil {
		return nil, err
	}
	defer s.close()
	res := &RecoveryResult{Profile: string(c.Profile), Phases: map[string]Summary{}, JournalSteps: map[string]Summary{}}
	phase, steps := map[string][]time.Duration{}, map[string][]time.Duration{}
	var rec, added, only, fleetS, cloud, pg []time.Duration
	for i := range runs {
		r, err := s.recoverOnce(ctx)
		if err != nil {
			return nil, fmt.Errorf("recovery run %d (%s): %w", i+1, c.Profile, err)
		}
		c.Logger.Info().Str("profile", string(c.Profile)).Int("run", i+1).Float64("recoveryMs", r.RecoveryMs).Float64("controllerAddedMs", r.ControllerAddedMs).Msg("recovery measured")
		res.Runs = append(res.Runs, r)
		rec = append(rec, fromMs(r.RecoveryMs))
		added = append(added, fromMs(r.ControllerAddedMs))
		only = append(only, fromMs(r.ControllerOnlyMs))
		fleetS = append(fleetS, fromMs(r.FleetSchedulingMs))
		cloud = append(cloud, fromMs(r.CloudMs))
		pg = append(pg, fromMs(r.PostgresStartMs))
		for k, v := range r.PhasesMs {
			phase[k] = append(phase[k], fromMs(v))
		}
		for k, v := range r.JournalStepsMs {
			steps[k] = append(steps[k], fromMs(v))
		}
	}
	res.ControllerOnly, res.FleetScheduling = Summarize(only), Summarize(fleetS)
	for k, v := range steps {
		res.JournalSteps[k] = Summarize(v)
	}
	res.Recovery, res.ControllerAdded, res.Cloud, res.PostgresStart = Summarize(rec), Summarize(added), Summarize(cloud), Summarize(pg)
	for k, v := range phase {
		res.Phases[k] = Summarize(v)
	}
	return res, nil
}

func fromMs(v float64) time.Duration { return time.Duration(v * float64(time.Millisecond)) }

const writerTable = "bench_writes"

func (s *sbox) recoverOnce(ctx context.Context) (RecoveryRun, error) {
	var r RecoveryRun
	owner, err := s.settle(ctx)
	if err != nil {
		return r, err
	}
	// Measure one volume's recovery, not a leader takeover as well.
	if lh, _, err := s.leader(ctx); err == nil && lh.Name == owner.Name {
		if _, _, _, err := s.killLeader(ctx); err != nil {
			return r, err
		}
		r.LeaderMovedFirst = true
		if owner, err = s.settle(ctx); err != nil {
			return r, err
		}
	}
	vol := s.sb.Volume()
	r.From = owner.Name
	// A table per run: the writer numbers its rows from 1.
	table := fmt.Sprintf("%s_%d", writerTable, time.Now().UnixNano())
	wr := &sandbox.Writer{Table: table, Target: func() (sandbox.Host, bool) { return s.sb.Owner(vol) }, Retry: 20 * time.Millisecond}
	if err := wr.EnsureTable(ctx, owner); err != nil {
		return r, err
	}
	wctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		_ = wr.Run(wctx)
	}()
	defer func() { stop(); wg.Wait() }()
	if err := waitUntil(ctx, 30*time.Second, "20 acknowledged rows before the kill", func() bool { return len(wr.Acked()) >= 20 }); err != nil {
		return r, err
	}

	t0 := time.Now()
	if err := s.sb.KillHost(ctx, owner.Name, false); err != nil {
		return r, fmt.Errorf("kill owner %s: %w", owner.Name, err)
	}
	var rec *state.Record
	var back time.Time
	err = waitUntil(ctx, 4*time.Minute, "the failover to finish and a commit on the new owner", func() bool {
		if back.IsZero() {
			// The first gap ending after the kill: its last commits may
			// still have landed between t0 and the signal's delivery.
			for _, g := range wr.Gaps() {
				if g.To.After(t0) {
					back = g.To
					break
				}
			}
		}
		if rec == nil || rec.Step != state.StepDone {
			rec = s.latestRecord(ctx, vol, t0)
		}
		return !back.IsZero() && rec != nil && rec.Step == state.StepDone
	})
	if err != nil {
		return r, fmt.Errorf("%w (record %+v)", err, rec)
	}
	stop()
	wg.Wait()
	newOwner, ok := s.sb.Host(s.hostName(rec.To.Instance))
	if !ok {
		return r, fmt.Errorf("record names unknown target %s", rec.To.Instance)
	}
	r.To = newOwner.Name
	acked := wr.Acked()
	missing, _, err := sandbox.VerifyRows(ctx, newOwner, table, acked)
	if err != nil {
		return r, err
	}
	r.AckedRows, r.LostRows = len(acked), len(missing)

	recovery := back.Sub(t0)
	detection := rec.Created.Sub(t0)
	r.RecoveryMs = ms(recovery)
	r.PhasesMs = map[string]float64{"detection": ms(detection)}
	r.JournalStepsMs = map[string]float64{}
	var metaEnd time.Time
	for _, st := range rec.Timeline {
		if p, ok := stepPhase[st.Step]; ok && !st.End.IsZero() {
			d := st.End.Sub(st.Start)
			r.JournalStepsMs[p] = ms(d)
			switch st.Step {
			case state.StepRescheduled, state.StepVerified:
			default:
				r.PhasesMs[p] = ms(d)
			}
			if st.Step == state.StepMetadataMoved {
				metaEnd = st.End
			}
		}
	}
	cloud := s.log.spent(vol, t0, "detaching", "detached") + s.log.spent(vol, t0, "attaching", "attached")
	r.CloudMs = ms(cloud)
	pgBegin, pgReady, err := postgresStart(s.sb.LogPath(newOwner.Name, sandbox.PostgresUnit(vol)), t0)
	if err != nil {
		return r, err
	}
	pgStart := pgReady.Sub(pgBegin)
	fleetSched := max(pgBegin.Sub(metaEnd), 0)
	r.PhasesMs["reschedule"] = ms(fleetSched)
	r.PhasesMs["postgres start"] = ms(pgStart)
	// The writer may commit before the log line's millisecond is over.
	r.PhasesMs["first write"] = ms(max(back.Sub(pgReady), 0))
	r.PostgresStartMs = ms(pgStart)
	r.FleetSchedulingMs = ms(fleetSched)
	r.ControllerAddedMs = ms(recovery - detection - cloud - pgStart)
	r.ControllerOnlyMs = ms(recovery - detection - cloud - pgStart - fleetSched)
	return r, nil
}

// latestRecord returns the volume's move created after t0: the in-progress
// journal record, else the newest history record.
func (s *sbox) latestRecord(ctx context.Context, vol string, t0 time.Time) *state.Record {
	if resp, err := s.cli.Get(ctx, s.keys.JournalVolume(vol)); err == nil && len(resp.Kvs) == 1 {
		if r, err := state.ParseRecord(resp.Kvs[0].Value, resp.Kvs[0].CreateRevision); err == nil && r.Created.After(t0) {
			return r
		}
	}
	resp, err := s.cli.Get(ctx, s.keys.HistoryVolume(vol), clientv3.WithLastKey()...)
	if err != nil || len(resp.Kvs) == 0 {
		return nil
	}
	r, err := state.ParseRecord(resp.Kvs[0].Value, resp.Kvs[0].CreateRevision)
	if err != nil || !r.Created.After(t0) {
		return nil
	}
	return r
}

// pgTimeLayout is PostgreSQL's %m log prefix.
const pgTimeLayout = "2006-01-02 15:04:05.000 MST"

// postgresStart reads a Postgres log and returns the last "starting
// PostgreSQL" after t0 and the next "ready to accept connections".
func postgresStart(path string, t0 time.Time) (start, ready time.Time, err error) {
	f, err := os.Open(path)
	if err != nil {
		return start, ready, fmt.Errorf("read postgres log: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if len(line) < len(pgTimeLayout) {
			continue
		}
		at, err := time.Parse(pgTimeLayout, line[:len(pgTimeLayout)])
		if err != nil || at.Before(t0.Add(-time.Second)) {
			continue
		}
		switch {
		case strings.Contains(line, "starting PostgreSQL"):
			start, ready = at, time.Time{}
		case strings.Contains(line, "ready to accept connections") && !start.IsZero() && ready.IsZero():
			ready = at
		}
	}
	if err := sc.Err(); err != nil {
		return start, ready, fmt.Errorf("read postgres log %s: %w", path, err)
	}
	if start.IsZero() || ready.IsZero() {
		return start, ready, fmt.Errorf("postgres log %s: no start and ready lines after %s", path, t0.Format(time.RFC3339))
	}
	return start, ready, nil
}
