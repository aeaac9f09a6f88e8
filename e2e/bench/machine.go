package bench

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
)

// Machine describes where the benchmarks ran, so that numbers are never read
// without their hardware.
type Machine struct {
	CPUModel  string `json:"cpuModel"`
	Cores     int    `json:"cores"`
	MemoryMiB int64  `json:"memoryMiB"`
	GoVersion string `json:"goVersion"`
	Kernel    string `json:"kernel"`
	OS        string `json:"os"`
}

// DescribeMachine reads the CPU model and memory from /proc and the kernel
// release from /proc/sys/kernel/osrelease.
func DescribeMachine() (Machine, error) {
	m := Machine{Cores: runtime.NumCPU(), GoVersion: runtime.Version(), OS: runtime.GOOS + "/" + runtime.GOARCH}
	model, err := procField("/proc/cpuinfo", "model name")
	if err != nil {
		return m, err
	}
	m.CPUModel = model
	mem, err := procField("/proc/meminfo", "MemTotal")
	if err != nil {
		return m, err
	}
	kib, err := parseKiB(mem)
	if err != nil {
		return m, fmt.Errorf("/proc/meminfo MemTotal %q: %w", mem, err)
	}
	m.MemoryMiB = kib / 1024
	rel, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		return m, fmt.Errorf("read kernel release: %w", err)
	}
	m.Kernel = strings.TrimSpace(string(rel))
	return m, nil
}

// procField returns the value of the first "key: value" line of a /proc file.
func procField(path, key string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("read %s: %w", path, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v), nil
		}
	}
	if err := sc.Err(); err != nil {
		return "", fmt.Errorf("read %s: %w", path, err)
	}
	return "", fmt.Errorf("%s has no %q line", path, key)
}

// parseKiB parses "123456 kB".
func parseKiB(s string) (int64, error) {
	num, unit, _ := strings.Cut(strings.TrimSpace(s), " ")
	if unit != "kB" {
		return 0, fmt.Errorf("unit %q, want kB", unit)
	}
	return strconv.ParseInt(num, 10, 64)
}
