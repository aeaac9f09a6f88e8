package sandbox

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
)

// ErrPartitionUnsupported is returned by PartitionHost when the sandbox cannot
// install firewall rules (not root, or no working iptables).
var ErrPartitionUnsupported = errors.New("partitioning a host needs root and a working iptables")

// firewall adds and removes the iptables rules that partition hosts: one
// "-I INPUT -d <host address> -j DROP" per partitioned host, tagged with a
// comment naming this sandbox so that Close removes exactly its own rules.
type firewall struct {
	tag string

	mu    sync.Mutex
	rules map[string]bool // addresses with a rule in place
}

func newFirewall(tag string) *firewall {
	return &firewall{tag: tag, rules: map[string]bool{}}
}

// check reports why rules cannot be installed, or nil.
func (f *firewall) check(ctx context.Context) error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("%w: running as uid %d", ErrPartitionUnsupported, os.Geteuid())
	}
	if _, err := exec.LookPath("iptables"); err != nil {
		return fmt.Errorf("%w: %w", ErrPartitionUnsupported, err)
	}
	if out, err := exec.CommandContext(ctx, "iptables", "-w", "-S", "INPUT").CombinedOutput(); err != nil {
		return fmt.Errorf("%w: iptables -S INPUT: %w: %s", ErrPartitionUnsupported, err, strings.TrimSpace(string(out)))
	}
	return nil
}

func (f *firewall) ruleArgs(op, addr string) []string {
	args := []string{"-w", op, "INPUT"}
	if op == "-I" {
		args = append(args, "1")
	}
	return append(args, "-d", addr+"/32", "-m", "comment", "--comment", f.tag, "-j", "DROP")
}

// drop installs the rule for addr; a rule already in place is kept.
func (f *firewall) drop(ctx context.Context, addr string) error {
	if err := f.check(ctx); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.rules[addr] {
		return nil
	}
	if out, err := exec.CommandContext(ctx, "iptables", f.ruleArgs("-I", addr)...).CombinedOutput(); err != nil {
		return fmt.Errorf("iptables drop %s: %w: %s", addr, err, strings.TrimSpace(string(out)))
	}
	f.rules[addr] = true
	return nil
}

// allow removes the rule for addr, if any.
func (f *firewall) allow(ctx context.Context, addr string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.rules[addr] {
		return nil
	}
	if out, err := exec.CommandContext(ctx, "iptables", f.ruleArgs("-D", addr)...).CombinedOutput(); err != nil {
		return fmt.Errorf("iptables allow %s: %w: %s", addr, err, strings.TrimSpace(string(out)))
	}
	delete(f.rules, addr)
	return nil
}

// partitioned reports whether addr has a rule in place.
func (f *firewall) partitioned(addr string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.rules[addr]
}

// clear removes every rule this sandbox installed.
func (f *firewall) clear(ctx context.Context) error {
	f.mu.Lock()
	addrs := make([]string, 0, len(f.rules))
	for a := range f.rules {
		addrs = append(addrs, a)
	}
	f.mu.Unlock()
	var errs []error
	for _, a := range addrs {
		errs = append(errs, f.allow(ctx, a))
	}
	return errors.Join(errs...)
}
