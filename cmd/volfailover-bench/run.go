package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/volfailover/volfailover/e2e/bench"
	"github.com/volfailover/volfailover/e2e/ec2sim"
)

const (
	resultsFile = "results.json"
	chartFile   = "recovery-timeline.png"
	outageFile  = "outage-served.png"
	tokensFile  = "outage-tokens.png"
	notesFile   = "notes.md"
)

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o, err := parseFlags(args, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "volfailover-bench: %v\n", err)
		return 2
	}
	if err := bench1(ctx, o, stdout, stderr); err != nil {
		fmt.Fprintf(stderr, "volfailover-bench: %v\n", err)
		return 1
	}
	return 0
}

func bench1(ctx context.Context, o options, stdout, stderr io.Writer) error {
	level := zerolog.InfoLevel
	if o.verbose {
		level = zerolog.DebugLevel
	}
	log := zerolog.New(zerolog.ConsoleWriter{Out: stderr, TimeFormat: time.TimeOnly}).Level(level).With().Timestamp().Logger()
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", o.out, err)
	}
	if o.render {
		res, err := bench.LoadResults(filepath.Join(o.out, resultsFile))
		if err != nil {
			return err
		}
		return publish(o, res, stdout)
	}
	work := o.work
	if work == "" {
		work = filepath.Join("/tmp", fmt.Sprintf("volfailover-bench-%d", os.Getpid()))
	}
	if err := os.MkdirAll(work, 0o755); err != nil {
		return fmt.Errorf("create work dir %s: %w", work, err)
	}
	if err := os.Chmod(work, 0o755); err != nil {
		return fmt.Errorf("open up work dir %s: %w", work, err)
	}
	if !o.keep {
		defer os.RemoveAll(work)
	}
	bins, err := build(ctx, filepath.Join(work, "bin"))
	if err != nil {
		return err
	}
	resPath := filepath.Join(o.out, resultsFile)
	res, err := bench.LoadResults(resPath)
	if err != nil {
		return err
	}
	if res.Machine, err = bench.DescribeMachine(); err != nil {
		return err
	}
	res.Short = o.short
	sub := 41
	// The source tree measured: taken once, before anyone edits it mid-run.
	rev := revision(ctx)
	stamp := func() bench.RunInfo { return bench.RunInfo{Date: time.Now().UTC(), Commit: rev, Short: o.short} }
	// Recovery results of this invocation, which the peer table reuses.
	recovered := map[ec2sim.Profile]*bench.RecoveryResult{}
	recover := func(p ec2sim.Profile) (*bench.RecoveryResult, error) {
		if r, ok := recovered[p]; ok {
			return r, nil
		}
		log.Info().Str("profile", string(p)).Int("runs", o.runs).Msg("recovery benchmark")
		r, err := bench.RunRecovery(ctx, sandboxConfig(work, "recovery-"+string(p), bins, p, sub, log), o.runs)
		sub++
		if err != nil {
			return nil, err
		}
		r.Run = stamp()
		res.SetRecovery(r)
		recovered[p] = r
		return r, nil
	}
	for _, b := range o.only {
		switch b {
		case "recovery":
			for _, p := range o.profiles {
				if _, err := recover(p); err != nil {
					return err
				}
			}
		case "peers":
			var rows []bench.PeerRow
			if wantTool(o.peerTools, "volfailover") {
				for _, p := range o.profiles {
					r, err := recover(p)
					if err != nil {
						return err
					}
					row := bench.VolfailoverRow(r, rev)
					row.Measured, row.Commit = time.Now().UTC(), rev
					rows = append(rows, row)
				}
			}
			peers := bench.RunPeers(ctx, filepath.Join(work, "peers"), o.runs, o.peerTools, log)
			for i := range peers {
				peers[i].Commit = rev
			}
			if res.Peers == nil {
				res.Peers = &bench.PeersResult{}
			}
			res.Peers.Merge(append(rows, peers...))
		case "takeover":
			for _, p := range o.profiles {
				log.Info().Str("profile", string(p)).Int("runs", o.runs).Msg("takeover benchmark")
				r, err := bench.RunTakeover(ctx, sandboxConfig(work, "takeover-"+string(p), bins, p, sub, log), o.runs, o.idle)
				sub++
				if err != nil {
					return err
				}
				r.Run = stamp()
				res.SetTakeover(r)
			}
		case "scale":
			log.Info().Int("volumes", o.volumes).Int("outage", o.outage).Msg("scale benchmark")
			r, err := bench.RunScale(ctx, bench.ScaleConfig{
				Dir: filepath.Join(work, "scale"), VolfailoverBin: bins.volfailover, Volumes: o.volumes, Outage: o.outage,
				Profile: ec2sim.ProfileAWSTypical, Throttle: o.throttleFirst, Buckets: o.buckets, BackgroundLoad: o.load,
				Window: o.window, OutageTimeout: o.outageTO, Perf: o.perf, Logger: log,
			})
			if err != nil {
				return err
			}
			r.Run = stamp()
			res.Scale = r
		}
	}
	res.Generated = time.Now().UTC()
	sortByProfile(res)
	if err := res.Save(resPath); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s\n", resPath)
	return publish(o, res, stdout)
}

// publish draws the chart and writes the markdown page from res.
func publish(o options, res *bench.Results, stdout io.Writer) error {
	o.short = res.Short
	ropts := bench.ReportOptions{Commands: commands(o)}
	if len(res.Recovery) > 0 {
		if err := bench.WriteTimelineChart(filepath.Join(o.out, chartFile), res.Recovery); err != nil {
			return err
		}
		ropts.Chart = filepath.ToSlash(filepath.Join(filepath.Base(o.out), chartFile))
	}
	if res.Scale != nil && res.Scale.Outage != nil && len(res.Scale.Outage.ServedS) > 0 {
		if err := bench.WriteOutageChart(filepath.Join(o.out, outageFile), res.Scale.Outage); err != nil {
			return err
		}
		ropts.OutageChart = filepath.ToSlash(filepath.Join(filepath.Base(o.out), outageFile))
		if len(res.Scale.Outage.Tokens) > 0 {
			if err := bench.WriteTokensChart(filepath.Join(o.out, tokensFile), res.Scale.Outage); err != nil {
				return err
			}
			ropts.TokensChart = filepath.ToSlash(filepath.Join(filepath.Base(o.out), tokensFile))
		}
	}
	if b, err := os.ReadFile(filepath.Join(o.out, notesFile)); err == nil {
		ropts.Notes = string(b)
	}
	doc := o.doc
	if doc == "" {
		doc = filepath.Join(filepath.Dir(filepath.Clean(o.out)), "benchmarks.md")
	}
	var md bytes.Buffer
	if err := bench.RenderMarkdown(&md, res, ropts); err != nil {
		return err
	}
	if err := os.WriteFile(doc, md.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", doc, err)
	}
	fmt.Fprintf(stdout, "wrote the charts under %s and %s\n", o.out, doc)
	return nil
}

// wantTool says whether the -peer-tools list (empty: all) names tool.
func wantTool(tools []string, tool string) bool {
	return len(tools) == 0 || slices.ContainsFunc(tools, func(t string) bool { return strings.EqualFold(t, tool) })
}

// revision is the source tree's commit, as `git describe` names it.
func revision(ctx context.Context) string {
	out, err := exec.CommandContext(ctx, "git", "describe", "--tags", "--always", "--dirty").Output()
	if err != nil {
		return "unknown"
	}
	return string(bytes.TrimSpace(out))
}

// binaries are the programs the benchmarks run as real processes.
type binaries struct{ volfailover, sandbox string }

func build(ctx context.Context, dir string) (binaries, error) {
	b := binaries{volfailover: filepath.Join(dir, "volfailover"), sandbox: filepath.Join(dir, "volfailover-sandbox")}
	for pkg, out := range map[string]string{"./cmd/volfailover": b.volfailover, "./cmd/volfailover-sandbox": b.sandbox} {
		cmd := exec.CommandContext(ctx, "go", "build", "-o", out, pkg)
		if msg, err := cmd.CombinedOutput(); err != nil {
			return b, fmt.Errorf("go build %s (run from the module root): %w: %s", pkg, err, msg)
		}
		if err := os.Chmod(out, 0o755); err != nil {
			return b, fmt.Errorf("chmod %s: %w", out, err)
		}
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		return b, fmt.Errorf("open up %s: %w", dir, err)
	}
	return b, nil
}

func sandboxConfig(work, name string, bins binaries, p ec2sim.Profile, subnet int, log zerolog.Logger) bench.SandboxConfig {
	return bench.SandboxConfig{Dir: filepath.Join(work, name), VolfailoverBin: bins.volfailover, SandboxBin: bins.sandbox,
		Profile: p, Hosts: 4, Subnet: subnet, Logger: log}
}

// commands are the shell lines that reproduce a run like this one.
func commands(o options) []string {
	line := "go run ./cmd/volfailover-bench -out docs/benchmarks"
	if o.short {
		line += " -short"
	}
	if o.runs != 10 && !o.short {
		line += fmt.Sprintf(" -runs %d", o.runs)
	}
	// The page always holds every benchmark (those not run keep their last results),
	// so the line that reproduces it runs them all; -only is shown as the way to redo one.
	return []string{"make bench   # = " + line, line + " -only scale -volumes 1000 -outage 300   # one benchmark alone"}
}

func sortByProfile(r *bench.Results) {
	rank := func(p string) int {
		if p == string(ec2sim.ProfileInstant) {
			return 0
		}
		return 1
	}
	slices.SortFunc(r.Recovery, func(a, b *bench.RecoveryResult) int { return rank(a.Profile) - rank(b.Profile) })
	slices.SortFunc(r.Takeover, func(a, b *bench.TakeoverResult) int { return rank(a.Profile) - rank(b.Profile) })
}
