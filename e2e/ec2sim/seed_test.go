package ec2sim

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const goodSeed = `{"instances":[{"id":"i-0a1b2c3d","az":"us-east-1a","privateIp":"127.0.1.1","state":"running","tags":{"Name":"core1"}},
 {"id":"i-0123456789abcdef0","az":"us-east-1a","privateIp":"127.0.1.2","state":"stopped"}],
 "volumes":[{"id":"vol-0b1c2d3e","az":"us-east-1a","size":50,"tags":{"volfailover:managed":"true"},"attachment":{"instanceId":"i-0a1b2c3d","device":"/dev/xvdb"}},
 {"id":"vol-0a1b2c3d4e5f60718","az":"us-east-1a","size":10}]}`

func TestLoadSeedValid(t *testing.T) {
	seed, err := LoadSeed(strings.NewReader(goodSeed))
	require.NoError(t, err)
	require.Len(t, seed.Instances, 2)
	require.Equal(t, "127.0.1.1", seed.Instances[0].PrivateIP)
	require.Equal(t, &SeedAttachment{InstanceID: "i-0a1b2c3d", Device: "/dev/xvdb"}, seed.Volumes[0].Attachment)
	e := newEnv(t, seed)
	require.Equal(t, "stopped", e.sim.InstanceState("i-0123456789abcdef0"))
	require.Equal(t, "attached", e.sim.VolumeAttachments("vol-0b1c2d3e")[0].State)
	err = e.sim.Apply(seed)
	require.ErrorContains(t, err, `"i-0a1b2c3d" already exists`, "re-applying the same IDs is refused")
}

func TestLoadSeedRejects(t *testing.T) {
	inst := func(fields string) string {
		return `{"instances":[{"id":"i-0a1b2c3d","az":"us-east-1a","state":"running"` + fields + `}],"volumes":[]}`
	}
	vol := func(fields string) string {
		return `{"instances":[{"id":"i-0a1b2c3d","az":"us-east-1a"},{"id":"i-0a1b2c3e","az":"us-east-1b"}],"volumes":[{"id":"vol-0b1c2d3e","az":"us-east-1a","size":5` + fields + `}]}`
	}
	tests := []struct {
		name, in string
		want     []string
	}{
		{"unknown top-level field", `{"instances":[],"hosts":[]}`, []string{`unknown field "hosts"`}},
		{"unknown instance field", inst(`,"ip":"1.2.3.4"`), []string{`unknown field "ip"`}},
		{"unknown attachment field", vol(`,"attachment":{"instanceId":"i-0a1b2c3d","device":"/dev/xvdb","force":true}`), []string{`unknown field "force"`}},
		{"short instance id", `{"instances":[{"id":"i-0a1","az":"us-east-1a"}]}`, []string{"instances[0].id", `"i-0a1"`}},
		{"non-hex instance id", `{"instances":[{"id":"i-0a1b2c3z","az":"us-east-1a"}]}`, []string{"instances[0].id", `"i-0a1b2c3z"`}},
		{"bad volume id", `{"volumes":[{"id":"vol-xyz","az":"us-east-1a","size":1}]}`, []string{"volumes[0].id", `"vol-xyz"`}},
		{"volume id as instance", `{"volumes":[{"id":"i-0a1b2c3d","az":"us-east-1a","size":1}]}`, []string{"volumes[0].id"}},
		{"bad az", `{"instances":[{"id":"i-0a1b2c3d","az":"east"}]}`, []string{"instances[0].az", `"east"`}},
		{"bad ip", inst(`,"privateIp":"10.0.0.300"`), []string{"instances[0].privateIp", `"10.0.0.300"`}},
		{"ipv6 ip", inst(`,"privateIp":"::1"`), []string{"instances[0].privateIp"}},
		{"bad state", `{"instances":[{"id":"i-0a1b2c3d","az":"us-east-1a","state":"sleeping"}]}`, []string{"instances[0].state", `"sleeping"`}},
		{"empty tag key", inst(`,"tags":{"":"x"}`), []string{"instances[0].tags"}},
		{"duplicate instance", `{"instances":[{"id":"i-0a1b2c3d","az":"us-east-1a"},{"id":"i-0a1b2c3d","az":"us-east-1a"}]}`, []string{"instances[1].id", "twice"}},
		{"size zero", `{"volumes":[{"id":"vol-0b1c2d3e","az":"us-east-1a","size":0}]}`, []string{"volumes[0].size", "0"}},
		{"unknown attached instance", vol(`,"attachment":{"instanceId":"i-0a1b2c3f","device":"/dev/xvdb"}`), []string{"volumes[0].attachment.instanceId", `"i-0a1b2c3f"`}},
		{"attachment across AZs", vol(`,"attachment":{"instanceId":"i-0a1b2c3e","device":"/dev/xvdb"}`), []string{"volumes[0].attachment.instanceId", "us-east-1b"}},
		{"bad device", vol(`,"attachment":{"instanceId":"i-0a1b2c3d","device":"/dev/sdk1"}`), []string{"volumes[0].attachment.device", `"/dev/sdk1"`}},
		{"attachment state", vol(`,"attachment":{"instanceId":"i-0a1b2c3d","device":"/dev/xvdb","state":"busy"}`), []string{"volumes[0].attachment.state"}},
		{"device twice", `{"instances":[{"id":"i-0a1b2c3d","az":"us-east-1a"}],"volumes":[
			{"id":"vol-0b1c2d3e","az":"us-east-1a","size":5,"attachment":{"instanceId":"i-0a1b2c3d","device":"/dev/xvdb"}},
			{"id":"vol-0b1c2d3f","az":"us-east-1a","size":5,"attachment":{"instanceId":"i-0a1b2c3d","device":"/dev/xvdb"}}]}`, []string{"volumes[1].attachment.device", "already used"}},
		{"wrong type", `{"volumes":[{"id":"vol-0b1c2d3e","az":"us-east-1a","size":"big"}]}`, []string{"size"}},
		{"trailing data", `{"instances":[]} {}`, []string{"trailing data"}},
		{"not json", `instances:`, []string{"load seed"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadSeed(strings.NewReader(tc.in))
			require.Error(t, err)
			for _, w := range tc.want {
				require.ErrorContains(t, err, w)
			}
		})
	}
}

func TestApplyValidatesGoSeeds(t *testing.T) {
	e := newEnv(t, worldSeed())
	err := e.sim.Apply(&Seed{Volumes: []SeedVolume{{ID: volID(77), AZ: "us-east-1b", Size: 1, Attachment: &SeedAttachment{InstanceID: i1, Device: "/dev/xvdq"}}}})
	require.ErrorContains(t, err, "volumes[0].attachment.instanceId", "attachment to an existing instance in another AZ")
	err = e.sim.Apply(&Seed{Volumes: []SeedVolume{{ID: volID(77), AZ: "us-east-1a", Size: 1, Attachment: &SeedAttachment{InstanceID: i1, Device: "/dev/xvdf"}}}})
	require.ErrorContains(t, err, "already used on "+i1)
	require.NoError(t, e.sim.Apply(&Seed{Volumes: []SeedVolume{{ID: volID(77), AZ: "us-east-1a", Size: 1, Attachment: &SeedAttachment{InstanceID: i1, Device: "/dev/xvdq"}}}}))
	require.Error(t, e.sim.Apply(nil))
}
