package sandbox

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// ErrPartitionUnsupported is returned by the partition faults (PartitionHost,
// PartitionPair, PartitionOneWay, PartitionFromEtcd) when the sandbox cannot
// install firewall rules (not root, or no working iptables).
var ErrPartitionUnsupported = errors.New("partitioning needs root and a working iptables")

// rule is one iptables DROP rule in the INPUT chain (or, with GID, OUTPUT).
// Every host is a loopback
// address and every controller dials its peers from its own address, so a
// rule on source and destination cuts exactly the traffic between two hosts;
// loopback packets pass INPUT once, on delivery, so INPUT alone sees them all.
type rule struct {
	// Src is the source address matched ("" = any).
	Src string
	// Dst is the destination address matched; always set unless GID is.
	Dst string
	// DPort is the TCP destination port matched (0 = any protocol and port).
	DPort int
	// Opened keeps the rule to packets of connections that Src opened
	// (conntrack's original direction): Src can no longer reach Dst, while
	// Dst's own connections to Src, whose answers also go from Src to Dst,
	// are untouched. Without it a source rule would cut TCP both ways, as a
	// connection needs packets in both directions.
	Opened bool
	// GID makes it an OUTPUT rule on every packet sent by a socket of a
	// process of that group: an etcd member's own traffic, which leaves
	// from 127.0.0.1 (etcd binds no source address), so that no rule on its
	// address could match what it sends.
	GID int
}

// Whole-host and per-link rules.
func hostRule(addr string) rule       { return rule{Dst: addr} }
func linkRule(src, dst string) rule   { return rule{Src: src, Dst: dst} }
func openedRule(src, dst string) rule { return rule{Src: src, Dst: dst, Opened: true} }

// etcdRules cut a host's gateways to every etcd member.
func etcdRules(addr string) []rule {
	rs := make([]rule, len(GatewayEtcdPorts))
	for i, p := range GatewayEtcdPorts {
		rs[i] = rule{Dst: addr, DPort: p}
	}
	return rs
}

// memberRules cut an etcd member off everyone: nothing reaches its address,
// and nothing it sends leaves (its connections start from 127.0.0.1).
func memberRules(addr string, gid uint32) []rule {
	return []rule{{Dst: addr}, {GID: int(gid)}}
}

// args is the iptables command line that inserts (op "-I") or deletes (op
// "-D") the rule, tagged with the sandbox's comment.
func (r rule) args(op, tag string) []string {
	chain := "INPUT"
	if r.GID != 0 {
		chain = "OUTPUT"
	}
	args := []string{"-w", op, chain}
	if op == "-I" {
		args = append(args, "1")
	}
	if r.GID != 0 {
		return append(args, "-m", "owner", "--gid-owner", strconv.Itoa(r.GID), "-m", "comment", "--comment", tag, "-j", "DROP")
	}
	if r.Src != "" {
		args = append(args, "-s", r.Src+"/32")
	}
	args = append(args, "-d", r.Dst+"/32")
	if r.DPort != 0 {
		args = append(args, "-p", "tcp", "--dport", strconv.Itoa(r.DPort))
	}
	if r.Opened {
		args = append(args, "-m", "conntrack", "--ctdir", "ORIGINAL")
	}
	return append(args, "-m", "comment", "--comment", tag, "-j", "DROP")
}

// String says what the rule drops, for status and errors.
func (r rule) String() string {
	if r.GID != 0 {
		return fmt.Sprintf("sent by group %d (an etcd member)", r.GID)
	}
	from := "any"
	if r.Src != "" {
		from = r.Src
	}
	s := fmt.Sprintf("%s -> %s", from, r.Dst)
	if r.DPort != 0 {
		s += fmt.Sprintf(":%d/tcp", r.DPort)
	}
	if r.Opened {
		s += " (connections opened by " + r.Src + ")"
	}
	return s
}

// firewall adds and removes the iptables rules of the partition faults, each
// tagged with a comment naming this sandbox so that Close removes exactly its
// own rules.
type firewall struct {
	tag string

	mu    sync.Mutex
	rules map[rule]bool // rules in place
}

func newFirewall(tag string) *firewall {
	return &firewall{tag: tag, rules: map[rule]bool{}}
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

// drop installs rules; a rule already in place is kept. It installs all of
// them or none: a failure removes the ones this call added.
func (f *firewall) drop(ctx context.Context, rules ...rule) error {
	if err := f.check(ctx); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var added []rule
	for _, r := range rules {
		if f.rules[r] {
			continue
		}
		if err := f.iptables(ctx, "-I", r); err != nil {
			for _, a := range added {
				// Best effort: the rule stays listed if it cannot be removed, so Close retries it.
				if f.iptables(ctx, "-D", a) == nil {
					delete(f.rules, a)
				}
			}
			return err
		}
		f.rules[r] = true
		added = append(added, r)
	}
	return nil
}

// allow removes rules, those not in place being skipped.
func (f *firewall) allow(ctx context.Context, rules ...rule) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	var errs []error
	for _, r := range rules {
		if !f.rules[r] {
			continue
		}
		if err := f.iptables(ctx, "-D", r); err != nil {
			errs = append(errs, err)
			continue
		}
		delete(f.rules, r)
	}
	return errors.Join(errs...)
}

// iptables runs one insert or delete; f.mu is held.
func (f *firewall) iptables(ctx context.Context, op string, r rule) error {
	if out, err := exec.CommandContext(ctx, "iptables", r.args(op, f.tag)...).CombinedOutput(); err != nil {
		return fmt.Errorf("iptables %s %s: %w: %s", op, r, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// has reports whether r is in place.
func (f *firewall) has(r rule) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.rules[r]
}

// partitioned reports whether addr is cut off whole (PartitionHost).
func (f *firewall) partitioned(addr string) bool { return f.has(hostRule(addr)) }

// list describes every rule in place, sorted.
func (f *firewall) list() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]string, 0, len(f.rules))
	for r := range f.rules {
		out = append(out, r.String())
	}
	sort.Strings(out)
	return out
}

// clear removes every rule this sandbox installed.
func (f *firewall) clear(ctx context.Context) error {
	f.mu.Lock()
	rules := make([]rule, 0, len(f.rules))
	for r := range f.rules {
		rules = append(rules, r)
	}
	f.mu.Unlock()
	return f.allow(ctx, rules...)
}

// tagPrefix starts the comment of every sandbox's rules; the PID follows.
const tagPrefix = "volfailover-sandbox-"

// staleRule is one DROP rule of INPUT that names addresses of a subnet.
type staleRule struct {
	spec string // as iptables -S prints it, "-A INPUT ..."
	pid  int    // the sandbox process that installed it; 0 if not a sandbox's
}

// rulesOnSubnet parses iptables -S INPUT output and returns the rules that
// drop packets from or to 127.0.<subnet>.N.
func rulesOnSubnet(listing string, subnet int) []staleRule {
	prefix := fmt.Sprintf("127.0.%d.", subnet)
	var out []staleRule
	for _, line := range strings.Split(listing, "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || f[0] != "-A" || f[1] != "INPUT" || !slices.Contains(f, "DROP") {
			continue
		}
		hit := false
		for i := 2; i+1 < len(f); i++ {
			if (f[i] == "-s" || f[i] == "-d") && strings.HasPrefix(f[i+1], prefix) {
				hit = true
			}
		}
		if !hit {
			continue
		}
		r := staleRule{spec: line}
		if i := slices.Index(f, "--comment"); i >= 0 && i+1 < len(f) {
			tag := strings.Trim(f[i+1], `"`)
			if rest, ok := strings.CutPrefix(tag, tagPrefix); ok {
				// The firewall tests tag theirs volfailover-sandbox-test-<pid>.
				if pid, err := strconv.Atoi(strings.TrimPrefix(rest, "test-")); err == nil {
					r.pid = pid
				}
			}
		}
		out = append(out, r)
	}
	return out
}

// sweep makes the subnet reachable before a sandbox starts on it. A rule a
// sandbox process left behind when it died without Close (killed by a test
// timeout, say) would silently drop every packet to one of the new hosts,
// whose Postgres then times out on connect forever; sweep deletes such rules
// (their process is gone) and refuses a subnet that a live process, or a rule
// no sandbox made, still cuts, with an error wrapping syscall.EADDRINUSE (the
// subnet is taken: callers that pick subnets try another). Without root or
// iptables there can be no rule.
func (f *firewall) sweep(ctx context.Context, subnet int, alive func(pid int) bool) error {
	if f.check(ctx) != nil {
		return nil
	}
	out, err := exec.CommandContext(ctx, "iptables", "-w", "-S", "INPUT").CombinedOutput()
	if err != nil {
		return fmt.Errorf("list firewall rules: iptables -S INPUT: %w: %s", err, strings.TrimSpace(string(out)))
	}
	var errs []error
	for _, r := range rulesOnSubnet(string(out), subnet) {
		if r.pid == 0 || alive(r.pid) {
			errs = append(errs, fmt.Errorf("subnet 127.0.%d.0/24 is cut by a rule of a live process or not a sandbox's: %s: %w", subnet, r.spec, syscall.EADDRINUSE))
			continue
		}
		args := append([]string{"-w", "-D"}, strings.Fields(strings.Replace(r.spec, "-A ", "", 1))...)
		for i, a := range args {
			args[i] = strings.Trim(a, `"`)
		}
		if msg, err := exec.CommandContext(ctx, "iptables", args...).CombinedOutput(); err != nil {
			errs = append(errs, fmt.Errorf("remove the rule of dead sandbox process %d (%s): %w: %s", r.pid, r.spec, err, strings.TrimSpace(string(msg))))
		}
	}
	return errors.Join(errs...)
}

// processAlive reports whether a process with this PID exists.
func processAlive(pid int) bool {
	_, err := os.Stat(fmt.Sprintf("/proc/%d", pid))
	return err == nil
}
