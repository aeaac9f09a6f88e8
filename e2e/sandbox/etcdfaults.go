package sandbox

import (
	"context"
	"fmt"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// EtcdMembers returns the members of the sandbox's etcd cluster.
func (s *Sandbox) EtcdMembers() []EtcdMember {
	out := make([]EtcdMember, len(s.etcd))
	for i, m := range s.etcd {
		out[i] = m.EtcdMember
	}
	return out
}

// EtcdEndpoints returns every member's client URL.
func (s *Sandbox) EtcdEndpoints() []string {
	out := make([]string, len(s.etcd))
	for i, m := range s.etcd {
		out[i] = m.Endpoint
	}
	return out
}

func (s *Sandbox) member(name string) (*etcdMember, error) {
	for _, m := range s.etcd {
		if m.Name == name {
			return m, nil
		}
	}
	return nil, errNoMember(name)
}

// KillEtcdMember SIGKILLs a member's process: its data directory keeps
// whatever reached it, as after a crash. RestartEtcdMember brings it back.
func (s *Sandbox) KillEtcdMember(ctx context.Context, name string) error {
	m, err := s.member(name)
	if err != nil {
		return fmt.Errorf("kill etcd member: %w", err)
	}
	if err := m.kill(ctx); err != nil {
		return err
	}
	s.faultBegin(FaultWindow{Kind: FaultMemberKill, Host: name})
	s.event(name, "etcd member killed (SIGKILL)")
	return nil
}

// RestartEtcdMember starts a killed member again on its data directory and
// waits until it is healthy (it has rejoined and sees a leader).
func (s *Sandbox) RestartEtcdMember(ctx context.Context, name string) error {
	m, err := s.member(name)
	if err != nil {
		return fmt.Errorf("restart etcd member: %w", err)
	}
	if err := m.start(); err != nil {
		return err
	}
	if err := waitHealthy(ctx, m); err != nil {
		return fmt.Errorf("restart etcd member: %w", err)
	}
	s.faultEnd(name, "", FaultMemberKill)
	s.event(name, "etcd member restarted on its data directory")
	return nil
}

// PartitionEtcdMember cuts a member off the other members and every client:
// packets to its address are dropped, and so is everything its process
// sends. It needs root and iptables (ErrPartitionUnsupported otherwise).
func (s *Sandbox) PartitionEtcdMember(ctx context.Context, name string) error {
	m, err := s.member(name)
	if err != nil {
		return fmt.Errorf("partition etcd member: %w", err)
	}
	if err := s.fw.drop(ctx, memberRules(m.Addr, m.gid)...); err != nil {
		return fmt.Errorf("partition etcd member %s: %w", name, err)
	}
	s.faultBegin(FaultWindow{Kind: FaultMemberPartition, Host: name})
	s.event(name, "etcd member partitioned (packets to %s and from group %d dropped)", m.Addr, m.gid)
	return nil
}

// HealEtcdMember ends a PartitionEtcdMember.
func (s *Sandbox) HealEtcdMember(ctx context.Context, name string) error {
	m, err := s.member(name)
	if err != nil {
		return fmt.Errorf("heal etcd member: %w", err)
	}
	if err := s.fw.allow(ctx, memberRules(m.Addr, m.gid)...); err != nil {
		return fmt.Errorf("heal etcd member %s: %w", name, err)
	}
	s.faultEnd(name, "", FaultMemberPartition)
	s.event(name, "etcd member reachable again")
	return nil
}

// StallEtcdMember makes every fsync and fdatasync of the member's WAL wait
// delay before the real one, on the sandbox's FUSE mount under its WAL
// directory: a disk whose flushes stall. ErrStallUnsupported when the WAL
// is not on that mount (no root or no /dev/fuse).
func (s *Sandbox) StallEtcdMember(_ context.Context, name string, delay time.Duration) error {
	m, err := s.member(name)
	if err != nil {
		return fmt.Errorf("stall etcd member: %w", err)
	}
	if m.slow == nil {
		return fmt.Errorf("stall etcd member %s: %w", name, m.slowErr)
	}
	m.slow.SetDelay(delay)
	s.faultBegin(FaultWindow{Kind: FaultMemberStall, Host: name})
	s.event(name, "etcd member's WAL fsync delayed by %s", delay)
	return nil
}

// UnstallEtcdMember ends a StallEtcdMember.
func (s *Sandbox) UnstallEtcdMember(_ context.Context, name string) error {
	m, err := s.member(name)
	if err != nil {
		return fmt.Errorf("unstall etcd member: %w", err)
	}
	if m.slow != nil {
		m.slow.SetDelay(0)
	}
	s.faultEnd(name, "", FaultMemberStall)
	s.event(name, "etcd member's WAL fsync at full speed again")
	return nil
}

// EtcdLeader returns the member that leads the etcd cluster, as the
// members that answer see it.
func (s *Sandbox) EtcdLeader(ctx context.Context) (string, error) {
	id, _, err := s.etcdLeader(ctx)
	if err != nil {
		return "", err
	}
	for _, m := range s.etcd {
		if mid, ok := s.memberID(ctx, m); ok && mid == id {
			return m.Name, nil
		}
	}
	return "", fmt.Errorf("etcd leader %x: no running member has that ID", id)
}

// MoveEtcdLeader hands etcd's leadership to the member named to, with the
// Maintenance API's MoveLeader sent to the current leader, and returns the
// leader it moved from. The window it records spans the call.
func (s *Sandbox) MoveEtcdLeader(ctx context.Context, to string) (string, error) {
	target, err := s.member(to)
	if err != nil {
		return "", fmt.Errorf("move etcd leader: %w", err)
	}
	from, err := s.EtcdLeader(ctx)
	if err != nil {
		return "", fmt.Errorf("move etcd leader to %s: %w", to, err)
	}
	if from == to {
		return from, fmt.Errorf("move etcd leader: %s leads already", to)
	}
	leader, _ := s.member(from)
	tid, ok := s.memberID(ctx, target)
	if !ok {
		return from, fmt.Errorf("move etcd leader: %s does not answer", to)
	}
	cli, err := memberClient(leader)
	if err != nil {
		return from, err
	}
	defer cli.Close()
	s.faultBegin(FaultWindow{Kind: FaultLeaderMove, Host: to})
	_, err = cli.MoveLeader(ctx, tid)
	s.faultEnd(to, "", FaultLeaderMove)
	if err != nil {
		return from, fmt.Errorf("move etcd leader from %s to %s: %w", from, to, err)
	}
	s.event(to, "etcd leadership moved here from %s (MoveLeader)", from)
	return from, nil
}

// etcdLeader asks each running member for its status until one answers.
func (s *Sandbox) etcdLeader(ctx context.Context) (leader, member uint64, err error) {
	err = fmt.Errorf("no etcd member answered")
	for _, m := range s.etcd {
		if !m.running() {
			continue
		}
		st, serr := memberStatus(ctx, m)
		if serr != nil {
			err = serr
			continue
		}
		if st.Leader != 0 {
			return st.Leader, st.Header.MemberId, nil
		}
	}
	return 0, 0, fmt.Errorf("find etcd leader: %w", err)
}

func (s *Sandbox) memberID(ctx context.Context, m *etcdMember) (uint64, bool) {
	if !m.running() {
		return 0, false
	}
	st, err := memberStatus(ctx, m)
	if err != nil {
		return 0, false
	}
	return st.Header.MemberId, true
}

func memberStatus(ctx context.Context, m *etcdMember) (*clientv3.StatusResponse, error) {
	cli, err := memberClient(m)
	if err != nil {
		return nil, err
	}
	defer cli.Close()
	sctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	st, err := cli.Status(sctx, m.Endpoint)
	if err != nil {
		return nil, fmt.Errorf("status of etcd member %s: %w", m.Name, err)
	}
	return st, nil
}

// memberClient is a client of one member only.
func memberClient(m *etcdMember) (*clientv3.Client, error) {
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{m.Endpoint}, DialTimeout: 2 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		return nil, fmt.Errorf("client of etcd member %s: %w", m.Name, err)
	}
	return cli, nil
}

// WaitEtcdHealthy waits until every member is running and healthy.
func (s *Sandbox) WaitEtcdHealthy(ctx context.Context) error {
	for _, m := range s.etcd {
		if !m.running() {
			return fmt.Errorf("etcd member %s is not running (killed and not restarted)", m.Name)
		}
	}
	return waitHealthy(ctx, s.etcd...)
}
