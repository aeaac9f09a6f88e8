package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/rs/zerolog"

	"github.com/volfailover/volfailover/e2e/ec2sim"
	"github.com/volfailover/volfailover/e2e/sandbox"
)

// worldFlags are the flags shared by up and demo.
type worldFlags struct {
	hosts, hostsB, subnet int
	profile, dir          string
	buckets               string
	backgroundLoad        float64
	volfailoverBin        string
	keep                  bool
	logLevel              string
}

func (w *worldFlags) register(fs *flag.FlagSet) {
	fs.IntVar(&w.hosts, "hosts", 3, "hosts in "+sandbox.ZoneA+" (the volume's zone)")
	fs.IntVar(&w.hostsB, "hosts-b", 1, "extra hosts in "+sandbox.ZoneB)
	fs.IntVar(&w.subnet, "subnet", 1, "host addresses are 127.0.<subnet>.N")
	fs.StringVar(&w.profile, "profile", string(ec2sim.ProfileInstant), "latency profile: instant or aws-typical")
	fs.StringVar(&w.buckets, "buckets", "", "EC2 request-token buckets in ec2sim: on, off, or empty for the profile's default (on for aws-typical)")
	fs.Float64Var(&w.backgroundLoad, "background-load", 0, "share [0, 1) of every EC2 bucket that other tools of the account use")
	fs.StringVar(&w.dir, "dir", "", "sandbox directory (default: a fresh /tmp/volfailover-sandbox-<pid>, removed at exit)")
	fs.StringVar(&w.volfailoverBin, "volfailover-bin", "", "volfailover binary (default: built with go build)")
	fs.BoolVar(&w.keep, "keep", false, "keep the default directory (logs, data) at exit")
	fs.StringVar(&w.logLevel, "log-level", "info", "sandbox log level: debug, info, warn, error")
}

// config turns the flags into a sandbox config; the returned cleanup removes
// a default directory unless -keep.
func (w *worldFlags) config(logOut io.Writer) (sandbox.Config, func(keep bool), error) {
	lvl, err := zerolog.ParseLevel(w.logLevel)
	if err != nil {
		return sandbox.Config{}, nil, fmt.Errorf("-log-level %q: %w", w.logLevel, err)
	}
	dir, owned := w.dir, false
	if dir == "" {
		dir, owned = filepath.Join(os.TempDir(), fmt.Sprintf("volfailover-sandbox-%d", os.Getpid())), true
	} else if dir, err = filepath.Abs(dir); err != nil {
		return sandbox.Config{}, nil, fmt.Errorf("-dir %q: %w", w.dir, err)
	}
	self, err := os.Executable()
	if err != nil {
		return sandbox.Config{}, nil, fmt.Errorf("find own binary for exec-postgres: %w", err)
	}
	cfg := sandbox.DefaultConfig(dir)
	cfg.Hosts, cfg.HostsB, cfg.Subnet = w.hosts, w.hostsB, w.subnet
	cfg.Profile = ec2sim.Profile(w.profile)
	cfg.Buckets, cfg.BackgroundLoad = w.buckets, w.backgroundLoad
	cfg.VolfailoverBin = w.volfailoverBin
	cfg.SandboxBin = self
	cfg.Logger = zerolog.New(zerolog.ConsoleWriter{Out: logOut, TimeFormat: "15:04:05.000"}).Level(lvl).With().Timestamp().Logger()
	cleanup := func(keep bool) {
		if owned && !keep && !w.keep {
			_ = os.RemoveAll(dir) // best effort: a leftover /tmp dir is harmless
		}
	}
	return cfg, cleanup, cfg.Validate()
}

// runUp starts a sandbox, prints its endpoints and hosts, writes sandbox.env
// and stays up until interrupted.
func runUp(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("up", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var w worldFlags
	w.register(fs)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cfg, cleanup, err := w.config(stderr)
	if err != nil {
		fmt.Fprintf(stderr, "up: %v\n", err)
		return 2
	}
	fmt.Fprintf(stderr, "starting sandbox in %s (profile %s)...\n", cfg.Dir, cfg.Profile)
	sb, err := sandbox.Start(ctx, cfg)
	if err != nil {
		fmt.Fprintf(stderr, "up: %v\n", err)
		cleanup(true)
		return 1
	}
	defer cleanup(false)
	defer func() {
		fmt.Fprintln(stderr, "stopping sandbox...")
		if err := sb.Close(); err != nil {
			fmt.Fprintf(stderr, "up: stop: %v\n", err)
		}
	}()

	lines := envLines(sb)
	for _, l := range lines {
		fmt.Fprintln(stdout, l)
	}
	content := strings.Join(lines, "\n") + "\n"
	if err := os.WriteFile(envFile, []byte(content), 0o644); err != nil {
		fmt.Fprintf(stderr, "up: write %s: %v\n", envFile, err)
		return 1
	}
	defer removeIfOurs(envFile, content)
	printHosts(stdout, sb.Hosts())
	for _, m := range sb.EtcdMembers() {
		fmt.Fprintf(stdout, "etcd member %s on %s (%s)\n", m.Name, m.Addr, m.Endpoint)
	}
	fmt.Fprintf(stdout, "logs: %s\n", filepath.Join(cfg.Dir, "logs"))

	wctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	owner, err := sb.WaitPostgres(wctx, sb.Volume())
	cancel()
	switch {
	case ctx.Err() != nil:
		return 0
	case err != nil:
		fmt.Fprintf(stderr, "up: %v\n", err)
	default:
		fmt.Fprintf(stdout, "postgres for %s is ready on %s (%s); stop with Ctrl-C\n", sb.Volume(), owner.Name, owner.PostgresAddr())
	}
	<-ctx.Done()
	return 0
}

func printHosts(out io.Writer, hosts []sandbox.Host) {
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "HOST\tINSTANCE\tMACHINE\tADDRESS\tAZ")
	for _, h := range hosts {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", h.Name, h.InstanceID, h.MachineID, h.Addr, h.AZ)
	}
	tw.Flush()
}

// removeIfOurs removes path if it still holds content (another sandbox may
// have replaced it).
func removeIfOurs(path, content string) {
	if b, err := os.ReadFile(path); err == nil && string(b) == content {
		_ = os.Remove(path) // best effort
	}
}
