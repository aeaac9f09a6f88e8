package awsops

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const testKey = "arn:aws:kms:us-east-1:123456789012:key/0a1b2c3d-0000-4000-8000-000000000001"

// TestAttachKMSKeyUnusable: EC2's refusal to attach a volume whose key it
// cannot use is ErrKMSKeyUnusable, not a retryable or generic error, and the
// volume's key is visible to callers.
func TestAttachKMSKeyUnusable(t *testing.T) {
	for _, tc := range []struct {
		name     string
		unusable bool
		wantErr  error
	}{
		{"usable key", false, nil},
		{"unusable key", true, ErrKMSKeyUnusable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			seed := pairSeed()
			seed.Volumes[1].KMSKeyID = testKey // vid(2), available in azA
			e := newEnv(t, seed, nil, nil)
			if tc.unusable {
				require.NoError(t, e.sim.SetKMSKeyUsable(testKey, false))
			}
			vols, err := e.c.Volumes(testCtx(t, 5*time.Second), []string{vid(2)})
			require.NoError(t, err)
			require.True(t, vols[vid(2)].Encrypted)
			require.Equal(t, testKey, vols[vid(2)].KMSKeyID)

			_, err = e.c.AttachVolume(testCtx(t, 5*time.Second), vid(2), iid(2), []string{"/dev/sdf"})
			if tc.wantErr == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, tc.wantErr)
			require.NotErrorIs(t, err, ErrServer)
			require.ErrorContains(t, err, "CustomerKeyHasBeenRevoked")
			require.Len(t, calls(e.sim.Journal(), "AttachVolume"), 1, "a key error is not retried")
		})
	}
}

// TestSetDeleteOnTermination: the flag is read into Attachment and cleared
// with one ModifyInstanceAttribute; a volume left with it is deleted when its
// owner is terminated.
func TestSetDeleteOnTermination(t *testing.T) {
	for _, tc := range []struct {
		name        string
		clear       bool
		device      string
		wantErr     error
		wantDeleted bool
	}{
		{"not cleared: deleted with its owner", false, "", nil, true},
		{"cleared: survives", true, "/dev/xvdf", nil, false},
		{"wrong device: refused", true, "/dev/xvdz", ErrInvalidParameter, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			seed := pairSeed()
			seed.Volumes[0].Attachment.DeleteOnTermination = true // vid(1) on iid(1) as /dev/xvdf
			e := newEnv(t, seed, nil, nil)
			ctx := testCtx(t, 5*time.Second)
			vols, err := e.c.Volumes(ctx, []string{vid(1)})
			require.NoError(t, err)
			require.True(t, vols[vid(1)].Attachments[0].DeleteOnTermination, "got false, want the launch mapping's true")

			if tc.clear {
				err := e.c.SetDeleteOnTermination(ctx, iid(1), tc.device, false)
				require.ErrorIs(t, err, tc.wantErr)
				if tc.wantErr == nil {
					vols, err := e.c.Volumes(ctx, []string{vid(1)})
					require.NoError(t, err)
					require.False(t, vols[vid(1)].Attachments[0].DeleteOnTermination)
				}
			}
			require.NoError(t, e.sim.SetInstanceState(iid(1), "terminated"))
			vols, err = e.c.Volumes(ctx, []string{vid(1)})
			require.NoError(t, err)
			_, exists := vols[vid(1)]
			require.Equal(t, !tc.wantDeleted, exists, "volume exists after its owner's termination: got %t, want %t", exists, !tc.wantDeleted)
		})
	}
}

func TestPartition(t *testing.T) {
	for _, tc := range []struct {
		region, want string
		ok           bool
	}{
		{"us-east-1", "aws", true},
		{"eu-central-2", "aws", true},
		{"cn-north-1", "aws-cn", true},
		{"cn-northwest-1", "aws-cn", true},
		{"us-gov-west-1", "aws-us-gov", true},
		{"us-iso-east-1", "aws-iso", true},
		{"zz-nowhere-1", "", false},
	} {
		got, ok := Partition(tc.region)
		require.Equal(t, tc.ok, ok, "%s", tc.region)
		require.Equal(t, tc.want, got, "partition of %s: got %s want %s", tc.region, got, tc.want)
	}
}

// TestIAMPolicy: every ARN names the requested partition, CreateTags allows
// exactly the given keys, and the KMS grant is limited to AWS resources.
func TestIAMPolicy(t *testing.T) {
	for _, part := range []string{"aws", "aws-cn", "aws-us-gov"} {
		t.Run(part, func(t *testing.T) {
			b, err := IAMPolicy(PolicyOptions{Partition: part, ManagedTagKey: DefaultManagedTagKey, ClusterTagKey: DefaultInstanceTagKey,
				VolumeTagKeys: []string{"volfailover:failover-id", "volfailover:epoch"}})
			require.NoError(t, err)
			var doc struct {
				Statement []struct {
					Sid       string
					Action    any
					Resource  any
					Condition map[string]map[string]any
				}
			}
			require.NoError(t, json.Unmarshal(b, &doc))
			actions := map[string]bool{}
			for _, s := range doc.Statement {
				if r, ok := s.Resource.(string); ok && r != "*" {
					require.Regexp(t, "^arn:"+part+":(ec2|kms):", r, "%s", s.Sid)
				}
				switch a := s.Action.(type) {
				case string:
					actions[a] = true
				case []any:
					for _, x := range a {
						actions[x.(string)] = true
					}
				}
				if s.Action == "ec2:CreateTags" {
					require.Equal(t, []any{"volfailover:epoch", "volfailover:failover-id"}, s.Condition["ForAllValues:StringEquals"]["aws:TagKeys"])
				}
				if s.Action == "kms:CreateGrant" {
					require.Equal(t, true, s.Condition["Bool"]["kms:GrantIsForAWSResource"])
				}
			}
			for _, a := range append([]string{"ec2:AttachVolume", "ec2:DetachVolume", "ec2:StopInstances", "ec2:CreateTags", "ec2:ModifyInstanceAttribute",
				"ec2:DescribeVolumes", "ec2:DescribeInstances", "ec2:DescribeInstanceStatus"}, KMSAttachActions()...) {
				require.True(t, actions[a], "policy lacks %s", a)
			}
		})
	}
	_, err := IAMPolicy(PolicyOptions{Partition: "mars"})
	require.Error(t, err)
}
