package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// peerHostEnv tags every process of a peer "host". Patroni starts
// PostgreSQL in a session of its own and pg_autoctl supervises its
// children, so a process group does not hold a host's processes; the
// environment, which both pass on to PostgreSQL, does.
const peerHostEnv = "VOLFAILOVER_PEER_HOST"

// peerHost is one machine of a peer cluster: a loopback address and a
// supervisor process (patroni, pg_autoctl) run as the postgres user.
type peerHost struct {
	Name string // unique across the run: the tag value
	Addr string
	Dir  string // owned by the postgres user
	// Args is the supervisor's command line; Env is added to its environment.
	Args []string
	Env  []string
	// runArgs, when set, restart the host after a kill (pg_autoctl's
	// `create --run` becomes `run`).
	runArgs []string

	cmd  *exec.Cmd
	done chan struct{}
}

// postgresIDs returns the postgres user's IDs when running as root, so that
// the peers run PostgreSQL as the sandbox does; ok is false when not root.
func postgresIDs() (uid, gid int, ok bool, err error) {
	if os.Geteuid() != 0 {
		return 0, 0, false, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return 0, 0, true, fmt.Errorf("running as root needs the postgres system user: %w", err)
	}
	if uid, err = strconv.Atoi(u.Uid); err != nil {
		return 0, 0, true, fmt.Errorf("postgres uid %q: %w", u.Uid, err)
	}
	if gid, err = strconv.Atoi(u.Gid); err != nil {
		return 0, 0, true, fmt.Errorf("postgres gid %q: %w", u.Gid, err)
	}
	return uid, gid, true, nil
}

// ownDir creates dir (and its parents) and hands it to the postgres user.
func ownDir(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	uid, gid, root, err := postgresIDs()
	if err != nil || !root {
		return err
	}
	if err := os.Chown(dir, uid, gid); err != nil {
		return fmt.Errorf("chown %s to postgres: %w", dir, err)
	}
	return nil
}

// run runs a command to completion as the postgres user with the host's
// tag and environment; its output goes to the host's log and is returned.
func (h *peerHost) run(ctx context.Context, timeout time.Duration, args ...string) (string, error) {
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(cctx, args[0], args[1:]...)
	if err := h.prepare(cmd); err != nil {
		return "", err
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	h.appendLog(args, out.Bytes())
	if err != nil {
		return out.String(), fmt.Errorf("%s on %s: %w: %s", filepath.Base(args[0]), h.Name, err, errorLines(out.String(), 5))
	}
	return out.String(), nil
}

func (h *peerHost) prepare(cmd *exec.Cmd) error {
	cmd.Dir = h.Dir
	cmd.Env = append(append(os.Environ(), h.Env...), peerHostEnv+"="+h.Name)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	uid, gid, root, err := postgresIDs()
	if err != nil {
		return err
	}
	if root {
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		cmd.Env = append(cmd.Env, "HOME="+h.Dir, "USER=postgres", "LOGNAME=postgres")
	}
	return nil
}

func (h *peerHost) logPath() string { return filepath.Join(h.Dir, "host.log") }

func (h *peerHost) appendLog(args []string, out []byte) {
	f, err := os.OpenFile(h.logPath(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return
	}
	defer f.Close()
	fmt.Fprintf(f, "--- %s %q\n%s", time.Now().UTC().Format(time.RFC3339Nano), args, out)
}

// start runs the supervisor in the background; its output goes to the host's log.
func (h *peerHost) start() error {
	cmd := exec.Command(h.Args[0], h.Args[1:]...)
	if err := h.prepare(cmd); err != nil {
		return err
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	f, err := os.OpenFile(h.logPath(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("open log of %s: %w", h.Name, err)
	}
	fmt.Fprintf(f, "--- %s start %q\n", time.Now().UTC().Format(time.RFC3339Nano), h.Args)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		f.Close()
		return fmt.Errorf("start %s on %s: %w", filepath.Base(h.Args[0]), h.Name, err)
	}
	h.cmd, h.done = cmd, make(chan struct{})
	go func() {
		defer close(h.done)
		_ = cmd.Wait()
		f.Close()
	}()
	return nil
}

// kill SIGKILLs every process of the host, the way the sandbox kills a
// host: all of them are stopped first, so none can react to another's death,
// then killed, until no process carries the host's tag.
func (h *peerHost) kill() error {
	err := killTagged(h.Name)
	if h.done != nil {
		select {
		case <-h.done:
		case <-time.After(10 * time.Second):
			err = errors.Join(err, fmt.Errorf("kill %s: its supervisor was not reaped within 10s", h.Name))
		}
		h.done = nil
	}
	return err
}

// killTagged freezes, then kills, every process whose environment holds
// tag, and repeats until none is left (a fork between scans is caught by
// the next one).
func killTagged(tag string) error {
	want := []byte(peerHostEnv + "=" + tag + "\x00")
	for range 50 {
		pids := taggedPIDs(want)
		if len(pids) == 0 {
			return nil
		}
		for _, p := range pids {
			_ = syscall.Kill(p, syscall.SIGSTOP)
		}
		for _, p := range pids {
			_ = syscall.Kill(p, syscall.SIGKILL)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("kill host %s: processes still alive after 50 rounds: %v", tag, taggedPIDs(want))
}

// taggedPIDs scans /proc for live processes whose environment holds want.
func taggedPIDs(want []byte) []int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	self := os.Getpid()
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		env, err := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		if err != nil || !bytes.Contains(append([]byte{0}, env...), append([]byte{0}, want...)) {
			continue
		}
		// A zombie keeps its environ readable only while it has one; skip the dead.
		if st, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat")); err == nil && zombie(st) {
			continue
		}
		pids = append(pids, pid)
	}
	return pids
}

// zombie says whether a /proc/<pid>/stat line is a zombie's (state Z or X).
func zombie(stat []byte) bool {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 || i+2 >= len(stat) {
		return false
	}
	return stat[i+2] == 'Z' || stat[i+2] == 'X'
}

// errorLines returns the first n lines of s that report an ERROR or FATAL
// (pg_autoctl's and Patroni's levels), else its last n lines.
func errorLines(s string, n int) string {
	var keep []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, "ERROR") || strings.Contains(l, "FATAL") {
			keep = append(keep, l)
		}
	}
	if len(keep) == 0 {
		return lastLines(s, n)
	}
	return strings.Join(keep[:min(n, len(keep))], "\n")
}

// lastLines returns the last n lines of s.
func lastLines(s string, n int) string {
	lines := bytes.Split(bytes.TrimSpace([]byte(s)), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}
