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
	if err := s.fw.drop(ctx, h.Addr); err != nil {
		return fmt.Errorf("partition host %s: %w", name, err)
	}
	if err := s.fleet.PartitionMachine(h.MachineID); err != nil {
		return fmt.Errorf("partition host %s: %w", name, err)
	}
	s.event(name, "partitioned (packets to %s dropped)", h.Addr)
	return nil
}

// HealHost ends a partition. A host fenced meanwhile stays dead (revive it).
func (s *Sandbox) HealHost(ctx context.Context, name string) error {
	h, err := s.host(name)
	if err != nil {
		return fmt.Errorf("heal host: %w", err)
	}
	if err := s.fw.allow(ctx, h.Addr); err != nil {
		return fmt.Errorf("heal host %s: %w", name, err)
	}
	if !s.exec.Down(h.MachineID) {
		if err := s.fleet.HealMachine(h.MachineID); err != nil {
			return fmt.Errorf("heal host %s: %w", name, err)
		}
	}
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
	if err := s.fw.allow(ctx, h.Addr); err != nil {
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
	s.event(name, "revived")
	return nil
}
