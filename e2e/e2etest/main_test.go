//go:build e2e

package e2etest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"testing"

	"go.uber.org/goleak"

	"github.com/volfailover/volfailover/e2e/sandbox"
)

// volfailoverBin is the controller binary every sandbox runs:
// $SANDBOX_VOLFAILOVER_BIN, else built once by TestMain.
var volfailoverBin string

// TestMain doubles as the postgres@ unit's command (the sandboxes run this
// test binary with "exec-postgres"), builds volfailover once, prints the
// suite's recovery times and checks for leaked goroutines.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "exec-postgres" {
		os.Exit(sandbox.RunExecPostgres(context.Background(), os.Args[2:], os.Stderr))
	}
	if len(os.Args) > 1 && os.Args[1] == "exec-etcd" {
		os.Exit(sandbox.RunExecEtcd(context.Background(), os.Args[2:], os.Stderr))
	}
	start := time.Now()
	cleanup, err := prepareBinary()
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: %v\n", err)
		os.Exit(1)
	}
	code := m.Run()
	cleanup()
	timings.print(time.Since(start))
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintf(os.Stderr, "e2e: leaked goroutines: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

// prepareBinary sets volfailoverBin, building cmd/volfailover when
// $SANDBOX_VOLFAILOVER_BIN does not name a binary.
func prepareBinary() (func(), error) {
	if b := os.Getenv("SANDBOX_VOLFAILOVER_BIN"); b != "" {
		abs, err := filepath.Abs(b)
		if err != nil {
			return nil, fmt.Errorf("SANDBOX_VOLFAILOVER_BIN %q: %w", b, err)
		}
		if _, err := os.Stat(abs); err != nil {
			return nil, fmt.Errorf("SANDBOX_VOLFAILOVER_BIN %q: %w", b, err)
		}
		volfailoverBin = abs
		return func() {}, nil
	}
	root, err := moduleRoot()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "volfailover-e2e-bin-")
	if err != nil {
		return nil, fmt.Errorf("temp dir for the volfailover binary: %w", err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		return nil, fmt.Errorf("open up %s: %w", dir, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", filepath.Join(dir, "volfailover"), "./cmd/volfailover")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("build volfailover in %s (set SANDBOX_VOLFAILOVER_BIN to use a prebuilt one): %w\n%s", root, err, out)
	}
	volfailoverBin = filepath.Join(dir, "volfailover")
	return func() { _ = os.RemoveAll(dir) }, nil
}

func moduleRoot() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("find module root: %w", err)
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		}
		if d == filepath.Dir(d) {
			return "", fmt.Errorf("find module root: no go.mod above %s", wd)
		}
	}
}

// timingTable collects each scenario's measured times for the summary.
type timingTable struct {
	mu   sync.Mutex
	rows []string
}

var timings = &timingTable{}

func (tt *timingTable) add(scenario, what string, d time.Duration) {
	tt.mu.Lock()
	defer tt.mu.Unlock()
	tt.rows = append(tt.rows, fmt.Sprintf("  %-44s %-34s %7.2fs", scenario, what, d.Seconds()))
}

func (tt *timingTable) print(total time.Duration) {
	tt.mu.Lock()
	defer tt.mu.Unlock()
	rows := append([]string(nil), tt.rows...)
	sort.Stable(sort.StringSlice(rows))
	fmt.Printf("e2e summary (suite %.1fs):\n%s\n", total.Seconds(), strings.Join(rows, "\n"))
}
