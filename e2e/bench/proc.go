package bench

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/<pid>/stat; it
// is 100 on every Linux architecture Go supports.
const clockTicks = 100

// ProcSample is one reading of a process's resource use.
type ProcSample struct {
	At      time.Time
	CPU     time.Duration // user + system time since the process started
	RSSKiB  int64         // VmRSS
	PeakKiB int64         // VmHWM, the peak resident set
}

// ReadProc reads /proc/<pid>/stat and /proc/<pid>/status.
func ReadProc(pid int) (ProcSample, error) {
	s := ProcSample{At: time.Now()}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return s, fmt.Errorf("read stat of pid %d: %w", pid, err)
	}
	// The command name may hold spaces and parentheses: fields start after the last ')'.
	i := strings.LastIndexByte(string(stat), ')')
	if i < 0 {
		return s, fmt.Errorf("stat of pid %d: no ')' in %q", pid, stat)
	}
	f := strings.Fields(string(stat[i+1:]))
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return s, fmt.Errorf("stat of pid %d: %d fields after the name, want at least 13", pid, len(f))
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return s, fmt.Errorf("stat of pid %d: utime %q stime %q are not integers", pid, f[11], f[12])
	}
	s.CPU = time.Duration(ut+st) * time.Second / clockTicks
	path := fmt.Sprintf("/proc/%d/status", pid)
	rss, err := procField(path, "VmRSS")
	if err != nil {
		return s, err
	}
	if s.RSSKiB, err = parseKiB(rss); err != nil {
		return s, fmt.Errorf("%s VmRSS %q: %w", path, rss, err)
	}
	hwm, err := procField(path, "VmHWM")
	if err != nil {
		return s, err
	}
	if s.PeakKiB, err = parseKiB(hwm); err != nil {
		return s, fmt.Errorf("%s VmHWM %q: %w", path, hwm, err)
	}
	return s, nil
}

// Usage is a process's resource use over a window.
type Usage struct {
	WindowS    float64 `json:"windowS"`
	CPUPercent float64 `json:"cpuPercentOfOneCore"`
	RSSMiB     float64 `json:"rssMiB"`
	PeakRSSMiB float64 `json:"peakRssMiB"`
}

// UsageBetween turns two samples of one process into CPU share and memory.
func UsageBetween(a, b ProcSample) Usage {
	w := b.At.Sub(a.At)
	u := Usage{WindowS: round1(w.Seconds()), RSSMiB: round1(float64(b.RSSKiB) / 1024), PeakRSSMiB: round1(float64(b.PeakKiB) / 1024)}
	if w > 0 {
		u.CPUPercent = round1(100 * float64(b.CPU-a.CPU) / float64(w))
	}
	return u
}

func round1(f float64) float64 { return float64(int64(f*10+0.5)) / 10 }

// selfPID is this process's ID.
func selfPID() int { return os.Getpid() }
