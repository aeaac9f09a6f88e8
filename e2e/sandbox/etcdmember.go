package sandbox

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"go.etcd.io/etcd/server/v3/embed"
)

// Fixed ports on every etcd member's address, as on a real member.
const (
	EtcdClientPort = 2379
	EtcdPeerPort   = 2380
)

// EtcdMemberOptions is one member of the sandbox's etcd cluster, as the
// exec-etcd command runs it.
type EtcdMemberOptions struct {
	// Name is the member name, one of InitialCluster's.
	Name string
	// Addr is the member's own loopback address: it serves clients on
	// Addr:2379 and peers on Addr:2380.
	Addr string
	// DataDir holds the member's snapshot and bbolt database.
	DataDir string
	// WALDir holds its write-ahead log: the sandbox's fsync-delaying mount
	// when it has one.
	WALDir string
	// InitialCluster is name=peerURL,... of every member.
	InitialCluster string
	// LogFile receives etcd's log.
	LogFile string
}

// Validate names the first bad field.
func (o EtcdMemberOptions) Validate() error {
	switch {
	case o.Name == "":
		return errors.New("name: must be set")
	case o.Addr == "" || !strings.HasPrefix(o.Addr, "127."):
		return fmt.Errorf("addr: %q must be a loopback address", o.Addr)
	case o.DataDir == "" || !filepath.IsAbs(o.DataDir):
		return fmt.Errorf("data-dir: %q must be an absolute path", o.DataDir)
	case o.WALDir == "" || !filepath.IsAbs(o.WALDir):
		return fmt.Errorf("wal-dir: %q must be an absolute path", o.WALDir)
	case !strings.Contains(o.InitialCluster, o.Name+"="):
		return fmt.Errorf("initial-cluster: %q does not name member %q", o.InitialCluster, o.Name)
	}
	return nil
}

// RunEtcdMember runs one embedded etcd member until ctx ends or etcd fails.
// A restart on the same DataDir rejoins the cluster from its own log.
func RunEtcdMember(ctx context.Context, o EtcdMemberOptions) error {
	if err := o.Validate(); err != nil {
		return fmt.Errorf("etcd member: %w", err)
	}
	cfg := embed.NewConfig()
	cfg.Name, cfg.Dir, cfg.WalDir = o.Name, o.DataDir, o.WALDir
	cfg.LogLevel = "warn"
	cfg.LogOutputs = []string{"stderr"}
	if o.LogFile != "" {
		cfg.LogOutputs = []string{o.LogFile}
	}
	client := url.URL{Scheme: "http", Host: fmt.Sprintf("%s:%d", o.Addr, EtcdClientPort)}
	peer := url.URL{Scheme: "http", Host: fmt.Sprintf("%s:%d", o.Addr, EtcdPeerPort)}
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{client}, []url.URL{client}
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{peer}, []url.URL{peer}
	// Serve /metrics (wal_fsync_duration_seconds) on the client port.
	cfg.Metrics = "basic"
	cfg.InitialCluster = o.InitialCluster
	cfg.InitialClusterToken = "volfailover-sandbox"
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return fmt.Errorf("etcd member %s: start: %w", o.Name, err)
	}
	defer e.Close()
	select {
	case err := <-e.Err():
		return fmt.Errorf("etcd member %s: %w", o.Name, err)
	case <-ctx.Done():
		return nil
	}
}

// RunExecEtcd is the exec-etcd command line: the sandbox runs each etcd
// member as a child process of SandboxBin, so a kill is a real SIGKILL and
// a restart reopens the member's data directory. It returns the exit code.
func RunExecEtcd(ctx context.Context, args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("exec-etcd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o EtcdMemberOptions
	fs.StringVar(&o.Name, "name", "", "member name")
	fs.StringVar(&o.Addr, "addr", "", "member address (clients on :2379, peers on :2380)")
	fs.StringVar(&o.DataDir, "data-dir", "", "data directory")
	fs.StringVar(&o.WALDir, "wal-dir", "", "write-ahead log directory")
	fs.StringVar(&o.InitialCluster, "initial-cluster", "", "name=peerURL,... of every member")
	fs.StringVar(&o.LogFile, "log-file", "", "etcd's log (default stderr)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 0 {
		fmt.Fprintf(stderr, "exec-etcd: unexpected arguments %q\n", fs.Args())
		return 2
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := RunEtcdMember(ctx, o); err != nil {
		fmt.Fprintf(stderr, "exec-etcd: %v\n", err)
		return 1
	}
	return 0
}
