package sandbox

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/rs/zerolog"
)

// EtcdMembers is the size of the sandbox's etcd cluster.
const EtcdMembers = 3

// etcdMemberGID is the first of the group IDs the members run under (as
// root): member i's group is etcdMemberGID+i, so an OUTPUT rule on that
// group drops what the member sends. Its peer and client connections leave
// from 127.0.0.1 (etcd binds no source address), so a rule on its address
// alone would cut only what is sent to it.
const etcdMemberGID = 64300

// EtcdMember describes one member of the sandbox's etcd cluster.
type EtcdMember struct {
	Name string `json:"name"`
	Addr string `json:"address"`
	// Endpoint is its client URL, http://<Addr>:2379.
	Endpoint string `json:"endpoint"`
}

// etcdMember is a member run as a child process (exec-etcd of SandboxBin).
type etcdMember struct {
	EtcdMember
	gid               uint32
	dataDir, walDir   string
	logFile, procLog  string
	slow              *slowFsyncFS // nil when fsync cannot be delayed here
	slowErr           error        // why slow is nil
	bin, initialPeers string

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{} // closed when cmd has been waited for
}

// newEtcdMembers lays out the members of a sandbox: member i (1-based) is
// etcd<i> on 127.0.<subnet>.<250+i>, above every host address (hosts use
// .1 to .250), with its WAL on an fsync-delaying FUSE mount when possible.
func newEtcdMembers(dir string, subnet int, bin string, log zerolog.Logger) []*etcdMember {
	var ms []*etcdMember
	var peers []string
	for i := 1; i <= EtcdMembers; i++ {
		name, addr := fmt.Sprintf("etcd%d", i), fmt.Sprintf("127.0.%d.%d", subnet, 250+i)
		mdir := filepath.Join(dir, "etcd", name)
		ms = append(ms, &etcdMember{
			EtcdMember: EtcdMember{Name: name, Addr: addr, Endpoint: fmt.Sprintf("http://%s:%d", addr, EtcdClientPort)},
			gid:        uint32(etcdMemberGID + i),
			// etcd makes its WAL as wal.tmp and renames it: the mount is
			// the directory above, never the WAL directory itself.
			dataDir: filepath.Join(mdir, "data"), walDir: filepath.Join(mdir, "walfs", "wal"),
			logFile: filepath.Join(dir, "logs", name+".log"), procLog: filepath.Join(dir, "logs", name+".out"),
			bin: bin,
		})
		peers = append(peers, fmt.Sprintf("%s=http://%s:%d", name, addr, EtcdPeerPort))
	}
	for _, m := range ms {
		m.initialPeers = strings.Join(peers, ",")
		mdir := filepath.Dir(filepath.Dir(m.walDir))
		m.slow, m.slowErr = mountSlowFsync(filepath.Join(mdir, "walfs-backing"), filepath.Dir(m.walDir))
		if m.slowErr != nil {
			log.Warn().Err(m.slowErr).Str("member", m.Name).Msg("etcd WAL on a plain directory: fsync stalls unavailable")
		}
	}
	return ms
}

// start runs the member's process; it does not wait for it to serve.
func (m *etcdMember) start() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cmd != nil {
		return fmt.Errorf("start etcd member %s: already running (pid %d)", m.Name, m.cmd.Process.Pid)
	}
	for _, d := range []string{m.dataDir, m.walDir, filepath.Dir(m.logFile)} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return fmt.Errorf("start etcd member %s: %w", m.Name, err)
		}
	}
	out, err := os.OpenFile(m.procLog, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("start etcd member %s: %w", m.Name, err)
	}
	defer out.Close()
	cmd := exec.Command(m.bin, "exec-etcd", "--name", m.Name, "--addr", m.Addr,
		"--data-dir", m.dataDir, "--wal-dir", m.walDir, "--initial-cluster", m.initialPeers, "--log-file", m.logFile)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if os.Geteuid() == 0 {
		// Root still, but in the member's own group, which the partition's
		// OUTPUT rule matches (etcdMemberGID).
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: 0, Gid: m.gid, NoSetGroups: true}
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start etcd member %s: %w", m.Name, err)
	}
	m.cmd, m.exited = cmd, make(chan struct{})
	go func(exited chan struct{}) {
		_ = cmd.Wait()
		close(exited)
	}(m.exited)
	return nil
}

// kill SIGKILLs the member's process and waits until it is gone.
func (m *etcdMember) kill(ctx context.Context) error {
	m.mu.Lock()
	cmd, exited := m.cmd, m.exited
	m.cmd = nil
	m.mu.Unlock()
	if cmd == nil {
		return fmt.Errorf("kill etcd member %s: not running", m.Name)
	}
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	select {
	case <-exited:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("kill etcd member %s: pid %d still running: %w", m.Name, cmd.Process.Pid, ctx.Err())
	}
}

// running reports whether the member's process is up.
func (m *etcdMember) running() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.cmd != nil
}

// healthClient for the members' /health.
var memberHealthClient = &http.Client{Timeout: time.Second}

// healthy reports whether the member answers /health with a leader and
// serves reads (etcd's own definition of a healthy member).
func (m *etcdMember) healthy(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.Endpoint+"/health", nil)
	if err != nil {
		return err
	}
	resp, err := memberHealthClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("etcd member %s: /health answered %s", m.Name, resp.Status)
	}
	return nil
}

// waitHealthy waits until every member given is healthy.
func waitHealthy(ctx context.Context, ms ...*etcdMember) error {
	for _, m := range ms {
		var last error
		for {
			if last = m.healthy(ctx); last == nil {
				break
			}
			select {
			case <-m.exitedChan():
				return fmt.Errorf("etcd member %s exited before it was healthy (see %s)", m.Name, m.procLog)
			case <-ctx.Done():
				return fmt.Errorf("etcd member %s not healthy: %w (last: %w)", m.Name, ctx.Err(), last)
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	return nil
}

// exitedChan is closed once the current process has exited (nil channel
// when none runs, which never fires).
func (m *etcdMember) exitedChan() <-chan struct{} {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.exited
}

// close kills the member and unmounts its WAL. A sandbox's etcd data dies
// with it, so there is nothing to stop gracefully for, and a member stopped
// in order after its peers waits for them for seconds.
func (m *etcdMember) close(ctx context.Context) error {
	if m.running() {
		if err := m.kill(ctx); err != nil {
			return err
		}
	}
	if m.slow == nil {
		return nil
	}
	m.slow.SetDelay(0)
	return m.slow.Unmount()
}

// startEtcdCluster starts every member and waits for the cluster to serve.
func startEtcdCluster(ctx context.Context, ms []*etcdMember) error {
	for _, m := range ms {
		if err := m.start(); err != nil {
			return err
		}
	}
	if err := waitHealthy(ctx, ms...); err != nil {
		return fmt.Errorf("start etcd cluster: %w", err)
	}
	return nil
}

// errNoMember names a member that does not exist.
func errNoMember(name string) error {
	return fmt.Errorf("etcd member %q: no such member (etcd1..etcd%d)", name, EtcdMembers)
}
