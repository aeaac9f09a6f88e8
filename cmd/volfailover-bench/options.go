package main

import (
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/volfailover/volfailover/e2e/ec2sim"
)

// benchmarks the runner knows, in the order it runs them.
var benchmarks = []string{"recovery", "takeover", "scale", "peers"}

// options are the runner's flags.
type options struct {
	out      string
	doc      string
	runs     int
	profiles []ec2sim.Profile
	only     []string
	short    bool
	volumes  int
	outage   int
	window   time.Duration
	idle     time.Duration
	work     string
	keep     bool
	verbose  bool
	perf     bool
	outageTO time.Duration
	render   bool
	// peerTools limits the peer benchmark to these tools (empty: all).
	peerTools []string
	// buckets, load and throttleFirst shape EC2's throttling in the scale
	// benchmark: ec2sim's token buckets and their background load, and the
	// older fault that throttles every first attempt.
	buckets       string
	load          float64
	throttleFirst bool
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("volfailover-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.out, "out", "docs/benchmarks", "directory of results.json and the chart; the page goes to <out>/../benchmarks.md")
	fs.StringVar(&o.doc, "doc", "", "the markdown page to regenerate (default <out>/../benchmarks.md)")
	fs.IntVar(&o.runs, "runs", 10, "runs per profile of the recovery and takeover benchmarks")
	profiles := fs.String("profile", "instant,aws-typical", "comma-separated sandbox profiles: instant, aws-typical")
	only := fs.String("only", strings.Join(benchmarks, ","), "comma-separated benchmarks to run: recovery, takeover, scale, peers (footprint is measured by takeover and scale; peers measures Patroni and pg_auto_failover beside volfailover's recovery)")
	fs.BoolVar(&o.short, "short", false, "smoke run: 2 runs per profile, 60 volumes, an outage of 12, short windows and a 1-minute outage limit")
	fs.IntVar(&o.volumes, "volumes", 1000, "managed volumes of the scale benchmark")
	fs.IntVar(&o.outage, "outage", 300, "owner hosts killed at once in the scale benchmark's AZ outage (0 = none)")
	fs.DurationVar(&o.window, "window", 30*time.Second, "steady-state window of the scale benchmark")
	fs.DurationVar(&o.idle, "idle-window", 20*time.Second, "window over which the sandbox's idle follower is measured")
	fs.StringVar(&o.work, "work", "", "working directory for sandboxes and logs (default /tmp/volfailover-bench-<pid>, removed unless -keep)")
	fs.BoolVar(&o.keep, "keep", false, "keep the working directory")
	fs.BoolVar(&o.verbose, "v", false, "log progress at debug level")
	fs.DurationVar(&o.outageTO, "outage-timeout", 3*time.Minute, "how long the scale benchmark waits for every volume of the AZ outage to be served again")
	fs.BoolVar(&o.render, "render-only", false, "run nothing: regenerate the page and the chart from <out>/results.json (after editing <out>/notes.md)")
	fs.BoolVar(&o.perf, "perf", true, "sample the scale benchmark's leader with Linux perf (if installed) for the CPU profile summary")
	peerTools := fs.String("peer-tools", "", "comma-separated tools the peer benchmark measures: volfailover, Patroni, pg_auto_failover (default all; rows of the others are kept from the last run)")
	fs.StringVar(&o.buckets, "buckets", ec2sim.BucketsOn, "EC2 request-token buckets in the scale benchmark (aws-typical): on or off")
	fs.Float64Var(&o.load, "background-load", 0.5, "share [0, 1) of every EC2 bucket left to other tools of the account in the scale benchmark")
	fs.BoolVar(&o.throttleFirst, "throttle-first-attempt", false, "also throttle the first attempt of every EC2 call during the AZ outage (a fault, not AWS's limits)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	for _, p := range splitList(*profiles) {
		if _, err := ec2sim.ProfileLatencies(ec2sim.Profile(p)); err != nil {
			return o, fmt.Errorf("-profile: %w", err)
		}
		o.profiles = append(o.profiles, ec2sim.Profile(p))
	}
	for _, b := range splitList(*only) {
		if b == "footprint" {
			continue
		}
		if !slices.Contains(benchmarks, b) {
			return o, fmt.Errorf("-only %q: want some of %s", b, strings.Join(benchmarks, ", "))
		}
		o.only = append(o.only, b)
	}
	for _, t := range splitList(*peerTools) {
		if !slices.ContainsFunc([]string{"volfailover", "patroni", "pg_auto_failover"}, func(k string) bool { return strings.EqualFold(k, t) }) {
			return o, fmt.Errorf("-peer-tools %q: want some of volfailover, Patroni, pg_auto_failover", t)
		}
		o.peerTools = append(o.peerTools, t)
	}
	if slices.Contains(splitList(*only), "footprint") && !slices.Contains(o.only, "takeover") {
		o.only = append(o.only, "takeover")
	}
	if o.short {
		o.runs, o.volumes, o.outage, o.window, o.idle = min(o.runs, 2), min(o.volumes, 60), min(o.outage, 12), min(o.window, 6*time.Second), min(o.idle, 5*time.Second)
		o.outageTO = min(o.outageTO, time.Minute)
	}
	switch {
	case o.out == "":
		return o, fmt.Errorf("-out is required")
	case o.runs < 1:
		return o, fmt.Errorf("-runs %d: want at least 1", o.runs)
	case len(o.profiles) == 0:
		return o, fmt.Errorf("-profile %q names no profile", *profiles)
	case len(o.only) == 0:
		return o, fmt.Errorf("-only %q names no benchmark", *only)
	case o.volumes < 6:
		return o, fmt.Errorf("-volumes %d: want at least 6", o.volumes)
	case o.outage < 0 || o.outage > (o.volumes+2)/3-1:
		return o, fmt.Errorf("-outage %d: want 0..%d (owners in the first zone, the leader's excluded)", o.outage, (o.volumes+2)/3-1)
	case o.window < 3*time.Second:
		return o, fmt.Errorf("-window %s: want at least 3s", o.window)
	case o.outageTO < 10*time.Second:
		return o, fmt.Errorf("-outage-timeout %s: want at least 10s", o.outageTO)
	case o.idle < 0:
		return o, fmt.Errorf("-idle-window %s: want >= 0", o.idle)
	}
	if _, err := ec2sim.ThrottlingFor(ec2sim.ProfileAWSTypical, o.buckets, o.load); err != nil {
		return o, fmt.Errorf("-buckets %q, -background-load %v: %w", o.buckets, o.load, err)
	}
	return o, nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
