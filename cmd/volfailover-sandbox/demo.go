package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/volfailover/volfailover/e2e/ec2sim"
	"github.com/volfailover/volfailover/e2e/sandbox"
	"github.com/volfailover/volfailover/state"
)

// demoTable is the table the demo's writer fills.
const demoTable = "demo_writes"

// invariantError is a failed check of the demo, named for the summary.
type invariantError struct {
	name string
	err  error
}

func (e *invariantError) Error() string { return "invariant " + e.name + " failed: " + e.err.Error() }

// runDemo plays one failover end to end and checks its outcome.
func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var w worldFlags
	w.register(fs)
	timeout := fs.Duration("timeout", 0, "deadline for the failover to complete (default 60s on instant, 4m on aws-typical)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *timeout == 0 {
		*timeout = time.Minute
		if w.profile == string(ec2sim.ProfileAWSTypical) {
			*timeout = 4 * time.Minute
		}
	}
	if *timeout < 0 {
		fmt.Fprintf(stderr, "demo: -timeout %s must be positive\n", *timeout)
		return 2
	}
	// The sandbox's own log goes to a file; the terminal shows the story.
	logPath := filepath.Join(os.TempDir(), fmt.Sprintf("volfailover-sandbox-demo-%d.log", os.Getpid()))
	logFile, err := os.Create(logPath)
	if err != nil {
		fmt.Fprintf(stderr, "demo: %v\n", err)
		return 1
	}
	defer logFile.Close()
	cfg, cleanup, err := w.config(logFile)
	if err != nil {
		logFile.Close()
		_ = os.Remove(logPath) // nothing was logged
		fmt.Fprintf(stderr, "demo: %v\n", err)
		return 2
	}
	start := time.Now()
	fmt.Fprintf(stdout, "volfailover demo: profile %s, %d hosts in %s and %d in %s, sandbox dir %s\n",
		cfg.Profile, cfg.Hosts, sandbox.ZoneA, cfg.HostsB, sandbox.ZoneB, cfg.Dir)
	sb, err := sandbox.Start(ctx, cfg)
	if err != nil {
		fmt.Fprintf(stderr, "demo: %v\n", err)
		cleanup(true)
		return 1
	}
	err = demo(ctx, sb, stdout, *timeout, start)
	if cerr := sb.Close(); cerr != nil {
		fmt.Fprintf(stderr, "demo: stop sandbox: %v\n", cerr)
	}
	if err != nil {
		fmt.Fprintf(stdout, "\nFAIL: %v\nlogs kept in %s and %s\n", err, filepath.Join(cfg.Dir, "logs"), logPath)
		cleanup(true)
		return 1
	}
	cleanup(false)
	_ = os.Remove(logPath) // best effort
	return 0
}

func demo(ctx context.Context, sb *sandbox.Sandbox, out io.Writer, timeout time.Duration, start time.Time) error {
	say := func(format string, args ...any) {
		fmt.Fprintf(out, "[%7.3fs] %s\n", time.Since(start).Seconds(), fmt.Sprintf(format, args...))
	}
	names := map[string]string{}
	for _, h := range sb.Hosts() {
		names[h.InstanceID] = h.Name
	}
	printHosts(out, sb.Hosts())
	vol := sb.Volume()

	readyCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	owner, err := sb.WaitPostgres(readyCtx, vol)
	if err != nil {
		return fmt.Errorf("sandbox never became ready: %w", err)
	}
	say("postgres for %s answers on %s (%s)", vol, owner.Name, owner.PostgresAddr())
	if err := sb.WaitControllers(readyCtx); err != nil {
		return fmt.Errorf("sandbox never became ready: %w", err)
	}
	cli, err := clientv3.New(clientv3.Config{Endpoints: sb.EtcdEndpoints(), DialTimeout: 5 * time.Second})
	if err != nil {
		return fmt.Errorf("etcd client: %w", err)
	}
	defer cli.Close()
	if err := waitCluster(readyCtx, cli, sb, owner, say); err != nil {
		return fmt.Errorf("sandbox never became ready: %w", err)
	}

	// Writer: one autocommit insert after another, every acknowledgement recorded.
	wr := &sandbox.Writer{Table: demoTable, Target: func() (sandbox.Host, bool) { return sb.Owner(vol) }}
	if err := wr.EnsureTable(readyCtx, owner); err != nil {
		return err
	}
	wctx, stopWriter := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		_ = wr.Run(wctx) // returns nil when wctx ends
	}()
	defer func() { stopWriter(); wg.Wait() }()
	// Two seconds of steady writes: the workload the failover must preserve.
	writeStart := time.Now()
	if err := waitFor(readyCtx, "the writer's first 50 acknowledged rows and 2s of writing", func() bool {
		return len(wr.Acked()) >= 50 && time.Since(writeStart) >= 2*time.Second
	}); err != nil {
		return err
	}
	before := len(wr.Acked())
	say("writer has %d acknowledged rows on %s", before, owner.Name)

	// The fault.
	t0 := time.Now()
	if err := sb.KillHost(ctx, owner.Name, false); err != nil {
		return err
	}
	say("killed %s: every process SIGKILLed, fleet heartbeat stopped, EC2 still says running", owner.Name)
	fmt.Fprintln(out, "\nfailover timeline (time since the kill):")

	p := newPrinter(out, t0)
	fctx, cancelF := context.WithTimeout(ctx, timeout)
	defer cancelF()
	var rec *state.Record
	var recovered time.Time
	var newOwner sandbox.Host
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		p.sandboxEvents(sb.Events())
		r, err := latestRecord(fctx, cli, vol)
		if err == nil && r != nil && r.Created.After(t0.Add(-time.Second)) {
			rec = r
			p.record(r, names)
		}
		if recovered.IsZero() {
			if h, ok := sb.Owner(vol); ok && h.Name != owner.Name && sandbox.QueryOK(fctx, h) == nil {
				recovered, newOwner = time.Now(), h
				p.once("recovered", recovered, "postgres answers on %s (%s)", h.Name, h.PostgresAddr())
			}
		}
		if !recovered.IsZero() && rec != nil && rec.Step == state.StepDone {
			break
		}
		select {
		case <-fctx.Done():
			switch {
			case rec == nil:
				return &invariantError{"failover happens", fmt.Errorf("no failover recorded for %s within %s", vol, timeout)}
			case recovered.IsZero():
				return &invariantError{"volume served again", fmt.Errorf("postgres for %s not answering on a new host within %s (record at step %s)", vol, timeout, rec.Step)}
			default:
				return &invariantError{"failover completes", fmt.Errorf("record %s stuck at step %s after %s", rec.ID, rec.Step, timeout)}
			}
		case <-tick.C:
		}
	}
	p.sandboxEvents(sb.Events())

	// Let the writer prove writes resumed on the new owner, then stop it.
	_ = waitFor(fctx, "writes on the new owner", func() bool { return len(wr.Acked()) > before+20 })
	stopWriter()
	wg.Wait()
	fmt.Fprintln(out)

	if err := checkInvariants(ctx, sb, owner, newOwner, rec, wr); err != nil {
		return err
	}
	acked := wr.Acked()
	missing, checked, err := sandbox.VerifyRows(ctx, newOwner, demoTable, acked)
	if err != nil {
		return &invariantError{"acknowledged rows survive", err}
	}
	if len(missing) > 0 {
		return &invariantError{"acknowledged rows survive", fmt.Errorf("%d of %d acknowledged rows missing on %s, first %d", len(missing), checked, newOwner.Name, missing[0])}
	}

	fmt.Fprintf(out, "summary:\n")
	fmt.Fprintf(out, "  failover        %s %s: %s -> %s\n", rec.Kind, rec.ID, hostOf(names, rec.From.Instance), hostOf(names, rec.To.Instance))
	fmt.Fprintf(out, "  detected after  %.3fs (kill to planned)\n", rec.Created.Sub(t0).Seconds())
	fmt.Fprintf(out, "  recovered after %.3fs (kill to Postgres answering on %s)\n", recovered.Sub(t0).Seconds(), newOwner.Name)
	if !rec.Finished.IsZero() {
		fmt.Fprintf(out, "  controller      %.3fs from planned to done\n", rec.Finished.Sub(rec.Created).Seconds())
	}
	if gaps := wr.Gaps(); len(gaps) > 0 {
		fmt.Fprintf(out, "  writer          no acknowledged commit for %.3fs\n", gaps[len(gaps)-1].To.Sub(gaps[len(gaps)-1].From).Seconds())
	}
	fmt.Fprintf(out, "  steps:\n%s", stepTable(rec))
	fmt.Fprintf(out, "  rows checked    %d acknowledged rows all present on %s (%d in doubt, not required)\n", checked, newOwner.Name, len(wr.InDoubt()))
	fmt.Fprintf(out, "  invariants      one attachment, one Postgres, no acknowledged row lost\n")
	fmt.Fprintf(out, "PASS in %.1fs\n", time.Since(start).Seconds())
	return nil
}

// checkInvariants checks the world after the failover.
func checkInvariants(ctx context.Context, sb *sandbox.Sandbox, oldOwner, newOwner sandbox.Host, rec *state.Record, wr *sandbox.Writer) error {
	vol := sb.Volume()
	atts := sb.EC2().VolumeAttachments(vol)
	if len(atts) != 1 || atts[0].InstanceID != newOwner.InstanceID {
		return &invariantError{"volume attached to one instance", fmt.Errorf("attachments of %s: %+v, want only %s", vol, atts, newOwner.InstanceID)}
	}
	if rec.To.Instance != newOwner.InstanceID {
		return &invariantError{"journal matches the world", fmt.Errorf("record %s moved %s to %s, EC2 has it on %s", rec.ID, vol, rec.To.Instance, newOwner.InstanceID)}
	}
	if newOwner.AZ != oldOwner.AZ {
		return &invariantError{"same availability zone", fmt.Errorf("new owner %s is in %s, old in %s", newOwner.Name, newOwner.AZ, oldOwner.AZ)}
	}
	pg := sb.PostgresHosts(vol)
	if len(pg) != 1 || pg[0].Name != newOwner.Name {
		return &invariantError{"postgres on one host", fmt.Errorf("postgres for %s runs on %v, want only %s", vol, pg, newOwner.Name)}
	}
	if len(wr.Acked()) == 0 {
		return &invariantError{"writer acknowledged rows", errors.New("no row was acknowledged")}
	}
	return ctx.Err()
}

// waitCluster waits until every live host is registered, a leader is
// elected and a witness reports on the owner, so the kill meets a settled
// cluster.
func waitCluster(ctx context.Context, cli *clientv3.Client, sb *sandbox.Sandbox, owner sandbox.Host, say func(string, ...any)) error {
	keys := state.Keys{Prefix: keyPrefix}
	count := func(prefix string) int64 {
		resp, err := cli.Get(ctx, prefix, clientv3.WithPrefix(), clientv3.WithCountOnly())
		if err != nil {
			return -1
		}
		return resp.Count
	}
	n := int64(len(sb.Hosts()))
	if err := waitFor(ctx, fmt.Sprintf("%d hosts registered under %s and a leader elected", n, keys.Hosts()), func() bool {
		return count(keys.Hosts()) >= n && count(keys.Election()) >= 1
	}); err != nil {
		return err
	}
	if err := waitFor(ctx, "witness reports on "+owner.Name+" and the volume armed (its Postgres seen answering)", func() bool {
		return count(keys.WitnessOwner(owner.InstanceID)) >= 1 && count(keys.ArmedVolume(sb.Volume())) >= 1
	}); err != nil {
		return err
	}
	leader := "unknown"
	if resp, err := cli.Get(ctx, keys.Election(), clientv3.WithFirstCreate()...); err == nil && len(resp.Kvs) == 1 {
		leader = string(resp.Kvs[0].Value)
		for _, h := range sb.Hosts() {
			if h.InstanceID == leader {
				leader = h.Name
			}
		}
	}
	say("controllers ready: %d hosts registered, leader on %s, %d witnesses report on %s", n, leader, count(keys.WitnessOwner(owner.InstanceID)), owner.Name)
	if leader == owner.Name {
		say("the leader runs on the owner's host: killing it kills the leader too, so a new leader must first be elected (one etcd session TTL)")
	}
	return nil
}

// waitFor polls cond every 50ms until it holds or ctx ends.
func waitFor(ctx context.Context, what string, cond func() bool) error {
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for %s: %w", what, ctx.Err())
		case <-t.C:
		}
	}
	return nil
}
