package fleetsim

import (
	"fmt"
	"net"
	"regexp"
	"sort"
	"time"
)

type machineMode int

const (
	modeUp          machineMode = iota // heartbeating, agent running
	modeKilled                         // host dead: no heartbeat, no agent, processes gone
	modePartitioned                    // cut off: no heartbeat, no agent, processes keep running
)

func (m machineMode) String() string {
	switch m {
	case modeKilled:
		return "killed"
	case modePartitioned:
		return "partitioned"
	default:
		return "up"
	}
}

type machine struct {
	id        string
	primaryIP string
	config    map[string]string // static metadata from fleet.conf
	mode      machineMode
	expires   time.Time // presence expiry once the heartbeat stopped
}

var (
	machineIDRe   = regexp.MustCompile(`^[0-9a-f]{32}$`)
	metadataKeyRe = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)
)

func validateMachine(id, primaryIP string, metadata map[string]string) error {
	if !machineIDRe.MatchString(id) {
		return fmt.Errorf("machine id %q: want 32 lowercase hex digits", id)
	}
	if net.ParseIP(primaryIP) == nil {
		return fmt.Errorf("machine %s: primaryIP %q is not an IP address", id, primaryIP)
	}
	for k, v := range metadata {
		if !metadataKeyRe.MatchString(k) {
			return fmt.Errorf("machine %s: metadata key %q must match [A-Za-z0-9_.-]+", id, k)
		}
		if v == "" {
			return fmt.Errorf("machine %s: metadata %q has an empty value", id, k)
		}
	}
	return nil
}

// AddMachine registers a new machine that starts heartbeating at once, with
// its static (config) metadata. Dynamic metadata PATCHed earlier for the
// same ID applies immediately.
func (s *Sim) AddMachine(id, primaryIP string, metadata map[string]string) error {
	if err := validateMachine(id, primaryIP, metadata); err != nil {
		return fmt.Errorf("add machine: %w", err)
	}
	cfg := make(map[string]string, len(metadata))
	for k, v := range metadata {
		cfg[k] = v
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("add machine %s: sim closed", id)
	}
	if _, ok := s.machines[id]; ok {
		return fmt.Errorf("add machine %s: already exists", id)
	}
	s.machines[id] = &machine{id: id, primaryIP: primaryIP, config: cfg}
	a := newAgent(s, id)
	s.agents[id] = a
	if s.started {
		s.startAgentLocked(a)
	}
	s.log.Info().Str("machine", id).Str("ip", primaryIP).Msg("machine added")
	return nil
}

// KillMachine models the host dying: its heartbeat stops (it leaves the
// machine list MachineTTL later), its agent stops, and its processes die
// with it, which the sim tells the executor only through HostKiller. Units
// are not stopped through Executor.Stop.
func (s *Sim) KillMachine(id string) error {
	s.mu.Lock()
	m, err := s.machineLocked(id, "kill")
	if err == nil && m.mode == modeKilled {
		err = fmt.Errorf("kill machine %s: already killed", id)
	}
	if err != nil {
		s.mu.Unlock()
		return err
	}
	if m.mode == modeUp {
		m.expires = s.clk.Now().Add(s.opts.MachineTTL)
	}
	m.mode = modeKilled
	a := s.agents[id]
	s.mu.Unlock()
	a.reboot() // the host's systemd state is gone with it
	if hk, ok := s.exec.(HostKiller); ok {
		hk.KillMachine(id)
	}
	s.log.Info().Str("machine", id).Msg("machine killed")
	return nil
}

// ReviveMachine boots a killed machine again with the same ID: it heartbeats
// and its agent starts from an empty systemd.
func (s *Sim) ReviveMachine(id string) error {
	return s.resume(id, modeKilled, "revive")
}

// PartitionMachine cuts the machine off from etcd: its heartbeat and agent
// stop, but its units keep running.
func (s *Sim) PartitionMachine(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, err := s.machineLocked(id, "partition")
	if err != nil {
		return err
	}
	if m.mode != modeUp {
		return fmt.Errorf("partition machine %s: machine is %s, want up", id, m.mode)
	}
	m.mode = modePartitioned
	m.expires = s.clk.Now().Add(s.opts.MachineTTL)
	s.log.Info().Str("machine", id).Msg("machine partitioned")
	return nil
}

// HealMachine reconnects a partitioned machine: it heartbeats again and its
// agent at once stops units that are no longer assigned to it.
func (s *Sim) HealMachine(id string) error {
	return s.resume(id, modePartitioned, "heal")
}

func (s *Sim) resume(id string, from machineMode, verb string) error {
	s.mu.Lock()
	m, err := s.machineLocked(id, verb)
	if err == nil && m.mode != from {
		err = fmt.Errorf("%s machine %s: machine is %s, want %s", verb, id, m.mode, from)
	}
	if err != nil {
		s.mu.Unlock()
		return err
	}
	m.mode = modeUp
	m.expires = time.Time{}
	a := s.agents[id]
	s.mu.Unlock()
	a.kickNow()
	s.log.Info().Str("machine", id).Msg("machine " + verb + "d")
	return nil
}

func (s *Sim) machineLocked(id, verb string) (*machine, error) {
	m, ok := s.machines[id]
	if !ok {
		return nil, fmt.Errorf("%s machine %s: %w", verb, id, errNoMachine)
	}
	return m, nil
}

// liveLocked reports whether the machine's presence key exists now.
func (s *Sim) liveLocked(m *machine, now time.Time) bool {
	return m.mode == modeUp || now.Before(m.expires)
}

// liveMachinesLocked returns the live machines sorted by ID.
func (s *Sim) liveMachinesLocked() []*machine {
	now := s.clk.Now()
	var out []*machine
	for _, m := range s.machines {
		if s.liveLocked(m, now) {
			out = append(out, m)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}

// metadataLocked is the merged view: config ∪ dynamic, dynamic wins, a
// dynamic "" hides the key.
func (s *Sim) metadataLocked(m *machine) map[string]string {
	out := make(map[string]string, len(m.config))
	for k, v := range m.config {
		out[k] = v
	}
	for k, v := range s.dynMeta[m.id] {
		if v == "" {
			delete(out, k)
		} else {
			out[k] = v
		}
	}
	return out
}

// setDynamicLocked upserts a dynamic metadata value; "" is the tombstone.
func (s *Sim) setDynamicLocked(id, key, value string) {
	d := s.dynMeta[id]
	if d == nil {
		d = map[string]string{}
		s.dynMeta[id] = d
	}
	d[key] = value
}
