package sandbox

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"
)

func newTestExecutor(t *testing.T) (*ProcExecutor, string) {
	t.Helper()
	dir := t.TempDir()
	e := newProcExecutor(dir, func(m string) (string, []string, bool) {
		return "host-" + m, []string{"PATH=/usr/bin:/bin", "GREETING=hello"}, true
	}, zerolog.Nop())
	t.Cleanup(func() { e.Close(context.Background()) })
	return e, dir
}

func waitStatus(t *testing.T, e *ProcExecutor, machine, unitName, active, sub string) {
	t.Helper()
	require.Eventually(t, func() bool {
		a, s := e.Status(machine, unitName)
		return a == active && s == sub
	}, 10*time.Second, 20*time.Millisecond, "waiting for %s on %s to be %s/%s", unitName, machine, active, sub)
}

func TestProcExecutorLifecycle(t *testing.T) {
	e, dir := newTestExecutor(t)
	ctx := context.Background()

	// A long-running unit, stopped with its KillSignal.
	long := unit("long.service", "ExecStart", `/bin/sh -c "echo $GREETING from %n; trap 'exit 0' INT; while :; do sleep 0.05; done"`, "KillSignal", "SIGINT")
	require.NoError(t, e.Start(ctx, "m1", long))
	waitStatus(t, e, "m1", "long.service", "active", "running")
	require.NoError(t, e.Start(ctx, "m1", long), "starting a running unit is a no-op")
	start := time.Now()
	require.NoError(t, e.Stop(ctx, "m1", "long.service"))
	waitStatus(t, e, "m1", "long.service", "inactive", "dead")
	require.Less(t, time.Since(start), 5*time.Second, "stop took %s: KillSignal=SIGINT not honoured", time.Since(start))
	b, err := os.ReadFile(filepath.Join(dir, "host-m1", "long.service.log"))
	require.NoError(t, err)
	require.Contains(t, string(b), "hello from long.service", "got log %q", b)

	// A failing unit without Restart= stays failed.
	require.NoError(t, e.Start(ctx, "m1", unit("fail.service", "ExecStart", "/bin/sh -c 'exit 3'")))
	waitStatus(t, e, "m1", "fail.service", "failed", "failed")

	// Restart=on-failure restarts a crashing unit.
	require.NoError(t, e.Start(ctx, "m1", unit("crash.service", "ExecStart", "/bin/sh -c 'exit 4'", "Restart", "on-failure", "RestartSec", "0.05")))
	require.Eventually(t, func() bool {
		b, _ := os.ReadFile(filepath.Join(dir, "host-m1", "crash.service.log"))
		return strings.Count(string(b), "sandbox: starting") >= 3
	}, 10*time.Second, 20*time.Millisecond, "waiting for three starts of crash.service")
	require.NoError(t, e.Stop(ctx, "m1", "crash.service"))
}

func TestProcExecutorKillMachine(t *testing.T) {
	e, _ := newTestExecutor(t)
	ctx := context.Background()
	sleeper := unit("sleep.service", "ExecStart", "/bin/sleep 60", "Restart", "always", "RestartSec", "0.05")
	require.NoError(t, e.Start(ctx, "m1", sleeper))
	require.NoError(t, e.Start(ctx, "m2", sleeper))
	waitStatus(t, e, "m1", "sleep.service", "active", "running")
	waitStatus(t, e, "m2", "sleep.service", "active", "running")
	pid := e.Units()[0].PID
	require.NotZero(t, pid)

	e.KillMachine("m1")
	a, s := e.Status("m1", "sleep.service")
	require.Equal(t, []string{"failed", "failed"}, []string{a, s}, "a killed host's unit must read failed")
	require.True(t, e.Down("m1"))
	require.ErrorContains(t, e.Start(ctx, "m1", sleeper), "host is down")
	a, _ = e.Status("m2", "sleep.service")
	require.Equal(t, "active", a, "another machine's unit must survive")

	e.Revive("m1")
	a, s = e.Status("m1", "sleep.service")
	require.Equal(t, []string{"inactive", "dead"}, []string{a, s}, "a revived host starts from a fresh systemd")
	require.NoError(t, e.Start(ctx, "m1", sleeper))
	waitStatus(t, e, "m1", "sleep.service", "active", "running")

	// KillUnit is a crash: Restart=always brings the unit back.
	before := e.Units()[0].PID
	e.KillUnit("m1", "sleep.service")
	require.Eventually(t, func() bool {
		u := e.Units()[0]
		return u.Active == "active" && u.PID != 0 && u.PID != before
	}, 10*time.Second, 20*time.Millisecond, "waiting for sleep.service to restart after KillUnit")
}

// Stop only triggers the stop, as systemd's stop job does for fleet's agent:
// a process that ignores its KillSignal reads deactivating, is still listed,
// and is SIGKILLed when its TimeoutStopSec ends.
func TestProcExecutorStopIsAsync(t *testing.T) {
	e, dir := newTestExecutor(t)
	ctx := context.Background()
	// The marker is computed by the shell: the log's header line quotes the
	// command, so a literal marker would be found before the trap is set.
	stubborn := unit("stubborn.service", "ExecStart", `/bin/sh -c "trap '' TERM; echo ignoring-TERM-$((40+2)); while :; do sleep 0.05; done"`, "TimeoutStopSec", "1")
	require.NoError(t, e.Start(ctx, "m1", stubborn))
	waitStatus(t, e, "m1", "stubborn.service", "active", "running")
	require.Eventually(t, func() bool {
		b, _ := os.ReadFile(filepath.Join(dir, "host-m1", "stubborn.service.log"))
		return strings.Contains(string(b), "ignoring-TERM-42")
	}, 10*time.Second, 10*time.Millisecond, "waiting for the unit to ignore SIGTERM before it is stopped")
	pid := e.Units()[0].PID

	start := time.Now()
	require.NoError(t, e.Stop(ctx, "m1", "stubborn.service"))
	require.Less(t, time.Since(start), 500*time.Millisecond, "Stop must not wait for the process")
	a, s := e.Status("m1", "stubborn.service")
	require.Equal(t, []string{"deactivating", "stop-sigterm"}, []string{a, s}, "a process still stopping")
	units := e.Units()
	require.Len(t, units, 1, "the stopping process is still listed")
	require.Equal(t, pid, units[0].PID)

	waitStatus(t, e, "m1", "stubborn.service", "inactive", "dead")
	took := time.Since(start)
	require.GreaterOrEqual(t, took, time.Second, "killed at TimeoutStopSec=1, not before (took %s)", took)
	require.Empty(t, e.Units())
}
