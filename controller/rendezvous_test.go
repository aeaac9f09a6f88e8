package controller

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

func hostsIn(az string, n int) map[string]Host {
	hs := map[string]Host{}
	for i := range n {
		id := fmt.Sprintf("i-%017x", 0x100+i)
		hs[id] = Host{Instance: id, AZ: az, Machine: fmt.Sprintf("%032x", i), PrivateIP: "10.0.0.1"}
	}
	return hs
}

func TestWitnessChoiceStableAndLocal(t *testing.T) {
	hs := hostsIn("us-east-1a", 6)
	hs["i-00000000000000fff"] = Host{Instance: "i-00000000000000fff", AZ: "us-east-1b"}
	owner := Owner{Instance: "i-00000000000000100", AZ: "us-east-1a"}
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
	require.Len(t, chooseWitnesses(Owner{Instance: "i-00000000000000100", AZ: "us-east-1a"}, small, 3), 1)
}

func TestWitnessChoiceSpreads(t *testing.T) {
	hs := hostsIn("us-east-1a", 10)
	load := map[string]int{}
	for i := range 200 {
		owner := Owner{Instance: fmt.Sprintf("i-%017x", 0x9000+i), AZ: "us-east-1a"}
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
