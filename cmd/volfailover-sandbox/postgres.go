package main

import (
	"context"
	"io"

	"github.com/volfailover/volfailover/e2e/sandbox"
)

// runExecPostgres is the postgres@ unit's ExecStart: on success the process
// becomes PostgreSQL and never returns here.
func runExecPostgres(ctx context.Context, args []string, stderr io.Writer) int {
	return sandbox.RunExecPostgres(ctx, args, stderr)
}
