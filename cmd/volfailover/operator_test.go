package main

import (
	"context"
	"encoding/json"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/volfailover/volfailover/state"
)

// TestOutputJSON: every operator command that writes or reads etcd prints
// exactly one JSON document on stdout with -o json (notes stay on stderr).
func TestOutputJSON(t *testing.T) {
	cli := newEtcdClient(t)
	prefix := testPrefix(t)
	seedCluster(t, cli, prefix)
	put(t, cli, state.Keys{Prefix: prefix}.Host(hostB), host(hostB, azA, 2, false))
	for _, tc := range []struct {
		name string
		args []string
		key  string // a field the document must have
	}{
		{"status", []string{"status", "-o", "json"}, "hosts"},
		{"status --json alias", []string{"status", "--json"}, "hosts"},
		{"history", []string{"history", "-o", "json"}, "records"},
		{"pause", []string{"pause", "--volume", volC, "--reason", "r", "-o", "json"}, "key"},
		{"resume", []string{"resume", "--volume", volC, "--output", "json"}, "key"},
		{"switchover", []string{"switchover", volB, "--to", hostB, "-o", "json"}, "value"},
		{"abort", []string{"abort", volB, "-o", "json"}, "switchoverRemoved"},
		{"clear-damping", []string{"clear-damping", volA, "--yes", "-o", "json"}, "record"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(t, cliEnv(nil), cmdArgs(prefix, tc.args...)...)
			require.Equal(t, 0, r.code, r.stderr)
			var doc map[string]any
			require.NoError(t, json.Unmarshal([]byte(r.stdout), &doc), "stdout is one JSON document: %s", r.stdout)
			require.Contains(t, doc, tc.key, "got %s", r.stdout)
		})
	}
	r := runCLI(t, cliEnv(nil), cmdArgs(prefix, "status", "-o", "yaml")...)
	require.Equal(t, exitUsage, r.code)
	require.Contains(t, r.stderr, `output "yaml": want json or table`)
}

// TestStatusJSONNaming: one naming style (camelCase) and no unset times in
// the document /v1/status embeds.
func TestStatusJSONNaming(t *testing.T) {
	cli := newEtcdClient(t)
	prefix := testPrefix(t)
	seedCluster(t, cli, prefix)
	k := state.Keys{Prefix: prefix}
	rec := state.Record{ID: "20260301T115900.000Z-0f0f0f0f", Kind: state.KindFailover, Volume: volC, AZ: azB, Device: "/dev/sdf",
		From: state.Endpoint{Instance: hostE, Machine: machine(5)}, To: state.Endpoint{Instance: hostC, Machine: machine(3)}, Reason: "owner dead", Step: state.StepPlanned,
		Signals: []state.Signal{{Source: "probe", OK: false, Detail: "refused"}}, Created: at(-time.Minute), Updated: at(-time.Minute),
		Timeline: []state.StepRecord{{Step: state.StepPlanned, Start: at(-time.Minute), Attempts: 1}}}
	put(t, cli, k.JournalVolume(volC), rec)

	r := runCLI(t, cliEnv(nil), cmdArgs(prefix, "status", "-o", "json")...)
	require.Equal(t, 0, r.code, r.stderr)
	for _, bad := range []string{`"nofailover"`, `"Source"`, `"OK"`, `"Since"`, `0001-01-01`} {
		require.NotContains(t, r.stdout, bad, "status JSON is camelCase without zero times")
	}
	for _, good := range []string{`"noFailover": true`, `"source": "probe"`, `"source": "ec2"`, `"inFlight"`} {
		require.Contains(t, r.stdout, good)
	}
	// Scripts that decode into the state types keep working.
	var doc struct{ InFlight []state.Record }
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &doc))
	require.Len(t, doc.InFlight, 2)
}

func TestStatusWatch(t *testing.T) {
	prefix := testPrefix(t)
	ctx, cancel := context.WithTimeout(t.Context(), 700*time.Millisecond)
	defer cancel()
	start := time.Now()
	r := runCLIWith(ctx, cliEnv(nil), "", cmdArgs(prefix, "status", "--watch", "--interval", "100ms")...)
	require.Equal(t, 0, r.code, "interrupting a watch is its normal end: %s", r.stderr)
	require.Less(t, time.Since(start), 5*time.Second, "the watch ends with its context")
	n := strings.Count(r.stdout, "volfailover status at")
	require.GreaterOrEqual(t, n, 3, "got %d prints want at least 3 in 700ms at 100ms:\n%s", n, r.stdout)

	r = runCLI(t, cliEnv(nil), cmdArgs(prefix, "status", "--watch", "--interval", "0s")...)
	require.Equal(t, exitUsage, r.code)
	require.Contains(t, r.stderr, "interval 0s")
}

func TestAbort(t *testing.T) {
	cli := newEtcdClient(t)
	prefix := testPrefix(t)
	seedCluster(t, cli, prefix)
	k := state.Keys{Prefix: prefix}
	put(t, cli, k.VolumeSwitchover(volC), state.SwitchoverOverride{To: hostC, Reason: "maintenance"})

	for _, tc := range []struct {
		name, volume string
		stdout       string
		gone, kept   []string // keys deleted, keys that must remain
	}{
		{"pending switchover is withdrawn", volC, "withdrew the switchover request of " + volC, []string{k.VolumeSwitchover(volC)}, nil},
		{"move in flight is held by a pause", volA, "held: failover 20260301T115830.000Z-0a1b2c3d", nil, []string{k.JournalVolume(volA), k.VolumePause(volA)}},
		{"second abort of a held move writes nothing", volA, "held already", nil, []string{k.JournalVolume(volA), k.VolumePause(volA)}},
		{"nothing to abort", volB, "nothing to abort for " + volB, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(t, cliEnv(nil), cmdArgs(prefix, "abort", tc.volume)...)
			require.Equal(t, 0, r.code, r.stderr)
			require.Contains(t, r.stdout, tc.stdout)
			keys := keysUnder(t, cli, prefix)
			for _, g := range tc.gone {
				require.NotContains(t, keys, g)
			}
			for _, kk := range tc.kept {
				require.Contains(t, keys, kk)
			}
		})
	}
	resp, err := cli.Get(t.Context(), k.VolumePause(volA))
	require.NoError(t, err)
	p, inForce, err := state.ParsePause(resp.Kvs[0].Value, testNow)
	require.NoError(t, err, "abort writes a pause the leader parses")
	require.True(t, inForce)
	require.Contains(t, p.Reason, "tester@testhost")

	r := runCLI(t, cliEnv(nil), cmdArgs(prefix, "abort", "vol-nope")...)
	require.Equal(t, exitUsage, r.code)
}

func TestClearDamping(t *testing.T) {
	cli := newEtcdClient(t)
	prefix := testPrefix(t)
	k := state.Keys{Prefix: prefix}
	for _, tc := range []struct {
		name   string
		value  string // "" = no record
		stdin  string
		args   []string
		code   int
		out    string
		remain bool
	}{
		{"declined", state.Damping{Failovers: []time.Time{at(-time.Hour)}}.Encode(), "n\n", nil, exitFailed, "holds 1 automatic failover(s)", true},
		{"no answer", state.Damping{Failovers: []time.Time{at(-time.Hour)}}.Encode(), "", nil, exitFailed, "2026-03-01T11:00:00Z", true},
		{"confirmed", state.Damping{Failovers: []time.Time{at(-time.Hour)}}.Encode(), "y\n", nil, 0, "cleared: deleted", false},
		{"--yes", state.Damping{Failovers: []time.Time{at(-time.Hour)}}.Encode(), "", []string{"--yes"}, 0, "cleared: deleted", false},
		{"malformed record shown and cleared", `{"failovers": "soon"}`, "", []string{"-y"}, 0, "does not parse", false},
		{"nothing to clear", "", "", nil, 0, "nothing to clear", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.value != "" {
				put(t, cli, k.DampingVolume(volA), tc.value)
			}
			ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
			defer cancel()
			r := runCLIWith(ctx, cliEnv(nil), tc.stdin, cmdArgs(prefix, append([]string{"clear-damping", volA}, tc.args...)...)...)
			require.Equal(t, tc.code, r.code, "got exit %d want %d: %s", r.code, tc.code, r.stderr)
			require.Contains(t, r.stdout+r.stderr, tc.out)
			require.Equal(t, tc.remain, len(keysUnder(t, cli, prefix)) == 1, "damping key kept: %v", keysUnder(t, cli, prefix))
			_, err := cli.Delete(t.Context(), k.DampingVolume(volA))
			require.NoError(t, err)
		})
	}
}

func TestUnknownEnvironmentVariable(t *testing.T) {
	prefix := testPrefix(t)
	for _, tc := range []struct {
		name string
		vars map[string]string
		code int
		want []string
	}{
		{"typo names the closest flag", map[string]string{"VOLFAILOVER_ETCD_ENDPOINT": testEtcd}, exitUsage,
			[]string{"VOLFAILOVER_ETCD_ENDPOINT is set but no flag reads it", "did you mean VOLFAILOVER_ETCD_ENDPOINTS (--etcd-endpoints)"}},
		{"run's variable is fine for status", map[string]string{"VOLFAILOVER_PROBE_INTERVAL": "1s"}, 0, nil},
		{"secret without a flag is fine", map[string]string{"VOLFAILOVER_PAGERDUTY_ROUTING_KEY": "k"}, 0, nil},
		{"typo of a run flag", map[string]string{"VOLFAILOVER_PROBE_INTERVL": "1s"}, exitUsage, []string{"VOLFAILOVER_PROBE_INTERVAL (--probe-interval)"}},
		{"other prefixes are not ours", map[string]string{"VOLFAILOVERX": "1", "SANDBOX_VOLFAILOVER_BIN": "/x"}, 0, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(t, cliEnv(tc.vars), cmdArgs(prefix, "status")...)
			require.Equal(t, tc.code, r.code, r.stderr)
			for _, w := range tc.want {
				require.Contains(t, r.stderr, w)
			}
		})
	}
	cmd := newRunCmd(runEnv(map[string]string{"VOLFAILOVER_WITNESS": "3"}))
	cmd.SetArgs(identityArgs)
	err := cmd.ExecuteContext(t.Context())
	require.Error(t, err)
	require.Equal(t, exitUsage, exitCode(err))
	require.Contains(t, err.Error(), "VOLFAILOVER_WITNESSES (--witnesses)")
}

func TestLevenshtein(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		d    int
	}{{"", "", 0}, {"abc", "", 3}, {"kitten", "sitting", 3}, {"PROBE_INTERVL", "PROBE_INTERVAL", 1}, {"same", "same", 0}} {
		require.Equal(t, tc.d, levenshtein(tc.a, tc.b), "levenshtein(%q, %q)", tc.a, tc.b)
	}
}

func TestPauseInput(t *testing.T) {
	cli := newEtcdClient(t)
	prefix := testPrefix(t)
	seedCluster(t, cli, prefix)
	const stranger = "vol-0fffffffffffffff9"
	for _, tc := range []struct {
		name    string
		args    []string
		code    int
		warning bool
		stderr  string
	}{
		{"zero duration", []string{"--volume", volC, "--for", "0s"}, exitUsage, false, "for 0s: must be positive"},
		{"negative duration", []string{"--for", "-1m"}, exitUsage, false, "must be positive"},
		{"unknown volume warns and pauses", []string{"--volume", stranger}, 0, true, "warning: volume " + stranger + " is unknown to the cluster"},
		{"volume in history", []string{"--volume", volC}, 0, false, ""},
		{"volume in the owners list", []string{"--volume", volB}, 0, false, ""},
		{"volume with a move in flight", []string{"--volume", volA, "--for", "1h"}, 0, false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(t, cliEnv(nil), cmdArgs(prefix, append([]string{"pause", "--reason", "test"}, tc.args...)...)...)
			require.Equal(t, tc.code, r.code, r.stderr)
			require.Contains(t, r.stderr, tc.stderr)
			require.Equal(t, tc.warning, strings.Contains(r.stderr, "warning:"), "stderr: %s", r.stderr)
		})
	}
}

func TestUnreachableEtcdNamesTheEndpoint(t *testing.T) {
	r := runCLI(t, cliEnv(nil), "status", "--etcd-endpoints", "http://127.0.0.1:1", "--timeout", "300ms")
	require.Equal(t, exitUnreachable, r.code)
	require.Contains(t, r.stderr, "etcd endpoints tried: http://127.0.0.1:1")
}

func TestMixedVersions(t *testing.T) {
	cli := newEtcdClient(t)
	prefix := testPrefix(t)
	k := state.Keys{Prefix: prefix}
	old := host(hostA, azA, 1, false)
	old.Version = "v1.3.0"
	put(t, cli, k.Host(hostA), old)
	put(t, cli, k.Host(hostB), host(hostB, azA, 2, false))
	put(t, cli, k.Host(hostC), host(hostC, azB, 3, false))

	r := runCLI(t, cliEnv(nil), cmdArgs(prefix, "status")...)
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stdout, "mixed versions: 1.0.0 on 2 ("+hostB+", "+hostC+"); v1.3.0 on 1 ("+hostA+")")
	r = runCLI(t, cliEnv(nil), cmdArgs(prefix, "status", "-o", "json")...)
	require.Contains(t, r.stdout, `"mixedVersions": true`)

	_, err := cli.Put(t.Context(), k.Host(hostA), mustJSON(t, host(hostA, azA, 1, false)))
	require.NoError(t, err)
	r = runCLI(t, cliEnv(nil), cmdArgs(prefix, "status")...)
	require.NotContains(t, r.stdout, "mixed versions")
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}

func TestBuildInfo(t *testing.T) {
	settings := func(kv ...string) []debug.BuildSetting {
		var out []debug.BuildSetting
		for i := 0; i < len(kv); i += 2 {
			out = append(out, debug.BuildSetting{Key: kv[i], Value: kv[i+1]})
		}
		return out
	}
	for _, tc := range []struct {
		name         string
		linker       buildInfo
		bi           debug.BuildInfo
		wantVersion  string
		wantRevision string
	}{
		{"linker wins", buildInfo{Version: "v1.4.0", Revision: "abc"}, debug.BuildInfo{Main: debug.Module{Version: "v0.9.0"}, Settings: settings("vcs.revision", "def")}, "v1.4.0", "abc"},
		{"vcs revision fills in", buildInfo{Version: "dev"}, debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: settings("vcs.revision", "def", "vcs.modified", "false")}, "dev", "def"},
		{"dirty tree says so", buildInfo{Version: "dev"}, debug.BuildInfo{Settings: settings("vcs.revision", "def", "vcs.modified", "true")}, "dev", "def-dirty"},
		{"module version from go install", buildInfo{Version: "dev"}, debug.BuildInfo{Main: debug.Module{Version: "v1.5.0"}}, "v1.5.0", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := fromBuildInfo(tc.linker, &tc.bi)
			require.Equal(t, tc.wantVersion, got.Version)
			require.Equal(t, tc.wantRevision, got.Revision)
		})
	}

	reg := prometheus.NewRegistry()
	require.NoError(t, registerBuildInfo(reg, buildInfo{Version: "v1.4.0", Revision: "abc", GoVersion: "go1.26.8"}))
	mfs, err := reg.Gather()
	require.NoError(t, err)
	require.Len(t, mfs, 1)
	require.Equal(t, "volfailover_build_info", mfs[0].GetName())
	m := mfs[0].GetMetric()
	require.Len(t, m, 1)
	require.Equal(t, 1.0, m[0].GetGauge().GetValue())
	labels := map[string]string{}
	for _, l := range m[0].GetLabel() {
		labels[l.GetName()] = l.GetValue()
	}
	require.Equal(t, map[string]string{"version": "v1.4.0", "revision": "abc", "goversion": "go1.26.8"}, labels)

	root := newRootCmd()
	var out strings.Builder
	root.SetOut(&out)
	root.SetArgs([]string{"--version"})
	require.NoError(t, root.Execute())
	require.Regexp(t, `^volfailover \S+ \(revision \S+, go1\.\S+\)\n$`, out.String())
}

// TestManualFailoverAndDisarm: failover asks before it writes a request the
// leader parses, refuses while a move is in flight and names an unregistered
// target; disarm deletes the arming record (issue 15 §2, §6).
func TestManualFailoverAndDisarm(t *testing.T) {
	cli := newEtcdClient(t)
	prefix := testPrefix(t)
	seedCluster(t, cli, prefix)
	k := state.Keys{Prefix: prefix}

	r := runCLI(t, cliEnv(nil), cmdArgs(prefix, "failover", volC)...)
	require.NotEqual(t, 0, r.code, "no answer to the question is no")
	require.NotContains(t, keysUnder(t, cli, prefix), k.VolumeFailover(volC), "nothing written without confirmation")

	r = runCLI(t, cliEnv(nil), cmdArgs(prefix, "failover", volC, "--yes", "--reason", "disk errors")...)
	require.Equal(t, 0, r.code, r.stderr)
	resp, err := cli.Get(t.Context(), k.VolumeFailover(volC))
	require.NoError(t, err)
	require.Len(t, resp.Kvs, 1)
	f, inForce, err := state.ParseFailover(resp.Kvs[0].Value, testNow)
	require.NoError(t, err, "failover writes a request the leader parses")
	require.True(t, inForce)
	require.Equal(t, "disk errors", f.Reason)

	r = runCLI(t, cliEnv(nil), cmdArgs(prefix, "failover", volA, "--yes")...)
	require.NotEqual(t, 0, r.code, "refused while a move of the volume is in flight")
	require.Contains(t, r.stderr, "a move is in progress")
	r = runCLI(t, cliEnv(nil), cmdArgs(prefix, "failover", volB, "--yes", "--to", "i-0000000000000dead")...)
	require.Equal(t, exitUsage, r.code)
	require.Contains(t, r.stderr, "not a registered host")

	put(t, cli, k.ArmedVolume(volB), state.Armed{Volume: volB, Owner: hostA, At: testNow})
	r = runCLI(t, cliEnv(nil), cmdArgs(prefix, "disarm", volB)...)
	require.Equal(t, 0, r.code, r.stderr)
	require.NotContains(t, keysUnder(t, cli, prefix), k.ArmedVolume(volB))
}
