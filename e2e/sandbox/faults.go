package sandbox

import (
	"context"
	"fmt"
	"strings"
)

// KillHost kills a host: SIGKILL to every process it runs and the end of its
// fleet heartbeat. EC2 keeps reporting the instance running (dead but not
// stopped) unless stopped is true, which stops the instance in EC2 as well.
func (s *Sandbox) KillHost(_ context.Context, name string, stopped bool) error {
	h, err := s.host(name)
	if err != nil {
		return fmt.Errorf("kill host: %w", err)
	}
	s.exec.KillMachine(h.MachineID)
	if err := s.fleet.KillMachine(h.MachineID); err != nil && !strings.Contains(err.Error(), "already killed") {
		return fmt.Errorf("kill host %s: %w", name, err)
	}
	if stopped {
		if err := s.ec2.SetInstanceState(h.InstanceID, "stopped"); err != nil {
			return fmt.Errorf("kill host %s: stop instance %s: %w", name, h.InstanceID, err)
		}
	}
	s.faultBegin(FaultWindow{Kind: FaultKill, Host: name, Stopped: stopped})
	s.event(name, "killed (instance %s)", map[bool]string{true: "stopped", false: "still running in EC2"}[stopped])
	return nil
}

// PartitionHost cuts a host off the network: a firewall rule drops every
// packet to its address, so peers cannot reach its Postgres or /healthz and
// it cannot reach etcd or fleet through its gateways (its etcd session then
// expires); its processes keep running. It needs root and iptables
// (ErrPartitionUnsupported otherwise).
func (s *Sandbox) PartitionHost(ctx context.Context, name string) error {
	h, err := s.host(name)
	if err != nil {
		return fmt.Errorf("partition host: %w", err)
	}
	if err := s.fw.drop(ctx, hostRule(h.Addr)); err != nil {
		return fmt.Errorf("partition host %s: %w", name, err)
	}
	if err := s.fleet.PartitionMachine(h.MachineID); err != nil {
		return fmt.Errorf("partition host %s: %w", name, err)
	}
	s.faultBegin(FaultWindow{Kind: FaultPartition, Host: name})
	s.event(name, "partitioned (packets to %s dropped)", h.Addr)
	return nil
}

// HealHost ends a partition. A host fenced meanwhile stays dead (revive it).
func (s *Sandbox) HealHost(ctx context.Context, name string) error {
	h, err := s.host(name)
	if err != nil {
		return fmt.Errorf("heal host: %w", err)
	}
	if err := s.fw.allow(ctx, hostRule(h.Addr)); err != nil {
		return fmt.Errorf("heal host %s: %w", name, err)
	}
	if !s.exec.Down(h.MachineID) {
		if err := s.fleet.HealMachine(h.MachineID); err != nil {
			return fmt.Errorf("heal host %s: %w", name, err)
		}
	}
	s.faultEnd(name, "", FaultPartition)
	s.event(name, "healed")
	return nil
}

// ReviveHost boots a dead host again: its instance is started if it was
// stopped, its fleet machine heartbeats again and fleet's agent starts the
// units it should run (volfailover, and Postgres only if the machine still
// carries the volume's metadata).
func (s *Sandbox) ReviveHost(ctx context.Context, name string) error {
	h, err := s.host(name)
	if err != nil {
		return fmt.Errorf("revive host: %w", err)
	}
	if !s.exec.Down(h.MachineID) {
		return fmt.Errorf("revive host %s: host is not down", name)
	}
	if err := s.fw.allow(ctx, hostRule(h.Addr)); err != nil {
		return fmt.Errorf("revive host %s: %w", name, err)
	}
	switch st := s.ec2.InstanceState(h.InstanceID); st {
	case "running":
	case "stopping", "stopped":
		if err := s.ec2.SetInstanceState(h.InstanceID, "running"); err != nil {
			return fmt.Errorf("revive host %s: start instance %s: %w", name, h.InstanceID, err)
		}
	default:
		return fmt.Errorf("revive host %s: instance %s is %q and cannot be started", name, h.InstanceID, st)
	}
	s.exec.Revive(h.MachineID)
	if err := s.fleet.ReviveMachine(h.MachineID); err != nil {
		return fmt.Errorf("revive host %s: %w", name, err)
	}
	s.faultEnd(name, "", FaultKill, FaultPartition)
	s.event(name, "revived")
	return nil
}

// PartitionPair cuts the network between two hosts, both ways: neither can
// reach the other's Postgres or /healthz, so each one's probes of the other
// fail, while both keep etcd, fleet and every other host. It is the fault
// behind "a leader that alone cannot reach a healthy owner". It needs root
// and iptables (ErrPartitionUnsupported otherwise).
func (s *Sandbox) PartitionPair(ctx context.Context, a, b string) error {
	ha, hb, err := s.hostPair(a, b)
	if err != nil {
		return fmt.Errorf("partition %s and %s: %w", a, b, err)
	}
	if err := s.fw.drop(ctx, linkRule(ha.Addr, hb.Addr), linkRule(hb.Addr, ha.Addr)); err != nil {
		return fmt.Errorf("partition %s and %s: %w", a, b, err)
	}
	s.faultBegin(FaultWindow{Kind: FaultPartitionPair, Host: a, Peer: b})
	s.event(a, "partitioned from %s (packets between %s and %s dropped)", b, ha.Addr, hb.Addr)
	return nil
}

// HealPair ends a PartitionPair.
func (s *Sandbox) HealPair(ctx context.Context, a, b string) error {
	ha, hb, err := s.hostPair(a, b)
	if err != nil {
		return fmt.Errorf("heal %s and %s: %w", a, b, err)
	}
	if err := s.fw.allow(ctx, linkRule(ha.Addr, hb.Addr), linkRule(hb.Addr, ha.Addr)); err != nil {
		return fmt.Errorf("heal %s and %s: %w", a, b, err)
	}
	s.faultEnd(a, b, FaultPartitionPair)
	s.event(a, "healed with %s", b)
	return nil
}

// PartitionOneWay cuts one direction: from can no longer open a connection
// to to (its probes of to fail, and connections it had opened stall), while
// to still reaches from, as with a security group or route broken on one side
// only. It needs root and iptables (ErrPartitionUnsupported otherwise).
func (s *Sandbox) PartitionOneWay(ctx context.Context, from, to string) error {
	hf, ht, err := s.hostPair(from, to)
	if err != nil {
		return fmt.Errorf("partition %s -> %s: %w", from, to, err)
	}
	if err := s.fw.drop(ctx, openedRule(hf.Addr, ht.Addr)); err != nil {
		return fmt.Errorf("partition %s -> %s: %w", from, to, err)
	}
	s.faultBegin(FaultWindow{Kind: FaultOneWay, Host: from, Peer: to})
	s.event(from, "cannot reach %s (connections from %s to %s dropped)", to, hf.Addr, ht.Addr)
	return nil
}

// HealOneWay ends a PartitionOneWay.
func (s *Sandbox) HealOneWay(ctx context.Context, from, to string) error {
	hf, ht, err := s.hostPair(from, to)
	if err != nil {
		return fmt.Errorf("heal %s -> %s: %w", from, to, err)
	}
	if err := s.fw.allow(ctx, openedRule(hf.Addr, ht.Addr)); err != nil {
		return fmt.Errorf("heal %s -> %s: %w", from, to, err)
	}
	s.faultEnd(from, to, FaultOneWay)
	s.event(from, "reaches %s again", to)
	return nil
}

// PartitionFromEtcd cuts a host off etcd only: packets to its etcd gateways
// (one per member) are dropped, so its etcd session expires (it loses its registration and
// any leadership) while its Postgres, its /healthz, its probes and its fleet
// machine keep working. A real fleet agent also lives on etcd; here fleet is
// reached through its own gateway, so fleet keeps listing the machine. It
// needs root and iptables (ErrPartitionUnsupported otherwise).
func (s *Sandbox) PartitionFromEtcd(ctx context.Context, name string) error {
	h, err := s.host(name)
	if err != nil {
		return fmt.Errorf("partition from etcd: %w", err)
	}
	if err := s.fw.drop(ctx, etcdRules(h.Addr)...); err != nil {
		return fmt.Errorf("partition %s from etcd: %w", name, err)
	}
	s.faultBegin(FaultWindow{Kind: FaultEtcd, Host: name})
	s.event(name, "partitioned from etcd (packets to %s:%v dropped)", h.Addr, GatewayEtcdPorts)
	return nil
}

// HealFromEtcd ends a PartitionFromEtcd.
func (s *Sandbox) HealFromEtcd(ctx context.Context, name string) error {
	h, err := s.host(name)
	if err != nil {
		return fmt.Errorf("heal from etcd: %w", err)
	}
	if err := s.fw.allow(ctx, etcdRules(h.Addr)...); err != nil {
		return fmt.Errorf("heal %s from etcd: %w", name, err)
	}
	s.faultEnd(name, "", FaultEtcd)
	s.event(name, "reaches etcd again")
	return nil
}

// hostPair looks up two distinct hosts.
func (s *Sandbox) hostPair(a, b string) (*host, *host, error) {
	if a == b {
		return nil, nil, fmt.Errorf("host %q given twice: want two different hosts", a)
	}
	ha, err := s.host(a)
	if err != nil {
		return nil, nil, err
	}
	hb, err := s.host(b)
	if err != nil {
		return nil, nil, err
	}
	return ha, hb, nil
}
