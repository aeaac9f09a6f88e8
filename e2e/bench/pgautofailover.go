package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/rs/zerolog"
)

// PGAFSettings are pg_auto_failover's failover timings: the monitor's
// pgautofailover.* settings and the keeper's network partition timeout
// (pg_autoctl(5), "pg_auto_failover Configuration").
type PGAFSettings struct {
	HealthCheckPeriodMs     int
	HealthCheckTimeoutMs    int
	HealthCheckMaxRetries   int
	HealthCheckRetryDelayMs int
	UnhealthyTimeoutMs      int // pgautofailover.node_considered_unhealthy_timeout
	PrimaryDemoteTimeoutMs  int
	NetworkPartitionS       int // the keeper's timeout.network_partition_timeout
}

// PGAFDefaults are pg_auto_failover 2.0's defaults, as pg_autoctl(5) lists them.
var PGAFDefaults = PGAFSettings{HealthCheckPeriodMs: 5000, HealthCheckTimeoutMs: 5000, HealthCheckMaxRetries: 2,
	HealthCheckRetryDelayMs: 2000, UnhealthyTimeoutMs: 20000, PrimaryDemoteTimeoutMs: 30000, NetworkPartitionS: 20}

// PGAFTuned shortens every health-check timing to 1 s and the unhealthy
// timeout to 5 s, and keeps the keeper's partition timeout (3 s) below
// the demote timeout (5 s); see pgafTunedBasis.
var PGAFTuned = PGAFSettings{HealthCheckPeriodMs: 1000, HealthCheckTimeoutMs: 1000, HealthCheckMaxRetries: 1,
	HealthCheckRetryDelayMs: 1000, UnhealthyTimeoutMs: 5000, PrimaryDemoteTimeoutMs: 5000, NetworkPartitionS: 3}

// pgafTunedBasis says where PGAFTuned comes from.
const pgafTunedBasis = "pg_auto_failover documents no minimum: pg_autoctl(5) lists these settings as trade-offs. " +
	"Health checks every 1 s with one retry; unhealthy after 5 s without a keeper report (the keeper reports every second); " +
	"the keeper's network_partition_timeout (3 s) kept below primary_demote_timeout (5 s), the ordering that stops a cut-off primary " +
	"before its standby is promoted"

// Validate keeps the one ordering the documented semantics need: a primary
// cut off from the monitor and its standby demotes itself after the keeper's
// network_partition_timeout, and the monitor waits primary_demote_timeout
// before promoting the standby; the first must end before the second, or
// two primaries can accept writes.
func (s PGAFSettings) Validate() error {
	for name, v := range map[string]int{"health_check_period": s.HealthCheckPeriodMs, "health_check_timeout": s.HealthCheckTimeoutMs,
		"health_check_retry_delay": s.HealthCheckRetryDelayMs, "node_considered_unhealthy_timeout": s.UnhealthyTimeoutMs,
		"primary_demote_timeout": s.PrimaryDemoteTimeoutMs, "network_partition_timeout": s.NetworkPartitionS} {
		if v <= 0 {
			return fmt.Errorf("pg_auto_failover %s %d: want > 0", name, v)
		}
	}
	if s.HealthCheckMaxRetries < 0 {
		return fmt.Errorf("pg_auto_failover health_check_max_retries %d: want >= 0", s.HealthCheckMaxRetries)
	}
	if s.NetworkPartitionS*1000 >= s.PrimaryDemoteTimeoutMs {
		return fmt.Errorf("pg_auto_failover: network_partition_timeout %d s must end before primary_demote_timeout %d ms, or a cut-off primary still writes when its standby is promoted", s.NetworkPartitionS, s.PrimaryDemoteTimeoutMs)
	}
	return nil
}

// Settings lists them as the peer table prints them.
func (s PGAFSettings) Settings() []PeerSetting {
	msS := func(v int) string { return fmt.Sprintf("%g s", float64(v)/1000) }
	return []PeerSetting{
		{"health_check_period", msS(s.HealthCheckPeriodMs)}, {"health_check_timeout", msS(s.HealthCheckTimeoutMs)},
		{"health_check_max_retries", fmt.Sprint(s.HealthCheckMaxRetries)}, {"health_check_retry_delay", msS(s.HealthCheckRetryDelayMs)},
		{"node_considered_unhealthy_timeout", msS(s.UnhealthyTimeoutMs)}, {"primary_demote_timeout", msS(s.PrimaryDemoteTimeoutMs)},
		{"network_partition_timeout", fmt.Sprintf("%d s", s.NetworkPartitionS)},
	}
}

// monitorSQL is the monitor's configuration for s, run once after it starts.
func (s PGAFSettings) monitorSQL() []string {
	return []string{
		fmt.Sprintf("ALTER SYSTEM SET pgautofailover.health_check_period = %d", s.HealthCheckPeriodMs),
		fmt.Sprintf("ALTER SYSTEM SET pgautofailover.health_check_timeout = %d", s.HealthCheckTimeoutMs),
		fmt.Sprintf("ALTER SYSTEM SET pgautofailover.health_check_max_retries = %d", s.HealthCheckMaxRetries),
		fmt.Sprintf("ALTER SYSTEM SET pgautofailover.health_check_retry_delay = %d", s.HealthCheckRetryDelayMs),
		fmt.Sprintf("ALTER SYSTEM SET pgautofailover.node_considered_unhealthy_timeout = %d", s.UnhealthyTimeoutMs),
		fmt.Sprintf("ALTER SYSTEM SET pgautofailover.primary_demote_timeout = %d", s.PrimaryDemoteTimeoutMs),
		"SELECT pg_reload_conf()",
	}
}

// pgafCluster is a pg_auto_failover monitor and two data nodes.
type pgafCluster struct {
	monitor *peerHost
	nodes   []*peerHost
	uri     string // the formation's multi-host URI, for the writer
	log     zerolog.Logger
}

// The monitor and each node get a port of their own as well as an address:
// pg_autoctl leaves PostgreSQL's Unix socket in the shared default directory
// (/var/run/postgresql), where two servers on one port would collide.
const (
	pgafMonitorPort = 5440 // nodes: 5441, 5442
	pgafFirstAddr   = 11   // monitor 127.0.3.11, nodes .12 and .13
)

func (c *pgafCluster) monitorDSN() string {
	return fmt.Sprintf("postgres://postgres@%s:%d/pg_auto_failover?sslmode=disable&connect_timeout=2", c.monitor.Addr, pgafMonitorPort)
}

func (c *pgafCluster) monitorURI() string {
	return fmt.Sprintf("postgres://autoctl_node@%s:%d/pg_auto_failover?sslmode=disable", c.monitor.Addr, pgafMonitorPort)
}

// startPGAF creates the monitor and two data nodes in dir; the first node
// becomes the primary and the second its standby (pg_basebackup). HBA is
// left to initdb's loopback trust (--skip-pg-hba): pg_autoctl's own rules
// look the --hostname up among the network interfaces, and 127.0.3.x is
// no interface's address ("Failed to find IP address for hostname").
func startPGAF(ctx context.Context, dir string, s PGAFSettings, log zerolog.Logger) (_ *pgafCluster, err error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	c := &pgafCluster{log: log}
	defer func() {
		if err != nil {
			c.close()
		}
	}()
	pgctl := filepath.Join(pgBinDir, "pg_ctl")
	mk := func(name string, i int) (*peerHost, error) {
		h := &peerHost{Name: fmt.Sprintf("pgaf-%s-%s", filepath.Base(dir), name), Addr: peerAddr(pgafFirstAddr + i), Dir: filepath.Join(dir, name)}
		h.Env = []string{"XDG_CONFIG_HOME=" + filepath.Join(h.Dir, "config"), "XDG_DATA_HOME=" + filepath.Join(h.Dir, "share"), "PGHOST=" + h.Addr}
		return h, ownDir(h.Dir)
	}
	if c.monitor, err = mk("monitor", 0); err != nil {
		return nil, err
	}
	mdata := filepath.Join(c.monitor.Dir, "data")
	if _, err := c.monitor.run(ctx, 2*time.Minute, "pg_autoctl", "create", "monitor", "--pgdata", mdata, "--pgport", fmt.Sprint(pgafMonitorPort),
		"--hostname", c.monitor.Addr, "--skip-pg-hba", "--no-ssl", "--pgctl", pgctl); err != nil {
		return nil, err
	}
	c.monitor.Args = []string{"pg_autoctl", "run", "--pgdata", mdata}
	if err := c.monitor.start(); err != nil {
		return nil, err
	}
	if err := c.monitorExec(ctx, s.monitorSQL()...); err != nil {
		return nil, c.withLog(err, c.monitor)
	}
	for i := 1; i <= 2; i++ {
		h, err := mk(fmt.Sprintf("node%d", i), i)
		if err != nil {
			return nil, err
		}
		data := filepath.Join(h.Dir, "data")
		// create --run stays as the node's supervisor: a standby's creation
		// needs the service running to finish.
		h.Args = []string{"pg_autoctl", "create", "postgres", "--pgdata", data, "--pgport", fmt.Sprint(pgafMonitorPort + i), "--listen", h.Addr,
			"--hostname", h.Addr, "--name", fmt.Sprintf("node%d", i), "--monitor", c.monitorURI(), "--skip-pg-hba", "--no-ssl", "--pgctl", pgctl, "--run"}
		if err := h.start(); err != nil {
			return nil, err
		}
		c.nodes = append(c.nodes, h)
		want := map[int]string{1: "single", 2: "secondary"}[i]
		if err := waitUntil(ctx, 3*time.Minute, fmt.Sprintf("pg_auto_failover node%d to reach %s", i, want), func() bool {
			st, _ := c.states(ctx)
			return st[fmt.Sprintf("node%d", i)] == want+"/"+want
		}); err != nil {
			return nil, c.withLog(err, c.monitor, h)
		}
		// Read at the keeper's next start: every node is restarted with
		// `pg_autoctl run` once it has been killed.
		if _, err := h.run(ctx, time.Minute, "pg_autoctl", "config", "set", "--pgdata", data, "timeout.network_partition_timeout", fmt.Sprint(s.NetworkPartitionS)); err != nil {
			return nil, err
		}
		h.runArgs = []string{"pg_autoctl", "run", "--pgdata", data}
	}
	out, err := c.monitor.run(ctx, time.Minute, "pg_autoctl", "show", "uri", "--formation", "default", "--pgdata", mdata)
	if err != nil {
		return nil, err
	}
	c.uri = formationURI(lastLines(out, 1))
	return c, nil
}

// formationURI adds the writer's user and connect timeout to the URI
// `pg_autoctl show uri --formation default` prints.
func formationURI(uri string) string {
	sep := "?"
	if strings.Contains(uri, "?") {
		sep = "&"
	}
	return uri + sep + "user=postgres&connect_timeout=2"
}

func (c *pgafCluster) monitorExec(ctx context.Context, stmts ...string) error {
	var last error
	err := waitUntil(ctx, time.Minute, "the pg_auto_failover monitor to take its settings", func() bool {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		conn, err := pgx.Connect(cctx, c.monitorDSN())
		if err != nil {
			last = err
			return false
		}
		defer conn.Close(context.WithoutCancel(ctx))
		for _, q := range stmts {
			if _, err := conn.Exec(cctx, q); err != nil {
				last = fmt.Errorf("%s: %w", q, err)
				return false
			}
		}
		return true
	})
	if err != nil {
		return fmt.Errorf("%w (last: %v)", err, last)
	}
	return nil
}

// states reads the monitor's view: node name → "reported/goal".
func (c *pgafCluster) states(ctx context.Context) (map[string]string, error) {
	cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	conn, err := pgx.Connect(cctx, c.monitorDSN())
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	rows, err := conn.Query(cctx, "SELECT nodename, reportedstate::text, goalstate::text FROM pgautofailover.node WHERE formationid = 'default'")
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for rows.Next() {
		var n, rep, goal string
		if err := rows.Scan(&n, &rep, &goal); err != nil {
			return nil, err
		}
		out[n] = rep + "/" + goal
	}
	return out, rows.Err()
}

func (c *pgafCluster) nodeByName(name string) *peerHost {
	for i, h := range c.nodes {
		if name == fmt.Sprintf("node%d", i+1) {
			return h
		}
	}
	return nil
}

func (c *pgafCluster) ready(ctx context.Context) (*peerHost, error) {
	var primary *peerHost
	err := waitUntil(ctx, 4*time.Minute, "the pg_auto_failover monitor to report one node primary/primary and the other secondary/secondary", func() bool {
		st, err := c.states(ctx)
		if err != nil {
			return false
		}
		primary = nil
		secondaries := 0
		for n, s := range st {
			switch s {
			case "primary/primary":
				primary = c.nodeByName(n)
			case "secondary/secondary":
				secondaries++
			}
		}
		return primary != nil && secondaries == 1
	})
	if err != nil {
		st, _ := c.states(ctx)
		return nil, c.withLog(fmt.Errorf("%w (states %v)", err, st), append([]*peerHost{c.monitor}, c.nodes...)...)
	}
	return primary, nil
}

// dsn is the formation's multi-host URI with target_session_attrs=read-write:
// libpq-style clients try each host until one accepts writes.
func (c *pgafCluster) dsn() (string, bool) { return c.uri, true }

func (c *pgafCluster) hostOf(string) string {
	st, err := c.states(context.Background())
	if err != nil {
		return "unknown: " + err.Error()
	}
	for n, s := range st {
		if strings.HasPrefix(s, "primary/") || strings.HasPrefix(s, "wait_primary/") || strings.HasPrefix(s, "single/") {
			if h := c.nodeByName(n); h != nil {
				return h.Name
			}
		}
	}
	return fmt.Sprintf("no primary in %v", st)
}

func (c *pgafCluster) revive(_ context.Context, h *peerHost) error {
	if len(h.runArgs) > 0 {
		h.Args = h.runArgs
	}
	return h.start()
}

func (c *pgafCluster) withLog(err error, hs ...*peerHost) error {
	var tails []string
	for _, h := range hs {
		if b, rerr := os.ReadFile(h.logPath()); rerr == nil {
			tails = append(tails, h.Name+": "+errorLines(string(b), 8))
		}
	}
	return fmt.Errorf("%w\n%s", err, strings.Join(tails, "\n"))
}

func (c *pgafCluster) close() {
	for _, h := range c.nodes {
		_ = h.kill()
	}
	if c.monitor != nil {
		_ = c.monitor.kill()
	}
}

// pgautoctlVersion asks the installed pg_autoctl for its version.
func pgautoctlVersion(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "pg_autoctl", "--version").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("pg_autoctl --version: %w: %s", err, strings.TrimSpace(string(out)))
	}
	return strings.TrimSpace(strings.SplitN(string(out), "\n", 2)[0]), nil
}

// RunPGAF measures one pg_auto_failover row: a fresh monitor and two nodes
// at s, the primary's host killed runs times.
func RunPGAF(ctx context.Context, dir, label, basis string, s PGAFSettings, runs int, log zerolog.Logger) PeerRow {
	return measureRow(ctx, PeerRow{Tool: "pg_auto_failover", Label: label, Settings: s.Settings(), Basis: basis}, pgautoctlVersion,
		func() (*pgafCluster, error) { return startPGAF(ctx, dir, s, log) }, runs, log)
}
