// Command volfailover-bench runs volfailover's benchmarks (recovery time,
// leader takeover, scale, footprint), writes their results as JSON with a
// chart, and regenerates docs/benchmarks.md. `make bench` runs it as
// `go run ./cmd/volfailover-bench -out docs/benchmarks`.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
