package sandbox

import "time"

// The kinds of fault the sandbox injects, as FaultWindow.Kind names them.
const (
	FaultKill          = "kill-host"        // every process killed; Stopped says whether EC2 stopped the instance too
	FaultPartition     = "partition-host"   // the host's address cut off
	FaultPartitionPair = "partition-pair"   // Host and Peer cut from each other
	FaultOneWay        = "partition-oneway" // Host cannot reach Peer
	FaultEtcd          = "partition-etcd"   // the host cut off etcd only
	// Faults of the etcd cluster: Host names the member (etcd1..etcd3).
	FaultMemberKill      = "etcd-member-kill"      // the member's process SIGKILLed, until restarted
	FaultMemberPartition = "etcd-member-partition" // the member cut off its peers and clients
	FaultMemberStall     = "etcd-member-stall"     // the member's WAL fsyncs delayed
	FaultLeaderMove      = "etcd-leader-move"      // etcd leadership moved to Host (MoveLeader)
)

// FaultWindow is one fault the sandbox injected and, once it was undone, when.
// Checks judge the controllers against these: a host inside a window was not
// healthy (or not reachable from Peer), and a volume must be served again
// within a bound after a window ends. To is zero while the fault holds.
type FaultWindow struct {
	Kind string    `json:"kind"`
	Host string    `json:"host"`
	Peer string    `json:"peer,omitempty"`
	From time.Time `json:"from"`
	To   time.Time `json:"to,omitzero"`
	// Stopped is set on a kill that also stopped the instance in EC2.
	Stopped bool `json:"stopped,omitempty"`
}

// Faults returns every fault window so far, oldest first.
func (s *Sandbox) Faults() []FaultWindow {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]FaultWindow(nil), s.faults...)
}

// faultBegin opens a window at now unless the same fault is open already.
func (s *Sandbox) faultBegin(w FaultWindow) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range s.faults {
		if f.To.IsZero() && f.Kind == w.Kind && f.Host == w.Host && f.Peer == w.Peer {
			return
		}
	}
	w.From = time.Now()
	s.faults = append(s.faults, w)
}

// faultEnd closes every open window of host (and peer, when given) whose
// kind is one of kinds; a pair cut is closed whichever way round it is named.
func (s *Sandbox) faultEnd(host, peer string, kinds ...string) {
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.faults {
		f := &s.faults[i]
		same := f.Host == host && f.Peer == peer
		// A pair cut is one fault whichever host is named first.
		swapped := f.Kind == FaultPartitionPair && f.Host == peer && f.Peer == host
		if !f.To.IsZero() || !(same || swapped) {
			continue
		}
		for _, k := range kinds {
			if f.Kind == k {
				f.To = now
			}
		}
	}
}
