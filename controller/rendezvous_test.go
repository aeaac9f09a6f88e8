package controller

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/volfailover/volfailover/state"
)

func hostsIn(az string, n int) map[string]state.Host {
	hs := map[string]state.Host{}
	for i := range n {
		id := fmt.Sprintf("i-%017x", 0x100+i)
		hs[id] = state.Host{Instance: id, AZ: az, Machine: fmt.Sprintf("%032x", i), PrivateIP: "10.0.0.1"}
	}
	return hs
}

func TestWitnessChoiceStableAndLocal(t *testing.T) {
	hs := hostsIn("us-east-1a", 6)
	hs["i-00000000000000fff"] = state.Host{Instance: "i-00000000000000fff", AZ: "us-east-1b"}
	owner := state.Owner{Instance: "i-00000000000000100", AZ: "us-east-1a"}
	first := chooseWitnesses(owner, hs, 3)
	require.Len(t, first, 3)
	for range 20 { // map order changes between calls; the choice must not
		require.Equal(t, first, chooseWitnesses(owner, hs, 3))
	}
	require.NotContains(t, first, owner.Instance, "the owner never witnesses itself")
	require.NotContains(t, first, "i-00000000000000fff", "witnesses come from the owner's AZ")

	// Removing a host that is not a witness leaves the choice alone.
	for id := range hs {
		if id != owner.Instance && !contains(first, id) && hs[id].AZ == owner.AZ {
			delete(hs, id)
			break
		}
	}
	require.Equal(t, first, chooseWitnesses(owner, hs, 3), "unrelated departure moved the witnesses")

	// Fewer candidates than k: all of them.
	small := hostsIn("us-east-1a", 2)
	require.Len(t, chooseWitnesses(state.Owner{Instance: "i-00000000000000100", AZ: "us-east-1a"}, small, 3), 1)
}

func TestWitnessChoiceSpreads(t *testing.T) {
	hs := hostsIn("us-east-1a", 10)
	load := map[string]int{}
	for i := range 200 {
		owner := state.Owner{Instance: fmt.Sprintf("i-%017x", 0x9000+i), AZ: "us-east-1a"}
		for _, w := range chooseWitnesses(owner, hs, 3) {
			load[w]++
		}
	}
	require.Len(t, load, 10, "every host witnesses someone")
	for id, n := range load { // 600 slots over 10 hosts: 60 expected
		require.True(t, n >= 30 && n <= 95, "host %s witnesses %d owners, want about 60", id, n)
	}
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func TestRendezvousTopMatchesFullRanking(t *testing.T) {
	ids := make([]string, 0, 50)
	for i := range 50 {
		ids = append(ids, fmt.Sprintf("i-%017x", 0x500+i))
	}
	for _, k := range []int{0, 1, 3, 50, 60} {
		got := rendezvousTop("witness/x", ids, k, ids[7])
		full := slices.Clone(ids)
		full = slices.DeleteFunc(full, func(s string) bool { return s == ids[7] })
		slices.SortFunc(full, func(a, b string) int {
			sa, sb := rendezvousScore("witness/x", a), rendezvousScore("witness/x", b)
			switch {
			case sa > sb:
				return -1
			case sa < sb:
				return 1
			}
			return strings.Compare(a, b)
		})
		want := full[:min(k, len(full))]
		require.Equal(t, want, got, "top %d", k)
	}
}

func TestWitnessCacheFollowsHosts(t *testing.T) {
	hs := hostsIn("us-east-1a", 12)
	hs["i-00000000000000fff"] = state.Host{Instance: "i-00000000000000fff", AZ: "us-east-1b"}
	owners := []state.Owner{{Instance: "i-00000000000000100", AZ: "us-east-1a"}, {Instance: "i-00000000000000fff", AZ: "us-east-1b"},
		{Instance: "i-00000000000000900", AZ: "us-east-1a"}}
	c := newWitnessCache(3)
	check := func(msg string) {
		got := c.assign(owners, hs)
		require.Len(t, got, len(owners), msg)
		for _, o := range owners {
			require.Equal(t, chooseWitnesses(o, hs, 3), got[o.Instance], "%s: owner %s", msg, o.Instance)
		}
	}
	check("first round")
	check("unchanged")
	w := c.assign(owners, hs)["i-00000000000000100"]
	delete(hs, w[0])
	check("a witness left")
	hs["i-00000000000000abc"] = state.Host{Instance: "i-00000000000000abc", AZ: "us-east-1a"}
	check("a host joined")
	owners = owners[:1]
	check("owners shrank")
	require.Len(t, c.byOwner, 1, "entries of departed owners dropped")
	delete(hs, "i-00000000000000fff")
	owners = append(owners, state.Owner{Instance: "i-00000000000000fff", AZ: "us-east-1b"})
	check("AZ emptied")
}

func BenchmarkWitnesses(b *testing.B) {
	hs := hostsIn("us-east-1a", 1300)
	owners := make([]state.Owner, 0, 1000)
	for i := range 1000 {
		owners = append(owners, state.Owner{Instance: fmt.Sprintf("i-%017x", 0x100+i), AZ: "us-east-1a"})
	}
	b.Run("chooseWitnesses", func(b *testing.B) {
		for b.Loop() {
			for _, o := range owners {
				chooseWitnesses(o, hs, 3)
			}
		}
	})
	b.Run("cached", func(b *testing.B) {
		c := newWitnessCache(3)
		for b.Loop() {
			c.assign(owners, hs)
		}
	})
}
