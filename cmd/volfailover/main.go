// Command volfailover moves a Postgres EBS volume, and the fleet unit that
// uses it, to a healthy peer when its host dies. `volfailover run` is the
// agent that runs on every host; the other commands are for operators.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() { os.Exit(run()) }

// run executes the command line under a context cancelled by SIGINT/SIGTERM and
// returns the process exit code.
func run() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := newRootCmd()
	err := root.ExecuteContext(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "volfailover:", err)
	}
	return exitCode(err)
}
