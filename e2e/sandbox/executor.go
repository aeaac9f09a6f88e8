package sandbox

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"sync"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/volfailover/volfailover/e2e/fleetsim"
)

// hostLookup gives the executor a machine's host name and environment.
type hostLookup func(machineID string) (name string, env []string, ok bool)

// ProcExecutor is the fleetsim.Executor of the sandbox: each unit runs its
// ExecStart as a child process in a process group of its own, with the
// host's environment, its output appended to <logDir>/<host>/<unit>.log. It
// honours Restart=, RestartSec=, KillSignal= and TimeoutStopSec= like
// systemd, because fleet's agent starts a unit once and leaves restarts to
// systemd. Stop only triggers the stop, as systemd's stop job does for
// fleet's agent: a process that takes its time to exit reads
// deactivating/stop-sigterm until it does or TimeoutStopSec kills it.
type ProcExecutor struct {
	logDir string
	lookup hostLookup
	log    zerolog.Logger

	mu       sync.Mutex
	units    map[procKey]*proc
	stopping map[procKey]*proc // stop triggered, process not yet exited
	dead     map[string]bool   // machines whose host is down: nothing starts there
	closed   bool
	wg       sync.WaitGroup // one supervisor per proc, one waiter per stop
}

type procKey struct{ machine, unit string }

// proc is one unit on one machine: its current process, if any, and its
// systemd-like state.
type proc struct {
	key  procKey
	host string
	spec serviceSpec
	env  []string

	// guarded by ProcExecutor.mu
	cmd    *exec.Cmd
	exited bool   // cmd has been reaped by Wait
	state  string // running | auto-restart | failed | stopped
	quit   chan struct{}
	quitOK bool          // quit is closed
	done   chan struct{} // closed when the supervisor has finished
}

var _ fleetsim.Executor = (*ProcExecutor)(nil)
var _ fleetsim.HostKiller = (*ProcExecutor)(nil)

func newProcExecutor(logDir string, lookup hostLookup, log zerolog.Logger) *ProcExecutor {
	return &ProcExecutor{logDir: logDir, lookup: lookup, log: log, units: map[procKey]*proc{}, stopping: map[procKey]*proc{}, dead: map[string]bool{}}
}

// Start implements fleetsim.Executor. Starting a unit that is running (or
// waiting to restart) is a no-op, as systemctl start is; starting one whose
// previous process is still stopping waits for that process first, as
// systemd's start job waits for the stop job it follows.
func (e *ProcExecutor) Start(ctx context.Context, machineID string, u fleetsim.UnitFile) error {
	host, env, ok := e.lookup(machineID)
	if !ok {
		return fmt.Errorf("start %s on %s: unknown machine", u.Name, machineID)
	}
	k := procKey{machineID, u.Name}
	e.mu.Lock()
	if old, ok := e.stopping[k]; ok {
		e.mu.Unlock()
		select {
		case <-old.done:
		case <-ctx.Done():
			return fmt.Errorf("start %s on %s: previous process still stopping: %w", u.Name, host, ctx.Err())
		}
		e.mu.Lock()
	}
	defer e.mu.Unlock()
	if e.closed {
		return fmt.Errorf("start %s on %s: executor closed", u.Name, host)
	}
	if e.dead[machineID] {
		return fmt.Errorf("start %s on %s: host is down", u.Name, host)
	}
	if p, ok := e.units[k]; ok && (p.state == "running" || p.state == "auto-restart") {
		return nil
	}
	spec, err := parseService(u, env)
	if err != nil {
		e.units[k] = &proc{key: k, host: host, state: "failed", done: closedChan()}
		return fmt.Errorf("start %s on %s: %w", u.Name, host, err)
	}
	p := &proc{key: k, host: host, spec: spec, env: env, quit: make(chan struct{}), done: make(chan struct{})}
	if err := e.spawnLocked(p); err != nil {
		p.state = "failed"
		close(p.done)
		e.units[k] = p
		return fmt.Errorf("start %s on %s: %w", u.Name, host, err)
	}
	e.units[k] = p
	e.wg.Add(1)
	go e.supervise(p)
	return nil
}

func closedChan() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}

// spawnLocked starts p's command; the caller holds e.mu.
func (e *ProcExecutor) spawnLocked(p *proc) error {
	dir := filepath.Join(e.logDir, p.host)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create log dir %s: %w", dir, err)
	}
	logPath := filepath.Join(dir, p.key.unit+".log")
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("open log %s: %w", logPath, err)
	}
	fmt.Fprintf(f, "--- sandbox: starting %s on %s at %s: %q\n", p.key.unit, p.host, time.Now().UTC().Format(time.RFC3339Nano), p.spec.argv)
	cmd := exec.Command(p.spec.argv[0], p.spec.argv[1:]...)
	cmd.Env = p.env
	cmd.Stdout, cmd.Stderr = f, f
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		f.Close()
		return fmt.Errorf("exec %s: %w", p.spec.argv[0], err)
	}
	f.Close() // the child holds its own descriptor
	p.cmd, p.exited = cmd, false
	p.state = "running"
	e.log.Info().Str("host", p.host).Str("machine", p.key.machine).Str("unit", p.key.unit).Int("pid", cmd.Process.Pid).Msg("unit process started")
	return nil
}

// supervise waits for p's process and restarts it as Restart= says, until
// it is stopped or killed.
func (e *ProcExecutor) supervise(p *proc) {
	defer e.wg.Done()
	defer close(p.done)
	for {
		e.mu.Lock()
		cmd := p.cmd
		e.mu.Unlock()
		err := cmd.Wait()
		failed := err != nil && !p.spec.ignoreFailure

		e.mu.Lock()
		p.exited = true
		e.log.Info().Str("host", p.host).Str("unit", p.key.unit).AnErr("exit", err).Msg("unit process exited")
		if p.quitOK {
			if p.state != "failed" {
				p.state = "stopped"
			}
			e.mu.Unlock()
			return
		}
		restart := p.spec.restart == "always" || (p.spec.restart == "on-failure" && failed)
		if !restart {
			p.state = "stopped"
			if failed {
				p.state = "failed"
			}
			e.mu.Unlock()
			return
		}
		p.state = "auto-restart"
		e.mu.Unlock()

		t := time.NewTimer(p.spec.restartDelay)
		select {
		case <-p.quit:
			t.Stop()
			e.mu.Lock()
			if p.state != "failed" {
				p.state = "stopped"
			}
			e.mu.Unlock()
			return
		case <-t.C:
		}
		e.mu.Lock()
		if p.quitOK || e.dead[p.key.machine] || e.closed {
			p.state = "stopped"
			e.mu.Unlock()
			return
		}
		if err := e.spawnLocked(p); err != nil {
			e.log.Warn().Err(err).Str("host", p.host).Str("unit", p.key.unit).Msg("unit restart failed")
			p.state = "failed"
			e.mu.Unlock()
			return
		}
		e.mu.Unlock()
	}
}

// Stop implements fleetsim.Executor: KillSignal to the process group now,
// SIGKILL after TimeoutStopSec in the background; it returns at once.
func (e *ProcExecutor) Stop(_ context.Context, machineID, unitName string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	p, ok := e.units[procKey{machineID, unitName}]
	if !ok {
		return nil
	}
	delete(e.units, p.key)
	e.quitLocked(p, p.spec.killSignal, "stopped")
	select {
	case <-p.done:
		return nil
	default:
	}
	e.stopping[p.key] = p
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		_ = e.await(context.Background(), p)
		e.mu.Lock()
		if e.stopping[p.key] == p {
			delete(e.stopping, p.key)
		}
		e.mu.Unlock()
	}()
	return nil
}

// await waits for p's supervisor, escalating to SIGKILL after the stop
// timeout (none when it is 0, systemd's TimeoutStopSec=infinity) or when
// ctx ends.
func (e *ProcExecutor) await(ctx context.Context, p *proc) error {
	var timeout <-chan time.Time
	if p.spec.stopTimeout > 0 {
		t := time.NewTimer(p.spec.stopTimeout)
		defer t.Stop()
		timeout = t.C
	}
	select {
	case <-p.done:
		return nil
	case <-timeout:
	case <-ctx.Done():
	}
	e.mu.Lock()
	e.signalLocked(p, syscall.SIGKILL)
	e.mu.Unlock()
	<-p.done // a SIGKILLed group always exits
	if ctx.Err() != nil {
		return fmt.Errorf("stop %s on %s: %w", p.key.unit, p.host, ctx.Err())
	}
	return nil
}

// quitLocked ends p's supervision and signals its process group.
func (e *ProcExecutor) quitLocked(p *proc, sig syscall.Signal, state string) {
	if !p.quitOK {
		p.quitOK = true
		if p.quit != nil {
			close(p.quit)
		}
	}
	if state == "failed" {
		p.state = "failed"
	}
	e.signalLocked(p, sig)
}

// signalLocked signals the whole process group of p's current process.
func (e *ProcExecutor) signalLocked(p *proc, sig syscall.Signal) {
	// Until Wait reaps it, the group leader's PID cannot be reused, so
	// signalling an exited but unreaped group is harmless.
	if p.cmd == nil || p.cmd.Process == nil || p.exited {
		return
	}
	if err := syscall.Kill(-p.cmd.Process.Pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		e.log.Warn().Err(err).Str("host", p.host).Str("unit", p.key.unit).Msg("signal unit")
	}
}

// Status implements fleetsim.Executor with systemd's strings.
func (e *ProcExecutor) Status(machineID, unitName string) (string, string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	p, ok := e.units[procKey{machineID, unitName}]
	if !ok {
		if _, stopping := e.stopping[procKey{machineID, unitName}]; stopping {
			return "deactivating", "stop-sigterm"
		}
		return "inactive", "dead"
	}
	switch p.state {
	case "running":
		return "active", "running"
	case "auto-restart":
		return "activating", "auto-restart"
	case "failed":
		return "failed", "failed"
	default:
		return "inactive", "dead"
	}
}

// KillMachine implements fleetsim.HostKiller: every process of the host gets
// SIGKILL and nothing starts there until Revive.
func (e *ProcExecutor) KillMachine(machineID string) {
	e.mu.Lock()
	e.dead[machineID] = true
	var victims []*proc
	for k, p := range e.units {
		if k.machine == machineID {
			e.quitLocked(p, syscall.SIGKILL, "failed")
			victims = append(victims, p)
		}
	}
	for k, p := range e.stopping {
		if k.machine == machineID {
			e.signalLocked(p, syscall.SIGKILL)
			victims = append(victims, p)
		}
	}
	e.mu.Unlock()
	for _, p := range victims {
		<-p.done
	}
}

// KillUnit SIGKILLs one unit's processes and leaves it failed; Restart=
// still applies, as after a crash.
func (e *ProcExecutor) KillUnit(machineID, unitName string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if p, ok := e.units[procKey{machineID, unitName}]; ok {
		e.signalLocked(p, syscall.SIGKILL)
	}
}

// Revive lets units start on the machine again, from a fresh systemd: the
// failed units of its previous life are forgotten.
func (e *ProcExecutor) Revive(machineID string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.dead, machineID)
	for k := range e.units {
		if k.machine == machineID {
			delete(e.units, k)
		}
	}
}

// Down reports whether the machine's host is down.
func (e *ProcExecutor) Down(machineID string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.dead[machineID]
}

// UnitInfo describes one unit process for status output.
type UnitInfo struct {
	Machine string `json:"machine"`
	Host    string `json:"host"`
	Unit    string `json:"unit"`
	Active  string `json:"active"`
	Sub     string `json:"sub"`
	PID     int    `json:"pid,omitempty"`
}

// Units lists every unit the executor holds, stopping ones included, sorted
// by host and unit.
func (e *ProcExecutor) Units() []UnitInfo {
	e.mu.Lock()
	var out []UnitInfo
	for k, p := range e.units {
		ui := UnitInfo{Machine: k.machine, Host: p.host, Unit: k.unit}
		if p.state == "running" && p.cmd != nil && p.cmd.Process != nil {
			ui.PID = p.cmd.Process.Pid
		}
		out = append(out, ui)
	}
	for k, p := range e.stopping {
		if _, restarted := e.units[k]; restarted {
			continue
		}
		ui := UnitInfo{Machine: k.machine, Host: p.host, Unit: k.unit}
		if p.cmd != nil && p.cmd.Process != nil {
			ui.PID = p.cmd.Process.Pid
		}
		out = append(out, ui)
	}
	e.mu.Unlock()
	for i := range out {
		out[i].Active, out[i].Sub = e.Status(out[i].Machine, out[i].Unit)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Host != out[j].Host {
			return out[i].Host < out[j].Host
		}
		return out[i].Unit < out[j].Unit
	})
	return out
}

// Close stops every unit (KillSignal, then SIGKILL after its timeout) and
// waits for every supervisor, so no process outlives the sandbox.
func (e *ProcExecutor) Close(ctx context.Context) {
	e.mu.Lock()
	e.closed = true
	var all []*proc
	for k, p := range e.units {
		e.quitLocked(p, p.spec.killSignal, "stopped")
		all = append(all, p)
		delete(e.units, k)
	}
	for _, p := range e.stopping {
		all = append(all, p) // bound by ctx too, not only by their timeout
	}
	e.mu.Unlock()
	for _, p := range all {
		if err := e.await(ctx, p); err != nil {
			e.log.Warn().Err(err).Msg("stop unit at close")
		}
	}
	e.wg.Wait()
}
