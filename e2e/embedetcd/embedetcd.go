// Package embedetcd runs a single-member etcd inside the process, on loopback ports the
// kernel picks. The tests, the sandbox and the benchmarks all need a real etcd (never a
// fake KV), and starting one has a few sharp edges — the peer URL must match the
// initial cluster, readiness must be awaited, the log must go somewhere quiet — that are
// better handled once.
package embedetcd

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/goleak"
)

// Config says where the member keeps its data and its log.
type Config struct {
	// Dir holds the member's data; it is created if missing. Required.
	Dir string
	// LogFile receives etcd's own log; "" discards it.
	LogFile string
	// LogLevel is etcd's log level: debug, info, warn, error, panic. Default "error".
	LogLevel string
	// Name is the member name. Default "default".
	Name string
	// NoGateway turns off etcd's v3 HTTP gateway, which gRPC clients never need.
	// A package's shared test member goes without it: the gateway's handler reads
	// os.Stderr on a goroutine of its own while testing.M.Run, under go test -json,
	// replaces os.Stderr, and the race detector reports the pair.
	NoGateway bool
	// ClientAddr is the client listener's host:port; default 127.0.0.1 on a
	// port the kernel picks. etcd's v3 HTTP gateway dials the configured
	// address, not the bound one, so a client of the gateway (Patroni's
	// etcd3 support) needs a fixed port.
	ClientAddr string
}

// Server is a running member. Close it when done.
type Server struct {
	etcd *embed.Etcd
	// Endpoint is the client URL, http://127.0.0.1:PORT.
	Endpoint string
}

// Start starts the member and returns once it serves clients, or when ctx ends.
func Start(ctx context.Context, c Config) (*Server, error) {
	if c.Dir == "" {
		return nil, fmt.Errorf("start etcd: Config.Dir is empty")
	}
	switch c.LogLevel {
	case "", "debug", "info", "warn", "error", "panic":
	default:
		// etcd panics on a level it does not know; say so instead.
		return nil, fmt.Errorf("start etcd: Config.LogLevel %q is not one of debug, info, warn, error, panic", c.LogLevel)
	}
	if err := os.MkdirAll(c.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("start etcd: create %s: %w", c.Dir, err)
	}
	cfg := embed.NewConfig()
	if c.Name != "" {
		cfg.Name = c.Name
	}
	cfg.Dir = c.Dir
	cfg.EnableGRPCGateway = !c.NoGateway
	cfg.LogLevel = "error"
	if c.LogLevel != "" {
		cfg.LogLevel = c.LogLevel
	}
	cfg.LogOutputs = []string{"/dev/null"}
	if c.LogFile != "" {
		if err := os.MkdirAll(filepath.Dir(c.LogFile), 0o755); err != nil {
			return nil, fmt.Errorf("start etcd: create log dir: %w", err)
		}
		cfg.LogOutputs = []string{c.LogFile}
	}
	lo := url.URL{Scheme: "http", Host: "127.0.0.1:0"}
	client := lo
	if c.ClientAddr != "" {
		if _, _, err := net.SplitHostPort(c.ClientAddr); err != nil {
			return nil, fmt.Errorf("start etcd: Config.ClientAddr %q: %w", c.ClientAddr, err)
		}
		client.Host = c.ClientAddr
	}
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{client}, []url.URL{client}
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{lo}, []url.URL{lo}
	cfg.InitialCluster = cfg.Name + "=" + lo.String()
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return nil, fmt.Errorf("start etcd in %s: %w", c.Dir, err)
	}
	select {
	case <-e.Server.ReadyNotify():
	case err := <-e.Err():
		e.Close()
		return nil, fmt.Errorf("start etcd in %s: %w", c.Dir, err)
	case <-ctx.Done():
		e.Close()
		return nil, fmt.Errorf("start etcd in %s: not ready: %w", c.Dir, ctx.Err())
	}
	return &Server{etcd: e, Endpoint: "http://" + e.Clients[0].Addr().String()}, nil
}

// Close stops the member and waits for it.
func (s *Server) Close() {
	s.etcd.Close()
}

// StartForTests starts a member in a fresh temporary directory, for a TestMain that
// shares one etcd across a package's tests; stop removes the directory too. A member
// that is not ready within 30 s is an error, not a hang.
func StartForTests(prefix string) (srv *Server, stop func(), err error) {
	dir, err := os.MkdirTemp("", prefix+"-etcd-")
	if err != nil {
		return nil, nil, fmt.Errorf("start test etcd: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	srv, err = Start(ctx, Config{Dir: filepath.Join(dir, "data"), LogLevel: "panic", NoGateway: true})
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, nil, err
	}
	return srv, func() {
		srv.Close()
		_ = os.RemoveAll(dir)
	}, nil
}

// RunTests is the body of a TestMain whose tests share one member: it starts the
// member, stores its endpoint in *endpoint, runs the tests, stops the member and,
// when the tests passed, fails the binary on goroutines that outlived them.
func RunTests(m *testing.M, prefix string, endpoint *string) int {
	baseline := goleak.IgnoreCurrent()
	srv, stop, err := StartForTests(prefix)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	*endpoint = srv.Endpoint
	code := m.Run()
	stop()
	if code == 0 {
		if err := goleak.Find(baseline); err != nil {
			fmt.Fprintln(os.Stderr, "goroutine leak:", err)
			return 1
		}
	}
	return code
}
