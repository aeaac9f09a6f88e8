// Command teststat reads the output of `go test -json`, usually of many runs
// (-count=N), and lists every test that failed at least once, with how often and the
// output of its first failure. `make stress` runs it; it is a Go program rather than a
// jq script so that it works on a clean machine with only Go installed.
//
// Usage:
//
//	teststat [-lines N] [file]
//
// It reads standard input when no file is given. The exit status is 0 when nothing
// failed, 1 when a test or a package failed, and 2 when the input cannot be read.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run is main with its inputs and outputs as arguments, so that tests can call it.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("teststat", flag.ContinueOnError)
	fs.SetOutput(stderr)
	lines := fs.Int("lines", 20, "lines of output shown for each failure; 0 shows none")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	in := stdin
	switch fs.NArg() {
	case 0:
	case 1:
		f, err := os.Open(fs.Arg(0))
		if err != nil {
			fmt.Fprintf(stderr, "teststat: %v\n", err)
			return 2
		}
		defer func() { _ = f.Close() }()
		in = f
	default:
		fmt.Fprintln(stderr, "teststat: at most one file")
		return 2
	}
	s, err := Read(in)
	if err != nil {
		fmt.Fprintf(stderr, "teststat: %v\n", err)
		return 2
	}
	if err := s.Write(stdout, *lines); err != nil {
		fmt.Fprintf(stderr, "teststat: %v\n", err)
		return 2
	}
	if s.Failed() {
		return 1
	}
	return 0
}
