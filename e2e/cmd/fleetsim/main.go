// Command fleetsim serves the fleet API v1 emulator (package fleetsim) as a
// process, so fleetctl, the volfailover binary and the sandbox can talk to it
// over HTTP:
//
//	go run ./e2e/cmd/fleetsim -listen 127.0.0.1:PORT -seed FILE \
//	    [-machine-ttl 30s -engine-interval 2s -agent-interval 5s \
//	     -engine-watch-sleep 1s -agent-watch-sleep 1s -state-removal-delay 1s] \
//	    [-instant] [-fleet-version 1.0.0]
//
// Every timing flag defaults to fleet v1.0.0's own value, so the process
// schedules as slowly as a real cluster; shorten them explicitly to go
// faster, or pass -instant for no scheduling delay at all. -fleet-version
// 0.13.0 serves a fleet without PATCH /fleet/v1/machines.
//
// Units run in fleetsim's in-memory executor. The first line on stdout is
// "listening on ADDR" once the socket is bound.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/volfailover/volfailover/e2e/fleetsim"
)

type config struct {
	listen   string
	seed     string
	opts     fleetsim.Options
	logLevel string
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	fs := flag.NewFlagSet("fleetsim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	d := fleetsim.DefaultOptions()
	var c config
	fs.StringVar(&c.listen, "listen", "127.0.0.1:4002", "loopback host:port to serve the fleet API on (port 0 = any free port)")
	fs.StringVar(&c.seed, "seed", "", "seed JSON file with machines and units (optional)")
	fs.DurationVar(&c.opts.MachineTTL, "machine-ttl", d.MachineTTL, "fleet agent_ttl: machine presence, unit state and heartbeat TTL")
	fs.DurationVar(&c.opts.EngineInterval, "engine-interval", d.EngineInterval, "engine reconcile interval")
	fs.DurationVar(&c.opts.AgentInterval, "agent-interval", d.AgentInterval, "agent reconcile interval")
	fs.DurationVar(&c.opts.EngineWatchSleep, "engine-watch-sleep", d.EngineWatchSleep, "how long the engine's registry watch sleeps after an event before it wakes the engine")
	fs.DurationVar(&c.opts.AgentWatchSleep, "agent-watch-sleep", d.AgentWatchSleep, "how long each agent's registry watch sleeps after an event before it wakes the agent")
	fs.DurationVar(&c.opts.StatePollInterval, "state-poll-interval", d.StatePollInterval, "how often agents poll unit states")
	fs.DurationVar(&c.opts.StateRemovalDelay, "state-removal-delay", d.StateRemovalDelay, "how long after a unit's stop is triggered its /state entry disappears (the process may run on)")
	fs.BoolVar(&c.opts.Instant, "instant", false, "schedule at once on every PUT, with no watch sleep (not how fleet behaves)")
	fs.StringVar(&c.opts.Version, "fleet-version", d.Version, "fleet version to behave as; before 1.0.0 (e.g. 0.13.0) PATCH /fleet/v1/machines answers 400")
	fs.IntVar(&c.opts.TokenLimit, "token-limit", d.TokenLimit, "page size of list endpoints")
	fs.StringVar(&c.logLevel, "log-level", "info", "zerolog level: debug, info, warn, error")
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	if fs.NArg() > 0 {
		return config{}, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	host, _, err := net.SplitHostPort(c.listen)
	if err != nil {
		return config{}, fmt.Errorf("flag -listen %q: %w", c.listen, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return config{}, fmt.Errorf("flag -listen %q: host must be a loopback address", c.listen)
	}
	for name, v := range map[string]time.Duration{
		"-machine-ttl": c.opts.MachineTTL, "-engine-interval": c.opts.EngineInterval,
		"-agent-interval": c.opts.AgentInterval, "-state-poll-interval": c.opts.StatePollInterval,
		"-engine-watch-sleep": c.opts.EngineWatchSleep, "-agent-watch-sleep": c.opts.AgentWatchSleep,
		"-state-removal-delay": c.opts.StateRemovalDelay,
	} {
		if v <= 0 {
			return config{}, fmt.Errorf("flag %s: must be positive, got %s", name, v)
		}
	}
	if c.opts.TokenLimit < 1 || c.opts.TokenLimit > 65535 {
		return config{}, fmt.Errorf("flag -token-limit: must be in 1..65535, got %d", c.opts.TokenLimit)
	}
	if err := c.opts.Validate(); err != nil {
		return config{}, fmt.Errorf("flag -fleet-version: %w", err)
	}
	if _, err := zerolog.ParseLevel(c.logLevel); err != nil {
		return config{}, fmt.Errorf("flag -log-level %q: %w", c.logLevel, err)
	}
	return c, nil
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c, err := parseFlags(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(stderr, "fleetsim:", err)
		return 2
	}
	if err := serve(ctx, c, stdout, stderr); err != nil {
		fmt.Fprintln(stderr, "fleetsim:", err)
		return 1
	}
	return 0
}

func serve(ctx context.Context, c config, stdout, stderr io.Writer) error {
	level, _ := zerolog.ParseLevel(c.logLevel)
	c.opts.Logger = zerolog.New(stderr).Level(level).With().Timestamp().Str("component", "fleetsim").Logger()
	var seed *fleetsim.Seed
	if c.seed != "" {
		f, err := os.Open(c.seed)
		if err != nil {
			return fmt.Errorf("open seed: %w", err)
		}
		seed, err = fleetsim.LoadSeed(f)
		f.Close()
		if err != nil {
			return fmt.Errorf("seed %s: %w", c.seed, err)
		}
	}
	sim, err := fleetsim.New(c.opts)
	if err != nil {
		return err
	}
	defer sim.Close()
	if seed != nil {
		if err := sim.Apply(seed); err != nil {
			return err
		}
	}
	ln, err := net.Listen("tcp", c.listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", c.listen, err)
	}
	sim.Start()
	srv := &http.Server{Handler: sim, ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(stdout, "listening on %s\n", ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	<-errc
	return nil
}
