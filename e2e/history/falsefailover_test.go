package history

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestFalseFailovers(t *testing.T) {
	for _, tc := range []struct {
		name  string
		edit  func(h *History)
		wants []string // substrings of each false failover's Why, in order
	}{
		{"owner killed", func(*History) {}, nil},
		{"owner healthy: no fault at all", func(h *History) {
			h.Faults = nil
			h.Sessions[0].To = time.Time{}
		}, []string{"owner healthy"}},
		{"owner cut off by a 2 s blip", func(h *History) {
			h.Faults = []Fault{{Kind: FaultPartition, Host: "core1", From: at(3), To: at(5)}}
			h.Sessions[0].To = time.Time{}
		}, []string{"only through a short fault: partition-host of core1 for 2s"}},
		{"owner cut off for longer than a blip", func(h *History) {
			h.Faults = []Fault{{Kind: FaultPartition, Host: "core1", From: at(2), To: at(20)}}
		}, nil},
		{"owner cut off, the cut still open", func(h *History) {
			h.Faults = []Fault{{Kind: FaultPartition, Host: "core1", From: at(3)}}
		}, nil},
		{"owner's link to two peers cut briefly, the blips overlapping", func(h *History) {
			h.Faults = []Fault{{Kind: FaultPair, Host: "core2", Peer: "core1", From: at(4), To: at(5.5)},
				{Kind: FaultPair, Host: "core3", Peer: "core1", From: at(4.5), To: at(6)}}
			h.Sessions[0].To = time.Time{}
		}, []string{"only through a short fault"}},
		{"a manual failover of a healthy owner is the operator's", func(h *History) {
			h.Faults = nil
			h.Sessions[0].To = time.Time{}
			h.Moves[0].Reason = "manual failover: drill (verdict alive)"
		}, nil},
		{"a dry run moves nothing", func(h *History) {
			h.Faults = nil
			h.Sessions[0].To = time.Time{}
			h.Moves[0].DryRun = true
		}, nil},
		{"EC2 reported the owner stopped", func(h *History) {
			h.Faults = []Fault{{Kind: FaultPartition, Host: "core1", From: at(4), To: at(5)}}
			h.Transitions = append(h.Transitions, Transition{Time: at(4.5), Instance: i1, State: "stopped"})
		}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := clean()
			tc.edit(&h)
			got := FalseFailovers(h, 2*time.Second)
			require.Len(t, got, len(tc.wants), "got %+v", got)
			for i, w := range tc.wants {
				require.Contains(t, got[i].Why, w)
				require.Equal(t, moveI, got[i].ID)
				require.Equal(t, at(4.9), got[i].At)
			}
		})
	}
}
