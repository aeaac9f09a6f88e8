package sandbox

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestFaultWindows: each undo closes only the windows it undoes; a revive
// ends a kill and a partition of the host (its firewall rule goes too).
func TestFaultWindows(t *testing.T) {
	s := &Sandbox{}
	s.faultBegin(FaultWindow{Kind: FaultPartition, Host: "core1"})
	s.faultBegin(FaultWindow{Kind: FaultPartition, Host: "core1"}) // already open: one window
	s.faultBegin(FaultWindow{Kind: FaultOneWay, Host: "core2", Peer: "core1"})
	s.faultBegin(FaultWindow{Kind: FaultPartitionPair, Host: "core3", Peer: "core1"})
	s.faultEnd("core1", "", FaultKill, FaultPartition)
	s.faultEnd("core1", "core3", FaultPartitionPair) // healed the other way round
	f := s.Faults()
	require.Len(t, f, 3, "got %+v", f)
	require.False(t, f[0].To.IsZero(), "the partition of core1 ended: %+v", f[0])
	require.True(t, f[1].To.IsZero(), "the one-way cut still holds: %+v", f[1])
	require.False(t, f[2].To.IsZero(), "the pair cut ended: %+v", f[2])
}
