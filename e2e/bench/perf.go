package bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// CPUProfile is where a process spent its CPU in a window, sampled with
// Linux perf (`perf record -g -p PID`): the Go binary keeps frame pointers
// and symbols, so no pprof endpoint is needed in the program under test.
type CPUProfile struct {
	Window  string       `json:"window"`
	Samples int          `json:"samples"`
	Top     []ProfileRow `json:"top"`
	// Inclusive is volfailover's own functions with their callees (children), at least 3 %.
	Inclusive []ProfileRow `json:"inclusive"`
}

// ProfileRow is one function's share of the samples, itself only (flat).
type ProfileRow struct {
	Percent float64 `json:"percent"`
	Symbol  string  `json:"symbol"`
}

// PerfAvailable reports whether perf can be run.
func PerfAvailable() bool {
	_, err := exec.LookPath("perf")
	return err == nil
}

// recordPerf samples pid for d and returns the top flat functions.
func recordPerf(ctx context.Context, pid int, d time.Duration, dataPath, window string) (*CPUProfile, error) {
	rec := exec.CommandContext(ctx, "perf", "record", "-F", "499", "-g", "-p", strconv.Itoa(pid), "-o", dataPath, "--", "sleep", fmt.Sprintf("%.1f", d.Seconds()))
	if out, err := rec.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("perf record pid %d: %w: %s", pid, err, out)
	}
	rep := exec.CommandContext(ctx, "perf", "report", "-i", dataPath, "--stdio", "--no-children", "--sort", "symbol", "-g", "none", "--percent-limit", "1.5")
	out, err := rep.Output()
	if err != nil {
		return nil, fmt.Errorf("perf report %s: %w", dataPath, err)
	}
	p := parsePerfReport(out, window, 15)
	rep = exec.CommandContext(ctx, "perf", "report", "-i", dataPath, "--stdio", "--children", "--sort", "symbol", "-g", "none", "--percent-limit", "3")
	if out, err = rep.Output(); err != nil {
		return nil, fmt.Errorf("perf report --children %s: %w", dataPath, err)
	}
	for _, row := range parsePerfReport(out, window, 0).Top {
		if strings.Contains(row.Symbol, "volfailover/") && len(p.Inclusive) < 12 {
			row.Symbol = strings.TrimPrefix(row.Symbol, "github.com/volfailover/volfailover/")
			p.Inclusive = append(p.Inclusive, row)
		}
	}
	return p, nil
}

// parsePerfReport reads `perf report --stdio --sort symbol` output, keeping
// the first limit rows (0 = all). With --children the first column is the
// inclusive share.
func parsePerfReport(out []byte, window string, limit int) *CPUProfile {
	p := &CPUProfile{Window: window}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "# Samples:") {
			f := strings.Fields(line)
			if len(f) >= 3 {
				n := strings.TrimRight(f[2], "KM")
				v, _ := strconv.Atoi(n)
				switch {
				case strings.HasSuffix(f[2], "K"):
					v *= 1000
				case strings.HasSuffix(f[2], "M"):
					v *= 1000000
				}
				p.Samples = v
			}
			continue
		}
		if line == "" || strings.HasPrefix(line, "#") || !strings.HasSuffix(strings.Fields(line)[0], "%") {
			continue
		}
		f := strings.Fields(line)
		pct, err := strconv.ParseFloat(strings.TrimSuffix(f[0], "%"), 64)
		if err != nil || len(f) < 3 {
			continue
		}
		// Then an optional self share (--children), "[.]" or "[k]", the symbol.
		rest := f[1:]
		if strings.HasSuffix(rest[0], "%") {
			rest = rest[1:]
		}
		if len(rest) < 2 {
			continue
		}
		sym := strings.TrimSpace(strings.TrimSuffix(strings.Join(rest[1:], " "), "- -"))
		p.Top = append(p.Top, ProfileRow{Percent: pct, Symbol: sym})
		if len(p.Top) == limit {
			break
		}
	}
	return p
}
