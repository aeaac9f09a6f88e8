package controller

import (
	"fmt"
	"sort"
	"strings"

	"github.com/volfailover/volfailover/awsops"
	"github.com/volfailover/volfailover/fleet"
	"github.com/volfailover/volfailover/state"
)

// targetInput is what target choice looks at, all from one round's read.
type targetInput struct {
	Volume, AZ, From string
	Hosts            map[string]state.Host      // live registrations
	Instances        map[string]awsops.Instance // EC2 view of hosts
	Machines         map[string]fleet.Machine   // live fleet machines by ID
	MetadataKey      string
	Holders          map[string]string // instance → managed volume attached to it
	Suspect          map[string]bool   // hosts whose verdict is not alive
	Preferred        string            // an operator's switchover target
}

// chooseTarget picks the host a volume moves to: registered and healthy (lease
// alive, EC2 running with no impaired check, fleet machine live, not suspect),
// in the volume's AZ, not the old owner, not carrying another value of the
// metadata key nor holding another managed volume, not nofailover. Among equals
// the choice is deterministic (rendezvous hash on the volume); an operator's
// preferred target wins if it is eligible and is refused, with the reason, if not.
func chooseTarget(in targetInput) (state.Host, error) {
	reasons := map[string]string{}
	var eligible []string
	ids := make([]string, 0, len(in.Hosts))
	for id := range in.Hosts {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		if why := in.ineligible(in.Hosts[id]); why != "" {
			reasons[id] = why
			continue
		}
		eligible = append(eligible, id)
	}
	if in.Preferred != "" {
		if _, ok := in.Hosts[in.Preferred]; !ok {
			return state.Host{}, fmt.Errorf("target %s for %s: not registered (no live volfailover on it)", in.Preferred, in.Volume)
		}
		if why := reasons[in.Preferred]; why != "" {
			return state.Host{}, fmt.Errorf("target %s for %s: %s", in.Preferred, in.Volume, why)
		}
		return in.Hosts[in.Preferred], nil
	}
	if len(eligible) == 0 {
		var parts []string
		for _, id := range ids {
			if in.Hosts[id].AZ == in.AZ && id != in.From {
				parts = append(parts, id+": "+reasons[id])
			}
		}
		if len(parts) == 0 {
			return state.Host{}, fmt.Errorf("no target for %s: no other registered host in %s", in.Volume, in.AZ)
		}
		return state.Host{}, fmt.Errorf("no target for %s in %s: %s", in.Volume, in.AZ, strings.Join(parts, "; "))
	}
	return in.Hosts[rendezvousTop("target/"+in.Volume, eligible, 1, "")[0]], nil
}

func (in targetInput) ineligible(h state.Host) string {
	switch {
	case h.AZ != in.AZ:
		return "in " + h.AZ
	case h.Instance == in.From:
		return "the current owner"
	case h.NoFailover:
		return "marked nofailover"
	case in.Suspect[h.Instance]:
		return "suspect"
	}
	if v, ok := in.Holders[h.Instance]; ok && v != in.Volume {
		return "holds " + v
	}
	inst, ok := in.Instances[h.Instance]
	switch {
	case !ok:
		return "unknown to EC2"
	case inst.State != "running":
		return "EC2 state " + inst.State
	case inst.InstanceStatus == "impaired" || inst.SystemStatus == "impaired":
		return "EC2 status check impaired"
	case inst.AvailabilityZone != "" && inst.AvailabilityZone != in.AZ:
		return "EC2 places it in " + inst.AvailabilityZone
	}
	m, ok := in.Machines[h.Machine]
	if !ok {
		return "fleet does not list machine " + h.Machine
	}
	if v, ok := m.Metadata[in.MetadataKey]; ok && v != in.Volume {
		return fmt.Sprintf("fleet metadata %s=%s", in.MetadataKey, v)
	}
	return ""
}
