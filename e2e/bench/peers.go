package bench

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/rs/zerolog"

	"github.com/volfailover/volfailover/e2e/sandbox"
)

// PeerSetting is one configuration value a peer row ran with.
type PeerSetting struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// PeerRun is one kill of a peer cluster's primary host.
type PeerRun struct {
	From       string  `json:"from"`
	To         string  `json:"to"`
	RecoveryMs float64 `json:"recoveryMs"`
	AckedRows  int     `json:"ackedRows"`
	LostRows   int     `json:"lostRows"`
}

// PeerRow is one line of the peer table: a tool at one set of settings.
type PeerRow struct {
	// Tool is "volfailover", "Patroni" or "pg_auto_failover"; Label says
	// which settings ("defaults", "tuned", a profile).
	Tool    string `json:"tool"`
	Label   string `json:"label"`
	Version string `json:"version"`
	// Settings are printed beside the result; Basis says where they come from.
	Settings []PeerSetting `json:"settings"`
	Basis    string        `json:"basis"`
	Runs     []PeerRun     `json:"runs,omitempty"`
	Recovery Summary       `json:"recovery"`
	Acked    int           `json:"ackedRows"`
	Lost     int           `json:"lostRows"`
	// Error is why the row has no measurement: the exact error and what was tried.
	Error string `json:"error,omitempty"`
	// Measured and Commit say when and from which source tree the row was measured.
	Measured time.Time `json:"measured"`
	Commit   string    `json:"commit,omitempty"`
}

// PeersResult is the peer benchmark: volfailover and the peers it is
// compared with, measured on the same machine in the same run.
type PeersResult struct {
	Measured time.Time `json:"measured"`
	Commit   string    `json:"commit"`
	Rows     []PeerRow `json:"rows"`
}

// Merge puts rows in, replacing those of the same tool and label, and keeps
// the table's order: volfailover's rows first, then the peer plans'.
func (p *PeersResult) Merge(rows []PeerRow) {
	for i := range p.Rows {
		if p.Rows[i].Measured.IsZero() {
			p.Rows[i].Measured, p.Rows[i].Commit = p.Measured, p.Commit
		}
	}
	for _, r := range rows {
		if old := p.Row(r.Tool, r.Label); old != nil {
			*old = r
			continue
		}
		p.Rows = append(p.Rows, r)
	}
	rank := map[string]int{"volfailover instant": 0, "volfailover aws-typical": 1}
	for i, pl := range PeerPlans() {
		rank[pl.Tool+" "+pl.Label] = 2 + i
	}
	slices.SortStableFunc(p.Rows, func(a, b PeerRow) int { return rank[a.Tool+" "+a.Label] - rank[b.Tool+" "+b.Label] })
	p.Measured, p.Commit = time.Time{}, ""
	for _, r := range p.Rows {
		if r.Measured.After(p.Measured) {
			p.Measured, p.Commit = r.Measured, r.Commit
		}
	}
}

// Row returns the row of tool and label, or nil.
func (p *PeersResult) Row(tool, label string) *PeerRow {
	for i := range p.Rows {
		if p.Rows[i].Tool == tool && p.Rows[i].Label == label {
			return &p.Rows[i]
		}
	}
	return nil
}

// PeerRatio is volfailover's median recovery divided by a peer row's.
type PeerRatio struct {
	Peer  string  `json:"peer"`
	Ratio float64 `json:"ratio"`
}

// Ratios divides base's p50 by every measured peer row's p50 (rows without
// runs or of volfailover itself are skipped). Below 1 volfailover is faster.
func (p *PeersResult) Ratios(base *PeerRow) []PeerRatio {
	if base == nil || base.Recovery.N == 0 {
		return nil
	}
	var out []PeerRatio
	for _, r := range p.Rows {
		if r.Tool == base.Tool || r.Recovery.N == 0 || r.Recovery.P50ms <= 0 {
			continue
		}
		out = append(out, PeerRatio{Peer: r.Tool + " " + r.Label, Ratio: base.Recovery.P50ms / r.Recovery.P50ms})
	}
	return out
}

// settingsText renders settings as "a 1, b 2".
func settingsText(s []PeerSetting) string {
	parts := make([]string, len(s))
	for i, x := range s {
		parts[i] = x.Name + " " + x.Value
	}
	return strings.Join(parts, ", ")
}

// summarizeRow fills a row's summary and row counts from its runs.
func summarizeRow(r *PeerRow) {
	ds := make([]time.Duration, len(r.Runs))
	r.Acked, r.Lost = 0, 0
	for i, run := range r.Runs {
		ds[i] = fromMs(run.RecoveryMs)
		r.Acked += run.AckedRows
		r.Lost += run.LostRows
	}
	r.Recovery = Summarize(ds)
}

// VolfailoverRow turns a recovery result into a peer table row.
func VolfailoverRow(x *RecoveryResult, version string) PeerRow {
	r := PeerRow{Tool: "volfailover", Label: x.Profile, Version: version,
		Settings: []PeerSetting{{"profile", x.Profile}, {"probe/witness defaults", "as shipped"}},
		Basis:    "the recovery benchmark's sandbox (section 1), same run"}
	for _, run := range x.Runs {
		r.Runs = append(r.Runs, PeerRun{From: run.From, To: run.To, RecoveryMs: run.RecoveryMs, AckedRows: run.AckedRows, LostRows: run.LostRows})
	}
	summarizeRow(&r)
	return r
}

// peerCluster is a running peer setup the measurement loop drives.
type peerCluster interface {
	// ready waits until the primary and a streaming replica are healthy and
	// returns the primary's host.
	ready(ctx context.Context) (*peerHost, error)
	// dsn is where the writer connects now, following the tool's own way
	// of finding the primary.
	dsn() (string, bool)
	// revive restarts a killed host; it rejoins as a replica.
	revive(ctx context.Context, h *peerHost) error
	// hostOf names the host whose Postgres a DSN reaches.
	hostOf(dsn string) string
}

// measureRow fills row: the tool's version, then a fresh cluster from start
// with its primary's host killed runs times. What fails is said in the row,
// so a peer that cannot run here still shows, with why.
func measureRow[C interface {
	peerCluster
	close()
}](ctx context.Context, row PeerRow, version func(context.Context) (string, error), start func() (C, error), runs int, log zerolog.Logger) PeerRow {
	v, err := version(ctx)
	if err != nil {
		row.Error = err.Error()
		return row
	}
	row.Version = v
	c, err := start()
	if err != nil {
		row.Error = "start: " + err.Error()
		return row
	}
	defer c.close()
	if err := measurePeer(ctx, c, &row, runs, log); err != nil {
		row.Error = err.Error()
	}
	return row
}

// measurePeer kills the primary's host runs times while the writer inserts
// one row per autocommit transaction, and measures from the kill to the
// writer's first acknowledged commit on the new primary.
func measurePeer(ctx context.Context, c peerCluster, row *PeerRow, runs int, log zerolog.Logger) error {
	for i := range runs {
		run, err := killPrimaryOnce(ctx, c)
		if err != nil {
			return fmt.Errorf("%s %s run %d: %w", row.Tool, row.Label, i+1, err)
		}
		log.Info().Str("peer", row.Tool).Str("settings", row.Label).Int("run", i+1).Float64("recoveryMs", run.RecoveryMs).Int("lostRows", run.LostRows).Msg("peer failover measured")
		row.Runs = append(row.Runs, run)
	}
	summarizeRow(row)
	return nil
}

// waitStreaming waits until the primary reports a replica streaming from
// it, so that every run starts from the replicated steady state.
func waitStreaming(ctx context.Context, name, dsn string) error {
	var last error
	err := waitUntil(ctx, 2*time.Minute, "a replica streaming from "+name, func() bool {
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		conn, err := pgx.Connect(cctx, dsn)
		if err != nil {
			last = err
			return false
		}
		defer conn.Close(context.WithoutCancel(ctx))
		var n int
		if last = conn.QueryRow(cctx, "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'").Scan(&n); last != nil {
			return false
		}
		return n > 0
	})
	if err != nil && last != nil {
		return fmt.Errorf("%w (last: %v)", err, last)
	}
	return err
}

func killPrimaryOnce(ctx context.Context, c peerCluster) (PeerRun, error) {
	var r PeerRun
	primary, err := c.ready(ctx)
	if err != nil {
		return r, err
	}
	r.From = primary.Name
	table := fmt.Sprintf("%s_%d", writerTable, time.Now().UnixNano())
	wr := &sandbox.Writer{Table: table, DSN: c.dsn, Retry: 20 * time.Millisecond}
	dsn, ok := c.dsn()
	if !ok {
		return r, fmt.Errorf("no primary to create %s on", table)
	}
	if err := waitStreaming(ctx, primary.Name, dsn); err != nil {
		return r, err
	}
	if err := wr.EnsureTableAt(ctx, primary.Name, dsn); err != nil {
		return r, err
	}
	wctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		_ = wr.Run(wctx)
	}()
	defer func() { stop(); wg.Wait() }()
	if err := waitUntil(ctx, 30*time.Second, "20 acknowledged rows before the kill", func() bool { return len(wr.Acked()) >= 20 }); err != nil {
		return r, err
	}
	t0 := time.Now()
	if err := primary.kill(); err != nil {
		return r, err
	}
	var back time.Time
	err = waitUntil(ctx, 4*time.Minute, "a commit on the new primary after killing "+primary.Name, func() bool {
		for _, g := range wr.Gaps() {
			if g.To.After(t0) {
				back = g.To
				return true
			}
		}
		return false
	})
	if err != nil {
		return r, err
	}
	stop()
	wg.Wait()
	r.RecoveryMs = ms(back.Sub(t0))
	if dsn, ok = c.dsn(); !ok {
		return r, fmt.Errorf("the new primary vanished before its rows were checked")
	}
	r.To = c.hostOf(dsn)
	acked := wr.Acked()
	missing, _, err := sandbox.VerifyRowsAt(ctx, r.To, dsn, table, acked)
	if err != nil {
		return r, err
	}
	r.AckedRows, r.LostRows = len(acked), len(missing)
	if err := c.revive(ctx, primary); err != nil {
		return r, fmt.Errorf("revive %s: %w", primary.Name, err)
	}
	return r, nil
}

// Documentation the peer settings come from; the page cites them.
const (
	patroniDocsURL = "https://patroni.readthedocs.io/en/latest/dynamic_configuration.html"
	pgafDocsURL    = "https://pg-auto-failover.readthedocs.io/en/main/ref/configuration.html"
)

// PeerPlan is one peer row to measure.
type PeerPlan struct {
	Tool, Label, Basis string
	Patroni            *PatroniSettings
	PGAF               *PGAFSettings
}

// PeerPlans are the peer rows, in the order the table shows them.
func PeerPlans() []PeerPlan {
	pd, pt, pi := PatroniSettings{TTL: 30, LoopWait: 10, RetryTimeout: 10}, PatroniSettings{TTL: 20, LoopWait: 1, RetryTimeout: 9}, PatroniSettings{TTL: 10, LoopWait: 2, RetryTimeout: 4}
	ad, at := PGAFDefaults, PGAFTuned
	return []PeerPlan{
		{Tool: "Patroni", Label: "defaults", Basis: "documented defaults (" + patroniDocsURL + ")", Patroni: &pd},
		{Tool: "Patroni", Label: "tuned", Basis: "the documented minimum ttl (20 s) and loop_wait (1 s), within loop_wait + 2 × retry_timeout ≤ ttl (" + patroniDocsURL + ")", Patroni: &pt},
		{Tool: "Patroni", Label: "tuned below the documented minimum", Basis: "issue 16's ttl 10, loop_wait 2, retry_timeout 4: within loop_wait + 2 × retry_timeout ≤ ttl, but below the documented minimum ttl of 20 s; 3.0.2 does not enforce it", Patroni: &pi},
		{Tool: "pg_auto_failover", Label: "defaults", Basis: "documented defaults (pg_autoctl(5), " + pgafDocsURL + ")", PGAF: &ad},
		{Tool: "pg_auto_failover", Label: "tuned", Basis: pgafTunedBasis, PGAF: &at},
	}
}

// RunPeers measures the peer plans of tools (empty: all) in dir, runs kills
// each; a peer that cannot run gives a row with its error instead of numbers.
func RunPeers(ctx context.Context, dir string, runs int, tools []string, log zerolog.Logger) []PeerRow {
	var rows []PeerRow
	for i, p := range PeerPlans() {
		if len(tools) > 0 && !slices.ContainsFunc(tools, func(t string) bool { return strings.EqualFold(t, p.Tool) }) {
			continue
		}
		sub := filepath.Join(dir, fmt.Sprintf("%d", i+1))
		log.Info().Str("peer", p.Tool).Str("settings", p.Label).Int("runs", runs).Msg("peer benchmark")
		var row PeerRow
		if err := ownDir(sub); err != nil {
			row = PeerRow{Tool: p.Tool, Label: p.Label, Basis: p.Basis, Error: err.Error()}
		} else if p.Patroni != nil {
			row = RunPatroni(ctx, sub, p.Label, p.Basis, *p.Patroni, runs, log)
		} else {
			row = RunPGAF(ctx, sub, p.Label, p.Basis, *p.PGAF, runs, log)
		}
		if row.Error != "" {
			log.Warn().Str("peer", p.Tool).Str("settings", p.Label).Str("error", row.Error).Msg("peer row has no measurement")
		}
		row.Measured = time.Now().UTC()
		rows = append(rows, row)
	}
	return rows
}
