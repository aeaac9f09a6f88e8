package controller

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/volfailover/volfailover/awsops"
	"github.com/volfailover/volfailover/fleet"
	"github.com/volfailover/volfailover/state"
)

// targetWorld is four hosts in us-east-1a (the first owns vol-a) and one in 1b.
func targetWorld() targetInput {
	in := targetInput{Volume: "vol-0000000a", AZ: "us-east-1a", From: "i-00000000000000001", MetadataKey: "postgres",
		Hosts: map[string]state.Host{}, Instances: map[string]awsops.Instance{}, Machines: map[string]fleet.Machine{},
		Holders: map[string]string{"i-00000000000000001": "vol-0000000a"}, Suspect: map[string]bool{}}
	for i, az := range []string{"us-east-1a", "us-east-1a", "us-east-1a", "us-east-1a", "us-east-1b"} {
		id, m := fmt.Sprintf("i-%017x", i+1), fmt.Sprintf("%032x", i+1)
		in.Hosts[id] = state.Host{Instance: id, Machine: m, AZ: az, PrivateIP: fmt.Sprintf("10.0.0.%d", i+1)}
		in.Instances[id] = awsops.Instance{ID: id, AvailabilityZone: az, State: "running", InstanceStatus: "ok", SystemStatus: "ok"}
		in.Machines[m] = fleet.Machine{ID: m, Metadata: map[string]string{}}
	}
	return in
}

func TestChooseTarget(t *testing.T) {
	base, err := chooseTarget(targetWorld())
	require.NoError(t, err)
	require.Contains(t, []string{"i-00000000000000002", "i-00000000000000003", "i-00000000000000004"}, base.Instance)

	for _, tt := range []struct {
		name    string
		mutate  func(in *targetInput)
		want    []string // acceptable choices; nil = error
		errPart string
	}{
		{"only one healthy peer", func(in *targetInput) {
			in.Instances["i-00000000000000002"] = awsops.Instance{State: "stopped"}
			in.Instances["i-00000000000000003"] = awsops.Instance{State: "running", SystemStatus: "impaired"}
		}, []string{"i-00000000000000004"}, ""},
		{"nofailover and suspect skipped", func(in *targetInput) {
			h := in.Hosts["i-00000000000000002"]
			h.NoFailover = true
			in.Hosts[h.Instance] = h
			in.Suspect["i-00000000000000003"] = true
		}, []string{"i-00000000000000004"}, ""},
		{"conflicting metadata and other volume skipped", func(in *targetInput) {
			in.Machines[fmt.Sprintf("%032x", 2)] = fleet.Machine{ID: fmt.Sprintf("%032x", 2), Metadata: map[string]string{"postgres": "vol-0000000b"}}
			in.Holders["i-00000000000000003"] = "vol-0000000c"
		}, []string{"i-00000000000000004"}, ""},
		{"machine missing from fleet skipped", func(in *targetInput) {
			delete(in.Machines, fmt.Sprintf("%032x", 2))
			delete(in.Machines, fmt.Sprintf("%032x", 3))
		}, []string{"i-00000000000000004"}, ""},
		{"operator's target wins", func(in *targetInput) { in.Preferred = "i-00000000000000003" }, []string{"i-00000000000000003"}, ""},
		{"operator's target in another AZ refused", func(in *targetInput) { in.Preferred = "i-00000000000000005" }, nil, "in us-east-1b"},
		{"operator's target unknown", func(in *targetInput) { in.Preferred = "i-0000000000000009a" }, nil, "not registered"},
		{"no same-AZ peer", func(in *targetInput) {
			for _, id := range []string{"i-00000000000000002", "i-00000000000000003", "i-00000000000000004"} {
				delete(in.Hosts, id)
			}
		}, nil, "no other registered host in us-east-1a"},
		{"every peer ineligible, reasons listed", func(in *targetInput) {
			for _, id := range []string{"i-00000000000000002", "i-00000000000000003", "i-00000000000000004"} {
				in.Instances[id] = awsops.Instance{State: "stopping"}
			}
		}, nil, "EC2 state stopping"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			in := targetWorld()
			tt.mutate(&in)
			got, err := chooseTarget(in)
			if tt.want == nil {
				require.Error(t, err)
				require.Contains(t, err.Error(), tt.errPart)
				return
			}
			require.NoError(t, err)
			require.Contains(t, tt.want, got.Instance)
		})
	}
}

func TestChooseTargetDeterministicAndSpread(t *testing.T) {
	in := targetWorld()
	first, err := chooseTarget(in)
	require.NoError(t, err)
	for range 20 {
		got, err := chooseTarget(in)
		require.NoError(t, err)
		require.Equal(t, first.Instance, got.Instance, "same input, same target")
	}
	seen := map[string]bool{}
	for i := range 30 {
		in.Volume = fmt.Sprintf("vol-%08x", i)
		got, err := chooseTarget(in)
		require.NoError(t, err)
		seen[got.Instance] = true
	}
	require.Len(t, seen, 3, "different volumes spread over the eligible peers")
}
