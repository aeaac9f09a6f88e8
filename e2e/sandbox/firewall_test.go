package sandbox

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestRuleArgs(t *testing.T) {
	const tag = "volfailover-sandbox-1"
	tail := []string{"-m", "comment", "--comment", tag, "-j", "DROP"}
	tests := []struct {
		name string
		rule rule
		op   string
		want []string
		str  string
	}{
		{"whole host", hostRule("127.0.1.1"), "-I",
			append([]string{"-w", "-I", "INPUT", "1", "-d", "127.0.1.1/32"}, tail...),
			"any -> 127.0.1.1"},
		{"whole host, deleted", hostRule("127.0.1.1"), "-D",
			append([]string{"-w", "-D", "INPUT", "-d", "127.0.1.1/32"}, tail...),
			"any -> 127.0.1.1"},
		{"one direction of a pair", linkRule("127.0.1.2", "127.0.1.1"), "-I",
			append([]string{"-w", "-I", "INPUT", "1", "-s", "127.0.1.2/32", "-d", "127.0.1.1/32"}, tail...),
			"127.0.1.2 -> 127.0.1.1"},
		{"one way: connections the source opened", openedRule("127.0.1.2", "127.0.1.1"), "-I",
			append([]string{"-w", "-I", "INPUT", "1", "-s", "127.0.1.2/32", "-d", "127.0.1.1/32", "-m", "conntrack", "--ctdir", "ORIGINAL"}, tail...),
			"127.0.1.2 -> 127.0.1.1 (connections opened by 127.0.1.2)"},
		{"etcd gateway", etcdRules("127.0.1.3")[0], "-D",
			append([]string{"-w", "-D", "INPUT", "-d", "127.0.1.3/32", "-p", "tcp", "--dport", "2379"}, tail...),
			"any -> 127.0.1.3:2379/tcp"},
		{"etcd gateway to the third member", etcdRules("127.0.1.3")[2], "-I",
			append([]string{"-w", "-I", "INPUT", "1", "-d", "127.0.1.3/32", "-p", "tcp", "--dport", "32379"}, tail...),
			"any -> 127.0.1.3:32379/tcp"},
		{"to an etcd member", memberRules("127.0.1.251", 64301)[0], "-I",
			append([]string{"-w", "-I", "INPUT", "1", "-d", "127.0.1.251/32"}, tail...),
			"any -> 127.0.1.251"},
		{"what an etcd member sends", memberRules("127.0.1.251", 64301)[1], "-I",
			append([]string{"-w", "-I", "OUTPUT", "1", "-m", "owner", "--gid-owner", "64301"}, tail...),
			"sent by group 64301 (an etcd member)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.rule.args(tt.op, tag)
			require.Equal(t, tt.want, got, "got iptables %q want %q", got, tt.want)
			require.Equal(t, tt.str, tt.rule.String())
		})
	}
}

// TestFirewallCutsExactlyTheLink installs each kind of rule for real and
// dials between three addresses, each connection leaving from its host's
// address as the controllers' probes do. It needs root and iptables.
func TestFirewallCutsExactlyTheLink(t *testing.T) {
	f := newFirewall(fmt.Sprintf("volfailover-sandbox-test-%d", os.Getpid()))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := f.check(ctx); errors.Is(err, ErrPartitionUnsupported) {
		t.Skipf("firewall rules not tested for real: %v", err)
	}
	t.Cleanup(func() {
		require.NoError(t, f.clear(context.WithoutCancel(ctx)), "remove the test's rules")
		if out, err := exec.Command("iptables", "-w", "-S", "INPUT").CombinedOutput(); err == nil {
			require.NotContains(t, string(out), f.tag, "got rules %s", out)
		}
	})
	// A subnet away from the sandboxes the tests start (2 + pid%250).
	subnet := 253 - os.Getpid()%2
	a, b, c := fmt.Sprintf("127.0.%d.1", subnet), fmt.Sprintf("127.0.%d.2", subnet), fmt.Sprintf("127.0.%d.3", subnet)
	listeners := map[string]string{} // address -> its listener's address
	for _, addr := range []string{a, b, c} {
		ln, err := net.Listen("tcp", net.JoinHostPort(addr, "0"))
		require.NoError(t, err, "listen on %s", addr)
		t.Cleanup(func() { ln.Close() })
		go acceptAll(ln)
		listeners[addr] = ln.Addr().String()
	}

	type reach struct {
		from, to string
		ok       bool
	}
	steps := []struct {
		name  string
		rules []rule
		want  []reach
	}{
		{"no rule", nil, []reach{{a, b, true}, {b, a, true}, {c, b, true}, {c, a, true}}},
		{"pair a-b", []rule{linkRule(a, b), linkRule(b, a)}, []reach{{a, b, false}, {b, a, false}, {c, b, true}, {c, a, true}, {a, c, true}}},
		{"one way a->b", []rule{openedRule(a, b)}, []reach{{a, b, false}, {b, a, true}, {c, b, true}, {a, c, true}}},
		{"whole host b", []rule{hostRule(b)}, []reach{{a, b, false}, {c, b, false}, {a, c, true}}},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			require.NoError(t, f.drop(ctx, st.rules...), "install %v", st.rules)
			for _, r := range st.rules {
				require.True(t, f.has(r), "rule %s must be listed", r)
			}
			for _, r := range st.want {
				err := dialFrom(r.from, listeners[r.to])
				if r.ok {
					require.NoError(t, err, "dial %s -> %s must succeed", r.from, r.to)
				} else {
					require.Error(t, err, "dial %s -> %s must fail", r.from, r.to)
				}
			}
			require.NoError(t, f.allow(ctx, st.rules...), "remove %v", st.rules)
			require.Empty(t, f.list(), "no rule left after the step")
			for _, r := range st.want {
				require.NoError(t, dialFrom(r.from, listeners[r.to]), "dial %s -> %s after removing the rules", r.from, r.to)
			}
		})
	}

	// The etcd rule cuts only the gateway's port.
	t.Run("etcd gateway of b", func(t *testing.T) {
		gw, err := net.Listen("tcp", net.JoinHostPort(b, fmt.Sprint(GatewayEtcdPort)))
		require.NoError(t, err, "listen on b's etcd gateway address")
		defer gw.Close()
		go acceptAll(gw)
		require.NoError(t, f.drop(ctx, etcdRules(b)...))
		require.Error(t, dialFrom(a, gw.Addr().String()), "b's etcd gateway must be unreachable")
		require.Error(t, dialFrom(b, gw.Addr().String()), "b's etcd gateway must be unreachable from b itself")
		require.NoError(t, dialFrom(a, listeners[b]), "b's other ports stay reachable")
		require.NoError(t, f.allow(ctx, etcdRules(b)...))
		require.NoError(t, dialFrom(a, gw.Addr().String()), "b's etcd gateway after the heal")
	})
}

func acceptAll(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		c.Close()
	}
}

// dialFrom opens a TCP connection from the source address src, as a
// controller's probe does, and closes it.
func dialFrom(src, addr string) error {
	d := net.Dialer{Timeout: 300 * time.Millisecond, LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
	conn, err := d.Dial("tcp", addr)
	if err != nil {
		return fmt.Errorf("dial %s from %s: %w", addr, src, err)
	}
	return conn.Close()
}

func TestRulesOnSubnet(t *testing.T) {
	listing := `-P INPUT ACCEPT
-A INPUT -d 127.0.42.1/32 -m comment --comment volfailover-sandbox-4242 -j DROP
-A INPUT -s 127.0.42.2/32 -d 127.0.42.3/32 -m comment --comment "volfailover-sandbox-test-77" -j DROP
-A INPUT -d 127.0.41.1/32 -m comment --comment volfailover-sandbox-4242 -j DROP
-A INPUT -d 127.0.42.9/32 -j DROP
-A INPUT -d 127.0.42.1/32 -j ACCEPT
-A INPUT -d 127.0.142.1/32 -j DROP`
	got := rulesOnSubnet(listing, 42)
	require.Equal(t, []staleRule{
		{spec: "-A INPUT -d 127.0.42.1/32 -m comment --comment volfailover-sandbox-4242 -j DROP", pid: 4242},
		{spec: `-A INPUT -s 127.0.42.2/32 -d 127.0.42.3/32 -m comment --comment "volfailover-sandbox-test-77" -j DROP`, pid: 77},
		{spec: "-A INPUT -d 127.0.42.9/32 -j DROP", pid: 0},
	}, got, "DROP rules on 127.0.42.0/24, with the PID of the sandbox that made them")
}

// TestSweepRemovesDeadSandboxRules installs a rule as a sandbox that died
// without Close would have left it, and checks that the next sandbox on the
// subnet removes it, while a live sandbox's rule makes it refuse the subnet.
func TestSweepRemovesDeadSandboxRules(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// The firewall tests' subnets (252, 253): no sandbox a test starts uses them.
	subnet := 252 + os.Getpid()%2
	dead := newFirewall(fmt.Sprintf("%s%d", tagPrefix, 999_999_999))
	if err := dead.check(ctx); errors.Is(err, ErrPartitionUnsupported) {
		t.Skipf("firewall rules not tested for real: %v", err)
	}
	r := hostRule(fmt.Sprintf("127.0.%d.1", subnet))
	require.NoError(t, dead.drop(ctx, r))
	t.Cleanup(func() { _ = dead.clear(context.WithoutCancel(ctx)) })

	f := newFirewall(fmt.Sprintf("%s%d", tagPrefix, os.Getpid()))
	err := f.sweep(ctx, subnet, func(int) bool { return true })
	require.ErrorContains(t, err, fmt.Sprintf("subnet 127.0.%d.0/24 is cut by a rule of a live process", subnet), "a live sandbox's rule is left alone")
	require.ErrorIs(t, err, syscall.EADDRINUSE, "callers that pick subnets take another")

	require.NoError(t, f.sweep(ctx, subnet, func(int) bool { return false }), "a dead sandbox's rule is removed")
	out, err := exec.Command("iptables", "-w", "-S", "INPUT").CombinedOutput()
	require.NoError(t, err)
	require.NotContains(t, string(out), dead.tag, "rule of the dead sandbox still in place: %s", out)
}
