package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// Agent is one real `volfailover run` process started by the harness, in a
// process group of its own so that it and nothing else can be killed.
type Agent struct {
	Instance string
	cmd      *exec.Cmd
	log      *os.File
	done     chan struct{}
	err      error
}

// AgentMemoryLimit is the soft heap limit the agent runs with, as the fleet unit
// in docs/deploy/volfailover.service sets it.
const AgentMemoryLimit = "80MiB"

// StartAgent starts bin with `run` and args, its output in logPath, and the
// static credentials the SDK needs so that it never looks for any elsewhere.
func StartAgent(bin, instance, logPath string, args []string) (*Agent, error) {
	f, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("create log of agent %s: %w", instance, err)
	}
	cmd := exec.Command(bin, append([]string{"run"}, args...)...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + os.TempDir(),
		"AWS_ACCESS_KEY_ID=AKIDBENCH",
		"AWS_SECRET_ACCESS_KEY=bench-secret",
		"AWS_EC2_METADATA_DISABLED=true",
		// As docs/deploy/volfailover.service runs it: the figures are for that unit.
		"GOMEMLIMIT=" + AgentMemoryLimit,
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("start agent %s (%s): %w", instance, bin, err)
	}
	a := &Agent{Instance: instance, cmd: cmd, log: f, done: make(chan struct{})}
	go func() {
		a.err = cmd.Wait()
		f.Close()
		close(a.done)
	}()
	return a, nil
}

// PID is the agent's process ID.
func (a *Agent) PID() int { return a.cmd.Process.Pid }

// Exited reports whether the process has ended, and how.
func (a *Agent) Exited() (bool, error) {
	select {
	case <-a.done:
		return true, a.err
	default:
		return false, nil
	}
}

// Stop sends SIGTERM to the agent's process group, then SIGKILL after grace
// or when ctx ends, and waits for the process.
func (a *Agent) Stop(ctx context.Context, grace time.Duration) {
	pgid := a.cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-a.done:
		return
	case <-t.C:
	case <-ctx.Done():
	}
	if err := syscall.Kill(-pgid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return
	}
	<-a.done
}

// tail returns the last n bytes of a file, for error messages.
func tail(path string, n int64) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return ""
	}
	off := max(fi.Size()-n, 0)
	b := make([]byte, fi.Size()-off)
	if _, err := f.ReadAt(b, off); err != nil {
		return ""
	}
	return string(b)
}
