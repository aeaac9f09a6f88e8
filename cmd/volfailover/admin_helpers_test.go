package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
	"go.uber.org/zap"

	"github.com/volfailover/volfailover/state"
)

// testNow is the fixed clock of every admin test.
var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// cliEnv is the process environment the commands see in a test.
func cliEnv(vars map[string]string) adminEnv {
	return adminEnv{
		now:     func() time.Time { return testNow },
		getenv:  func(k string) (string, bool) { v, ok := vars[k]; return v, ok },
		environ: func() []string { return environOf(vars) },
		who:     "tester@testhost",
	}
}

// environOf renders vars as os.Environ does.
func environOf(vars map[string]string) []string {
	var out []string
	for k, v := range vars {
		out = append(out, k+"="+v)
	}
	return out
}

// result is what one in-process run of the CLI produced.
type result struct {
	stdout, stderr string
	code           int
	err            error
}

// runCLI runs the admin commands in process with args, as main would.
func runCLI(t *testing.T, env adminEnv, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	return runCLIWith(ctx, env, "", args...)
}

// runCLIWith runs the admin commands under ctx with stdin as their input.
func runCLIWith(ctx context.Context, env adminEnv, stdin string, args ...string) result {
	root := &cobra.Command{Use: "volfailover", SilenceErrors: true, SilenceUsage: true}
	addAdminCommandsWith(root, env)
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetIn(strings.NewReader(stdin))
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err != nil {
		fmt.Fprintln(&errOut, "volfailover:", err)
	}
	return result{stdout: out.String(), stderr: errOut.String(), code: exitCode(err), err: err}
}

// etcdArgs point a command at the test etcd under prefix.
func etcdArgs(prefix string) []string {
	return []string{"--etcd-endpoints", testEtcd, "--key-prefix", prefix, "--timeout", "5s"}
}

// cmdArgs is the command line: args then the etcd flags.
func cmdArgs(prefix string, args ...string) []string { return append(args, etcdArgs(prefix)...) }

// prefixRuns numbers the prefixes handed out, so that a test run again by
// -count (make stress) starts from empty keys instead of its last run's.
var prefixRuns atomic.Int64

// testPrefix is a key prefix of the test's own, fresh on every run.
func testPrefix(t *testing.T) string {
	return fmt.Sprintf("/t/%s-%d", strings.NewReplacer("/", "_", " ", "_").Replace(t.Name()), prefixRuns.Add(1))
}

func newEtcdClient(t *testing.T) *clientv3.Client {
	t.Helper()
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{testEtcd}, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	require.NoError(t, err)
	t.Cleanup(func() { _ = cli.Close() })
	return cli
}

// keysUnder lists every key under prefix.
func keysUnder(t *testing.T, cli *clientv3.Client, prefix string) []string {
	t.Helper()
	resp, err := cli.Get(t.Context(), prefix+"/", clientv3.WithPrefix(), clientv3.WithKeysOnly())
	require.NoError(t, err)
	var out []string
	for _, kv := range resp.Kvs {
		out = append(out, string(kv.Key))
	}
	return out
}

func put(t *testing.T, cli *clientv3.Client, key string, v any) {
	t.Helper()
	s, ok := v.(string)
	if !ok {
		b, err := json.Marshal(v)
		require.NoError(t, err)
		s = string(b)
	}
	_, err := cli.Put(t.Context(), key, s)
	require.NoError(t, err)
}

const (
	azA = "us-east-1a"
	azB = "us-east-1b"

	hostA = "i-0aaaaaaaaaaaaaaa1" // leader, owner of volB
	hostB = "i-0bbbbbbbbbbbbbbb2" // target of the in-flight move
	hostC = "i-0ccccccccccccccc3" // other AZ
	hostD = "i-0ddddddddddddddd4" // dead former owner of volA, not registered
	hostE = "i-0eeeeeeeeeeeeeee5" // nofailover, same AZ

	volA = "vol-0aaaaaaaaaaaaaaa1" // failover in flight
	volB = "vol-0bbbbbbbbbbbbbbb2" // malformed pause override
	volC = "vol-0ccccccccccccccc3" // paused for maintenance, history; not in the owners list
)

func machine(n int) string { return fmt.Sprintf("%032x", 0xabc000+n) }

func host(id, az string, n int, nofailover bool) state.Host {
	return state.Host{Instance: id, Machine: machine(n), AZ: az, PrivateIP: fmt.Sprintf("10.0.0.%d", n),
		HealthURL: fmt.Sprintf("http://10.0.0.%d:9437/healthz", n), Version: "1.0.0", NoFailover: nofailover,
		Since: testNow.Add(-48 * time.Hour)}
}

// at is a time relative to testNow.
func at(d time.Duration) time.Time { return testNow.Add(d) }

// seedCluster writes a realistic cluster under prefix: registered hosts, a
// leader holding the election, the owners list, witness reports, an in-flight
// failover with a timeline, overrides (one malformed), history and damping.
// The leader's session ends when the test does.
func seedCluster(t *testing.T, cli *clientv3.Client, prefix string) {
	t.Helper()
	k := state.Keys{Prefix: prefix}
	for _, h := range []state.Host{host(hostA, azA, 1, false), host(hostB, azA, 2, false), host(hostC, azB, 3, false), host(hostE, azA, 5, true)} {
		put(t, cli, k.Host(h.Instance), h)
	}
	sess, err := concurrency.NewSession(cli, concurrency.WithTTL(30))
	require.NoError(t, err)
	t.Cleanup(func() { _ = sess.Close() })
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	require.NoError(t, concurrency.NewElection(sess, k.Election()).Campaign(ctx, hostA), "campaign for the seeded leader")

	put(t, cli, k.Owners(), []state.Owner{
		{Instance: hostA, AZ: azA, PrivateIP: "10.0.0.1", Machine: machine(1), Volume: volB},
	})
	for _, w := range []state.Report{
		{Owner: hostA, Witness: hostB, Reachable: true, At: at(-time.Second)},
		{Owner: hostA, Witness: hostE, Reachable: true, At: at(-time.Second)},
		{Owner: hostC, Witness: hostA, Reachable: false, At: at(-2 * time.Second), Detail: "dial tcp 10.0.0.3:5432: i/o timeout"},
	} {
		put(t, cli, k.WitnessReport(w.Owner, w.Witness), w)
	}

	created := at(-90 * time.Second)
	put(t, cli, k.JournalVolume(volA), state.Record{
		ID: "20260301T115830.000Z-0a1b2c3d", Kind: state.KindFailover, Volume: volA, AZ: azA, Device: "/dev/xvdb",
		From:   state.Endpoint{Instance: hostD, Machine: machine(4), PrivateIP: "10.0.0.4"},
		To:     state.Endpoint{Instance: hostB, Machine: machine(2), PrivateIP: "10.0.0.2"},
		Reason: "owner dead: ec2 state stopped", Epoch: 4, Fence: state.FenceStopThenDetach, Step: state.StepAttached,
		Signals: []state.Signal{{Source: "ec2", OK: false, Detail: "state stopped", Since: created.Add(-5 * time.Second)}},
		Created: created, Updated: at(-10 * time.Second),
		Timeline: []state.StepRecord{
			{Step: state.StepPlanned, Start: created, End: created, Attempts: 1, Leader: hostA},
			{Step: state.StepFenced, Start: created, End: created.Add(1200 * time.Millisecond), Attempts: 1, Leader: hostA},
			{Step: state.StepDetached, Start: created.Add(1200 * time.Millisecond), End: created.Add(21500 * time.Millisecond), Attempts: 2, Leader: hostA},
			{Step: state.StepAttached, Start: created.Add(21500 * time.Millisecond), End: created.Add(80 * time.Second), Attempts: 3, Leader: hostA,
				Error: "attach vol-0aaaaaaaaaaaaaaa1 to i-0bbbbbbbbbbbbbbb2: throttled", Overdue: true},
			{Step: state.StepMetadataMoved, Start: created.Add(80 * time.Second), Attempts: 1, Leader: hostA},
		},
	})

	put(t, cli, k.VolumePause(volB), `{"reason": "oops", "unknown": 1}`)
	until := at(2 * time.Hour)
	put(t, cli, k.VolumePause(volC), state.PauseOverride{Reason: "kernel upgrade on the owner", Until: &until})

	hc := at(-26 * time.Hour)
	put(t, cli, k.HistoryRecord(volC, "20260228T100000.000Z-00000001"), state.Record{
		ID: "20260228T100000.000Z-00000001", Kind: state.KindSwitchover, Volume: volC, AZ: azB, Device: "/dev/xvdb",
		From: state.Endpoint{Instance: hostE, Machine: machine(5)}, To: state.Endpoint{Instance: hostC, Machine: machine(3)},
		Reason: "switchover: move off old hardware", Step: state.StepDone, Created: hc, Updated: hc.Add(95 * time.Second), Finished: hc.Add(95 * time.Second),
		Timeline: []state.StepRecord{
			{Step: state.StepPlanned, Start: hc, End: hc, Attempts: 1, Leader: hostA},
			{Step: state.StepFenced, Start: hc, End: hc.Add(12 * time.Second), Attempts: 1, Leader: hostA, Skipped: "switchover: unit stopped through fleet"},
			{Step: state.StepDetached, Start: hc.Add(12 * time.Second), End: hc.Add(20 * time.Second), Attempts: 1, Leader: hostA},
			{Step: state.StepAttached, Start: hc.Add(20 * time.Second), End: hc.Add(31 * time.Second), Attempts: 1, Leader: hostA},
			{Step: state.StepMetadataMoved, Start: hc.Add(31 * time.Second), End: hc.Add(31500 * time.Millisecond), Attempts: 1, Leader: hostA},
			{Step: state.StepRescheduled, Start: hc.Add(31500 * time.Millisecond), End: hc.Add(70 * time.Second), Attempts: 1, Leader: hostA},
			{Step: state.StepVerified, Start: hc.Add(70 * time.Second), End: hc.Add(95 * time.Second), Attempts: 4, Leader: hostA},
		},
	})
	ha := at(-72 * time.Hour)
	put(t, cli, k.HistoryRecord(volA, "20260226T120000.000Z-00000002"), state.Record{
		ID: "20260226T120000.000Z-00000002", Kind: state.KindHeal, Volume: volA, AZ: azA, Device: "/dev/xvdb",
		To: state.Endpoint{Instance: hostD, Machine: machine(4)}, Reason: "volume attached nowhere", Step: state.StepDone,
		Created: ha, Updated: ha.Add(40 * time.Second), Finished: ha.Add(40 * time.Second),
		Timeline: []state.StepRecord{{Step: state.StepPlanned, Start: ha, End: ha, Attempts: 1, Leader: hostA}},
	})
	put(t, cli, k.HistoryRecord(volA, "20260226T000000.000Z-broken"), `{"id": 7}`)
	put(t, cli, k.DampingVolume(volA), state.Damping{Failovers: []time.Time{created}})
}
