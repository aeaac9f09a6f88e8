package main

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/volfailover/volfailover/awsops"
	"github.com/volfailover/volfailover/e2e/ec2sim"
)

// shippedPartitions are the partitions whose policy docs/deploy ships.
var shippedPartitions = []string{"aws", "aws-cn", "aws-us-gov"}

// TestIAMPolicyFiles keeps docs/deploy/iam-policy*.json equal to what
// `volfailover iam-policy` prints; -update rewrites them.
func TestIAMPolicyFiles(t *testing.T) {
	for _, p := range shippedPartitions {
		t.Run(p, func(t *testing.T) {
			r := runCLI(t, cliEnv(nil), "iam-policy", "--partition", p)
			require.Equal(t, exitOK, r.code, r.stderr)
			file := "../../" + policyFile(p)
			if *update {
				require.NoError(t, os.WriteFile(file, []byte(r.stdout), 0o644))
				return
			}
			raw, err := os.ReadFile(file)
			require.NoError(t, err, "the shipped policy of %s", p)
			require.Equal(t, r.stdout, string(raw), "%s is out of date: run go test ./cmd/volfailover -run TestIAMPolicyFiles -update", file)
		})
	}
	r := runCLI(t, cliEnv(nil), "iam-policy", "--partition", "aws-moon")
	require.Equal(t, exitUsage, r.code)
	r = runCLI(t, cliEnv(map[string]string{"VOLFAILOVER_PARTITION": "aws-cn"}), "iam-policy")
	require.Contains(t, r.stdout, "arn:aws-cn:ec2:", "partition from the environment")
}

// TestFixDeleteOnTermination: run --fix-delete-on-termination clears the
// flag on this host's managed volumes only.
func TestFixDeleteOnTermination(t *testing.T) {
	d := newCheckDeps(t, func(s *ec2sim.Seed) {
		s.Volumes[0].Attachment.DeleteOnTermination = true // volB on hostA
		s.Volumes = append(s.Volumes, ec2sim.SeedVolume{ID: volA, AZ: azA, Size: 10, Tags: map[string]string{"volfailover:managed": "true"},
			Attachment: &ec2sim.SeedAttachment{InstanceID: hostB, Device: "/dev/xvdb", DeleteOnTermination: true}})
	})
	f := newRunFlags()
	cmd := runCommand(cliEnv(nil), f)
	require.NoError(t, cmd.ParseFlags(append(append([]string{}, hostAIdentity...), "--aws-region", "us-east-1", "--ec2-endpoint", d.ec2URL, "--fix-delete-on-termination")))
	require.True(t, f.fixDeleteOnTermination, "the flag exists and is read")
	ao, err := f.awsOptions(f.o, zerolog.Nop())
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	c, err := awsops.New(ctx, ao)
	require.NoError(t, err)

	require.Equal(t, []string{"/dev/xvdb"}, fixDeleteOnTermination(ctx, c, f.o.InstanceID, zerolog.Nop()))
	require.False(t, d.ec2.VolumeAttachments(volB)[0].DeleteOnTermination, "this host's volume cleared")
	require.True(t, d.ec2.VolumeAttachments(volA)[0].DeleteOnTermination, "another host's volume is its own agent's to fix")
	require.Empty(t, fixDeleteOnTermination(ctx, c, f.o.InstanceID, zerolog.Nop()), "nothing left to fix")
}
