package ec2sim

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/stretchr/testify/require"
)

// TestDryRunResolvesIDs: a DryRun naming an ID that does not exist is
// answered with its NotFound error, as AWS does; one naming real resources
// is DryRunOperation even when the real call would fail on state.
func TestDryRunResolvesIDs(t *testing.T) {
	missingVol, missingInst := volID(0xdead), instID(0xdead)
	dry := aws.Bool(true)
	tests := []struct {
		name string
		call func(e *env) error
		want string
	}{
		{"attach unknown volume", func(e *env) error {
			_, err := e.ec2.AttachVolume(ctx(e.t), &ec2.AttachVolumeInput{DryRun: dry, VolumeId: aws.String(missingVol), InstanceId: aws.String(i2), Device: aws.String("/dev/xvdh")})
			return err
		}, "InvalidVolume.NotFound"},
		{"attach to unknown instance", func(e *env) error {
			_, err := e.ec2.AttachVolume(ctx(e.t), &ec2.AttachVolumeInput{DryRun: dry, VolumeId: aws.String(v2), InstanceId: aws.String(missingInst), Device: aws.String("/dev/xvdh")})
			return err
		}, "InvalidInstanceID.NotFound"},
		{"detach unknown volume", func(e *env) error {
			_, err := e.ec2.DetachVolume(ctx(e.t), &ec2.DetachVolumeInput{DryRun: dry, VolumeId: aws.String(missingVol), Force: aws.Bool(true)})
			return err
		}, "InvalidVolume.NotFound"},
		{"stop unknown instance", func(e *env) error {
			_, err := e.ec2.StopInstances(ctx(e.t), &ec2.StopInstancesInput{DryRun: dry, InstanceIds: []string{missingInst}})
			return err
		}, "InvalidInstanceID.NotFound"},
		{"tag unknown volume", func(e *env) error {
			_, err := e.ec2.CreateTags(ctx(e.t), &ec2.CreateTagsInput{DryRun: dry, Resources: []string{missingVol},
				Tags: []types.Tag{{Key: aws.String("volfailover:epoch"), Value: aws.String("1")}}})
			return err
		}, "InvalidVolume.NotFound"},
		{"modify unknown instance", func(e *env) error {
			_, err := e.ec2.ModifyInstanceAttribute(ctx(e.t), &ec2.ModifyInstanceAttributeInput{DryRun: dry, InstanceId: aws.String(missingInst),
				BlockDeviceMappings: []types.InstanceBlockDeviceMappingSpecification{{DeviceName: aws.String("/dev/xvdf"), Ebs: &types.EbsInstanceBlockDeviceSpecification{DeleteOnTermination: aws.Bool(false)}}}})
			return err
		}, "InvalidInstanceID.NotFound"},
		// Real IDs: a volume still attached to its owner may be dry-run
		// attached to a peer (what `volfailover check` does).
		{"attach in-use volume to a peer", func(e *env) error {
			_, err := e.ec2.AttachVolume(ctx(e.t), &ec2.AttachVolumeInput{DryRun: dry, VolumeId: aws.String(v1), InstanceId: aws.String(i2), Device: aws.String("/dev/xvdb")})
			return err
		}, "DryRunOperation"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, worldSeed())
			code, _ := apiCode(t, tc.call(e))
			require.Equal(t, tc.want, code, "got %s, want %s", code, tc.want)
			require.False(t, e.lastCall().Mutating())
			require.Equal(t, []SeedAttachment{{InstanceID: i1, Device: "/dev/xvdf", State: "attached"}}, e.sim.VolumeAttachments(v1), "a dry run changes nothing")
		})
	}
}

// TestKMSKeyUnusable: an encrypted volume whose key cannot be used is
// refused by AttachVolume with CustomerKeyHasBeenRevoked, synchronously.
func TestKMSKeyUnusable(t *testing.T) {
	const key = "arn:aws:kms:us-east-1:123456789012:key/0a1b2c3d-0000-4000-8000-000000000001"
	seed := worldSeed()
	seed.Volumes[1].KMSKeyID = key // v2, available in 1a
	tests := []struct {
		name    string
		disable func(e *env)
		want    string
	}{
		{"usable key attaches", func(*env) {}, ""},
		{"disabled with the Go API", func(e *env) { require.NoError(t, e.sim.SetKMSKeyUsable(key, false)) }, codeCustomerKeyRevoked},
		{"disabled through /_sim/kms-keys", func(e *env) {
			resp, body := e.postJSON(t, "/_sim/kms-keys", `{"keyId":"`+key+`","usable":false}`)
			require.Equal(t, http.StatusOK, resp.StatusCode, body)
		}, codeCustomerKeyRevoked},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, seed)
			vol := e.volume(v2)
			require.True(t, aws.ToBool(vol.Encrypted))
			require.Equal(t, key, aws.ToString(vol.KmsKeyId))
			tc.disable(e)

			_, err := e.ec2.AttachVolume(ctx(t), &ec2.AttachVolumeInput{DryRun: aws.Bool(true), VolumeId: aws.String(v2), InstanceId: aws.String(i2), Device: aws.String("/dev/xvdh")})
			code, _ := apiCode(t, err)
			require.Equal(t, "DryRunOperation", code, "a DryRun asks about IAM, not the key")

			_, err = e.attach(v2, i2, "/dev/xvdh")
			if tc.want == "" {
				require.NoError(t, err)
				return
			}
			code, status := apiCode(t, err)
			require.Equal(t, tc.want, code)
			require.Equal(t, http.StatusBadRequest, status)
			require.ErrorContains(t, err, "The encrypted volume was unable to access the KMS master key")
			require.Nil(t, e.sim.VolumeAttachments(v2), "a refused attach leaves the volume available")

			require.NoError(t, e.sim.SetKMSKeyUsable(key, true))
			_, err = e.attach(v2, i2, "/dev/xvdh")
			require.NoError(t, err, "usable again")
		})
	}
}

// TestDeleteOnTermination: terminating an instance deletes the volumes whose
// attachment has DeleteOnTermination, and ModifyInstanceAttribute clears it.
func TestDeleteOnTermination(t *testing.T) {
	bdm := func(dev string, dot *bool) []types.InstanceBlockDeviceMappingSpecification {
		return []types.InstanceBlockDeviceMappingSpecification{{DeviceName: aws.String(dev), Ebs: &types.EbsInstanceBlockDeviceSpecification{DeleteOnTermination: dot}}}
	}
	tests := []struct {
		name        string
		modify      []types.InstanceBlockDeviceMappingSpecification // nil = no call
		wantCode    string
		wantDeleted bool
	}{
		{"launch mapping is deleted", nil, "", true},
		{"cleared, survives", bdm("/dev/xvdf", aws.Bool(false)), "", false},
		{"no value means true", bdm("/dev/xvdf", nil), "", true},
		{"unmapped device refused", bdm("/dev/xvdz", aws.Bool(false)), "InvalidParameterValue", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			seed := worldSeed()
			seed.Volumes[0].Attachment.DeleteOnTermination = true // v1 on i1
			e := newEnv(t, seed)
			require.True(t, aws.ToBool(e.volume(v1).Attachments[0].DeleteOnTermination))
			require.True(t, aws.ToBool(e.instance(i1).BlockDeviceMappings[0].Ebs.DeleteOnTermination))
			out, err := e.ec2.DescribeVolumes(ctx(t), &ec2.DescribeVolumesInput{Filters: []types.Filter{{Name: aws.String("attachment.delete-on-termination"), Values: []string{"true"}}}})
			require.NoError(t, err)
			require.Len(t, out.Volumes, 1)
			require.Equal(t, v1, aws.ToString(out.Volumes[0].VolumeId))

			if tc.modify != nil {
				_, err := e.ec2.ModifyInstanceAttribute(ctx(t), &ec2.ModifyInstanceAttributeInput{InstanceId: aws.String(i1), BlockDeviceMappings: tc.modify})
				if tc.wantCode == "" {
					require.NoError(t, err)
				} else {
					code, _ := apiCode(t, err)
					require.Equal(t, tc.wantCode, code)
				}
				require.True(t, e.lastCall().Mutating())
				require.NotEmpty(t, e.lastCall().Params.Get("BlockDeviceMapping.1.DeviceName"), "wire form: flat BlockDeviceMapping.N")
			}
			require.NoError(t, e.sim.SetInstanceState(i1, "terminated"))
			_, err = e.ec2.DescribeVolumes(ctx(t), &ec2.DescribeVolumesInput{VolumeIds: []string{v1}})
			if tc.wantDeleted {
				code, _ := apiCode(t, err)
				require.Equal(t, "InvalidVolume.NotFound", code, "got %q, want the volume deleted with its instance", code)
			} else {
				require.NoError(t, err)
				require.Equal(t, types.VolumeStateAvailable, e.volume(v1).State)
			}
			require.Equal(t, types.VolumeStateAvailable, e.volume(v2).State, "other volumes are untouched")
		})
	}
}

// postJSON sends a JSON body to the test surface and returns the answer.
func (e *env) postJSON(t *testing.T, path, body string) (*http.Response, string) {
	t.Helper()
	resp, err := e.srv.Client().Post(e.srv.URL+path, "application/json", strings.NewReader(body))
	require.NoError(t, err, "post %s", path)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err, "read body")
	return resp, string(b)
}
