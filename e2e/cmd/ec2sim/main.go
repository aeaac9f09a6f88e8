// Command ec2sim serves the EC2 Query API emulator (package ec2sim) on a
// loopback address, for the sandbox and for manual runs:
//
//	go run ./e2e/cmd/ec2sim -listen 127.0.0.1:PORT -seed FILE -profile instant|aws-typical -root DIR \
//	    [-buckets on|off] [-background-load 0.5]
//
// It prints "listening on http://ADDR" on stdout once it accepts connections
// and shuts down gracefully on SIGINT or SIGTERM.
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

	"github.com/volfailover/volfailover/e2e/ec2sim"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// config holds the validated flags.
type config struct {
	listen  string
	seed    string
	profile ec2sim.Profile
	throt   ec2sim.Throttling
	root    string
	level   zerolog.Level
}

// parseFlags reads and validates the command line.
func parseFlags(args []string, stderr io.Writer) (config, error) {
	fs := flag.NewFlagSet("ec2sim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:0", "loopback address to serve on, host:port (port 0 = any free port)")
	seed := fs.String("seed", "", "JSON seed file with instances and volumes (optional)")
	profile := fs.String("profile", string(ec2sim.ProfileInstant), "latency profile: instant or aws-typical")
	root := fs.String("root", "", "host device tree root (optional): volumes/<vol-id> and hosts/<instance-id>/dev")
	buckets := fs.String("buckets", "", "EC2 request-token buckets: on, off, or empty for the profile's default (on for aws-typical)")
	load := fs.Float64("background-load", 0, "share [0, 1) of every bucket that other tools of the account use")
	level := fs.String("log-level", "info", "log level: debug, info, warn, error")
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	if fs.NArg() > 0 {
		return config{}, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	host, _, err := net.SplitHostPort(*listen)
	if err != nil {
		return config{}, fmt.Errorf("-listen %q: %w", *listen, err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return config{}, fmt.Errorf("-listen %q: host must be a loopback IP address such as 127.0.0.1", *listen)
	}
	if _, err := ec2sim.ProfileLatencies(ec2sim.Profile(*profile)); err != nil {
		return config{}, fmt.Errorf("-profile: %w", err)
	}
	throt, err := ec2sim.ThrottlingFor(ec2sim.Profile(*profile), *buckets, *load)
	if err != nil {
		return config{}, fmt.Errorf("-buckets/-background-load: %w", err)
	}
	lvl, err := zerolog.ParseLevel(*level)
	if err != nil || *level == "" {
		return config{}, fmt.Errorf("-log-level %q: want debug, info, warn or error", *level)
	}
	return config{listen: *listen, seed: *seed, profile: ec2sim.Profile(*profile), throt: throt, root: *root, level: lvl}, nil
}

// run serves until ctx is cancelled; it returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintf(stderr, "ec2sim: %v\n", err)
		return 2
	}
	log := zerolog.New(stderr).Level(cfg.level).With().Timestamp().Str("component", "ec2sim").Logger()
	if err := serve(ctx, cfg, log, stdout); err != nil {
		log.Error().Err(err).Msg("ec2sim failed")
		return 1
	}
	return 0
}

func serve(ctx context.Context, cfg config, log zerolog.Logger, stdout io.Writer) error {
	sim, err := ec2sim.New(ec2sim.Options{Profile: cfg.profile, Throttling: &cfg.throt, Root: cfg.root, Logger: log})
	if err != nil {
		return err
	}
	defer sim.Close()
	if cfg.seed != "" {
		if err := applySeedFile(sim, cfg.seed); err != nil {
			return err
		}
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", cfg.listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.listen, err)
	}
	srv := &http.Server{Handler: sim, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info().Str("addr", ln.Addr().String()).Str("profile", string(cfg.profile)).Bool("buckets", cfg.throt.Enabled).Float64("backgroundLoad", cfg.throt.BackgroundLoad).Str("root", cfg.root).Msg("serving")
	fmt.Fprintf(stdout, "listening on http://%s\n", ln.Addr())

	select {
	case err := <-errc:
		return fmt.Errorf("serve on %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	log.Info().Msg("shutting down")
	// Close first: it releases requests held by hang faults, which Shutdown waits for.
	sim.Close()
	shutCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil {
		_ = srv.Close()
		<-errc
		return fmt.Errorf("shut down: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}

func applySeedFile(sim *ec2sim.Sim, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("-seed: %w", err)
	}
	defer f.Close()
	seed, err := ec2sim.LoadSeed(f)
	if err != nil {
		return fmt.Errorf("-seed %s: %w", path, err)
	}
	if err := sim.Apply(seed); err != nil {
		return fmt.Errorf("-seed %s: %w", path, err)
	}
	return nil
}
