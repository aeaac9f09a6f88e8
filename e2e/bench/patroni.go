package bench

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/volfailover/volfailover/e2e/embedetcd"
)

// PatroniSettings are the three timings of Patroni's dynamic configuration
// that decide how soon a replica replaces a dead leader.
type PatroniSettings struct {
	TTL, LoopWait, RetryTimeout int // seconds
}

// Validate applies the rule Patroni's documentation gives for these
// settings (dynamic_configuration: "loop_wait + 2 * retry_timeout <= ttl").
func (s PatroniSettings) Validate() error {
	switch {
	case s.TTL <= 0 || s.LoopWait <= 0 || s.RetryTimeout <= 0:
		return fmt.Errorf("patroni settings %+v: every value must be positive", s)
	case s.LoopWait+2*s.RetryTimeout > s.TTL:
		return fmt.Errorf("patroni settings: loop_wait %d + 2 × retry_timeout %d = %d exceeds ttl %d", s.LoopWait, s.RetryTimeout, s.LoopWait+2*s.RetryTimeout, s.TTL)
	}
	return nil
}

// Settings lists them as the peer table prints them.
func (s PatroniSettings) Settings() []PeerSetting {
	return []PeerSetting{{"ttl", fmt.Sprintf("%d s", s.TTL)}, {"loop_wait", fmt.Sprintf("%d s", s.LoopWait)}, {"retry_timeout", fmt.Sprintf("%d s", s.RetryTimeout)}}
}

// patroniNode is what one node's configuration file needs.
type patroniNode struct {
	Scope, Name, Addr, DataDir, SocketDir, BinDir, Etcd string
	RESTPort, PGPort                                    int
}

// patroniConfig renders a node's Patroni YAML: etcd3 as the DCS, streaming
// replication with pg_rewind so a killed leader can rejoin, and trust on
// loopback (benchmark only). Keys follow Patroni 3.0's YAML configuration
// reference (docs/yaml_configuration.rst).
func patroniConfig(n patroniNode, s PatroniSettings) string {
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	p("scope: %s\nnamespace: /service/\nname: %s\n", n.Scope, n.Name)
	p("restapi:\n  listen: %s:%d\n  connect_address: %s:%d\n", n.Addr, n.RESTPort, n.Addr, n.RESTPort)
	p("etcd3:\n  hosts: %s\n", n.Etcd)
	p("log:\n  level: INFO\n")
	p("bootstrap:\n  dcs:\n    ttl: %d\n    loop_wait: %d\n    retry_timeout: %d\n", s.TTL, s.LoopWait, s.RetryTimeout)
	p("    maximum_lag_on_failover: 1048576\n    postgresql:\n      use_pg_rewind: true\n      use_slots: true\n")
	p("      parameters:\n        wal_log_hints: 'on'\n        max_wal_senders: 5\n        max_replication_slots: 5\n")
	p("  initdb:\n  - encoding: UTF8\n  - locale: C\n")
	p("postgresql:\n  listen: %s:%d\n  connect_address: %s:%d\n", n.Addr, n.PGPort, n.Addr, n.PGPort)
	p("  data_dir: %s\n  bin_dir: %s\n  pgpass: %s\n", n.DataDir, n.BinDir, filepath.Join(filepath.Dir(n.DataDir), "pgpass"))
	p("  remove_data_directory_on_rewind_failure: true\n  remove_data_directory_on_diverged_timelines: true\n")
	p("  authentication:\n    superuser:\n      username: postgres\n    replication:\n      username: postgres\n    rewind:\n      username: postgres\n")
	p("  parameters:\n    unix_socket_directories: '%s'\n", n.SocketDir)
	p("  pg_hba:\n  - local all all trust\n  - host all all 127.0.0.0/8 trust\n  - host replication all 127.0.0.0/8 trust\n")
	return b.String()
}

// patroniCluster is two Patroni nodes on an embedded etcd.
type patroniCluster struct {
	etcd  *embedetcd.Server
	nodes []*peerHost
	http  *http.Client
	log   zerolog.Logger
}

const (
	patroniRESTPort = 8008
	peerPGPort      = 5432
	pgBinDir        = "/usr/lib/postgresql/15/bin"
)

// peerAddr is peer host i's loopback address: 127.0.3.i, a range no
// sandbox host uses (the sandbox takes 127.0.1.x and 127.<subnet>.x).
func peerAddr(i int) string { return fmt.Sprintf("127.0.3.%d", i) }

func pgDSN(addr string, port int) string {
	return fmt.Sprintf("postgres://postgres@%s:%d/postgres?sslmode=disable&connect_timeout=2", addr, port)
}

// startPatroni brings up etcd and two Patroni nodes in dir; node 1 bootstraps
// the cluster and node 2 clones it with pg_basebackup.
func startPatroni(ctx context.Context, dir string, s PatroniSettings, log zerolog.Logger) (_ *patroniCluster, err error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	c := &patroniCluster{http: &http.Client{Timeout: 500 * time.Millisecond}, log: log}
	defer func() {
		if err != nil {
			c.close()
		}
	}()
	if c.etcd, err = embedetcd.Start(ctx, embedetcd.Config{Name: "patroni", ClientAddr: net.JoinHostPort(peerAddr(100), "2379"), Dir: filepath.Join(dir, "etcd", "data"), LogFile: filepath.Join(dir, "etcd", "etcd.log")}); err != nil {
		return nil, err
	}
	etcdHost := strings.TrimPrefix(c.etcd.Endpoint, "http://")
	for i := 1; i <= 2; i++ {
		h := &peerHost{Name: fmt.Sprintf("patroni-%s-%d", filepath.Base(dir), i), Addr: peerAddr(i), Dir: filepath.Join(dir, fmt.Sprintf("node%d", i))}
		for _, d := range []string{h.Dir, filepath.Join(h.Dir, "run")} {
			if err := ownDir(d); err != nil {
				return nil, err
			}
		}
		cfg := patroniConfig(patroniNode{Scope: "bench", Name: fmt.Sprintf("node%d", i), Addr: h.Addr, DataDir: filepath.Join(h.Dir, "data"),
			SocketDir: filepath.Join(h.Dir, "run"), BinDir: pgBinDir, Etcd: etcdHost, RESTPort: patroniRESTPort, PGPort: peerPGPort}, s)
		path := filepath.Join(h.Dir, "patroni.yml")
		if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
			return nil, fmt.Errorf("write %s: %w", path, err)
		}
		h.Args = []string{"patroni", path}
		c.nodes = append(c.nodes, h)
	}
	if err := c.nodes[0].start(); err != nil {
		return nil, err
	}
	if err := waitUntil(ctx, 2*time.Minute, "patroni node1 to bootstrap and lead", func() bool { return c.role(c.nodes[0]) == "primary" }); err != nil {
		return nil, c.withLog(err, c.nodes[0])
	}
	if err := c.nodes[1].start(); err != nil {
		return nil, err
	}
	return c, nil
}

// role asks a node's REST API what it is: "primary", "replica" or "".
func (c *patroniCluster) role(h *peerHost) string {
	for _, r := range []string{"primary", "replica"} {
		resp, err := c.http.Get(fmt.Sprintf("http://%s/%s", net.JoinHostPort(h.Addr, fmt.Sprint(patroniRESTPort)), r))
		if err != nil {
			continue
		}
		_ = resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			return r
		}
	}
	return ""
}

func (c *patroniCluster) ready(ctx context.Context) (*peerHost, error) {
	var primary *peerHost
	err := waitUntil(ctx, 3*time.Minute, "one patroni node answering /primary and the other /replica", func() bool {
		primary = nil
		replicas := 0
		for _, h := range c.nodes {
			switch c.role(h) {
			case "primary":
				primary = h
			case "replica":
				replicas++
			}
		}
		return primary != nil && replicas == 1
	})
	if err != nil {
		return nil, c.withLog(err, c.nodes...)
	}
	return primary, nil
}

// dsn follows the leader the way a Patroni user's proxy does: the node
// whose REST API answers /primary with 200 (HAProxy's check in Patroni's
// examples). It asks on every reconnect instead of every few seconds.
func (c *patroniCluster) dsn() (string, bool) {
	for _, h := range c.nodes {
		resp, err := c.http.Get(fmt.Sprintf("http://%s/primary", net.JoinHostPort(h.Addr, fmt.Sprint(patroniRESTPort))))
		if err != nil {
			continue
		}
		_ = resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			return pgDSN(h.Addr, peerPGPort), true
		}
	}
	return "", false
}

func (c *patroniCluster) hostOf(dsn string) string {
	for _, h := range c.nodes {
		if strings.Contains(dsn, "@"+h.Addr+":") {
			return h.Name
		}
	}
	return dsn
}

func (c *patroniCluster) revive(_ context.Context, h *peerHost) error { return h.start() }

func (c *patroniCluster) withLog(err error, hs ...*peerHost) error {
	var tails []string
	for _, h := range hs {
		if b, rerr := os.ReadFile(h.logPath()); rerr == nil {
			tails = append(tails, h.Name+": "+errorLines(string(b), 8))
		}
	}
	return fmt.Errorf("%w\n%s", err, strings.Join(tails, "\n"))
}

func (c *patroniCluster) close() {
	for _, h := range c.nodes {
		_ = h.kill()
	}
	if c.etcd != nil {
		c.etcd.Close()
	}
}

// patroniVersion asks the installed patroni for its version.
func patroniVersion(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "patroni", "--version").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("patroni --version: %w: %s", err, strings.TrimSpace(string(out)))
	}
	return strings.TrimSpace(string(out)), nil
}

// RunPatroni measures one Patroni row: a fresh two-node cluster at s, its
// leader's host killed runs times.
func RunPatroni(ctx context.Context, dir, label, basis string, s PatroniSettings, runs int, log zerolog.Logger) PeerRow {
	return measureRow(ctx, PeerRow{Tool: "Patroni", Label: label, Settings: s.Settings(), Basis: basis}, patroniVersion,
		func() (*patroniCluster, error) { return startPatroni(ctx, dir, s, log) }, runs, log)
}
