package awsops

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// PermissionResult is the outcome of one DryRun call.
type PermissionResult struct {
	// Action is the EC2 action, e.g. "AttachVolume".
	Action string
	// Allowed is true when EC2 answered DryRunOperation.
	Allowed bool
	// Err is nil when allowed; wraps ErrUnauthorized when IAM denies the
	// action; any other error means the check could not decide.
	Err error
}

// Placeholder IDs for the dry runs when no managed volume is attached
// anywhere: syntactically valid, owned by nobody. Resource-level IAM
// conditions cannot match them, so check on a host with managed volumes for
// an exact answer.
const (
	placeholderVolume   = "vol-00000000000000000"
	placeholderInstance = "i-00000000000000000"
	placeholderDevice   = "/dev/xvdz"
)

// CheckPermissions issues a DryRun of every call volfailover makes, without
// retries, and reports which IAM allows. The dry runs name a managed volume
// and the instance it is attached to when one is found (one extra
// DescribeVolumes), otherwise the placeholders above.
func (c *Client) CheckPermissions(ctx context.Context) []PermissionResult {
	volID, instID, device := c.permissionTargets(ctx)
	dry := aws.Bool(true)
	noRetry := func(o *ec2.Options) { o.Retryer = aws.NopRetryer{}; o.RetryMaxAttempts = 0 }
	checks := []struct {
		action string
		call   func() error
	}{
		{"AttachVolume", func() error {
			_, err := c.api.AttachVolume(ctx, &ec2.AttachVolumeInput{VolumeId: &volID, InstanceId: &instID, Device: &device, DryRun: dry}, noRetry)
			return err
		}},
		{"DetachVolume", func() error {
			_, err := c.api.DetachVolume(ctx, &ec2.DetachVolumeInput{VolumeId: &volID, InstanceId: &instID, Force: aws.Bool(true), DryRun: dry}, noRetry)
			return err
		}},
		{"StopInstances", func() error {
			_, err := c.api.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{instID}, Force: aws.Bool(true), DryRun: dry}, noRetry)
			return err
		}},
		{"CreateTags", func() error {
			_, err := c.api.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{volID},
				Tags: []types.Tag{{Key: aws.String("volfailover:permission-check"), Value: aws.String("dry-run")}}, DryRun: dry}, noRetry)
			return err
		}},
		{"DescribeVolumes", func() error {
			_, err := c.api.DescribeVolumes(ctx, &ec2.DescribeVolumesInput{VolumeIds: []string{volID}, DryRun: dry}, noRetry)
			return err
		}},
		{"DescribeInstances", func() error {
			_, err := c.api.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{instID}, DryRun: dry}, noRetry)
			return err
		}},
		{"DescribeInstanceStatus", func() error {
			_, err := c.api.DescribeInstanceStatus(ctx, &ec2.DescribeInstanceStatusInput{InstanceIds: []string{instID}, IncludeAllInstances: aws.Bool(true), DryRun: dry}, noRetry)
			return err
		}},
	}
	out := make([]PermissionResult, 0, len(checks))
	for _, ch := range checks {
		out = append(out, dryRunResult(ch.action, ch.call()))
	}
	return out
}

// dryRunResult reads the answer to a DryRun call.
func dryRunResult(action string, err error) PermissionResult {
	cerr := classify(err)
	switch {
	case errors.Is(cerr, ErrDryRunOK):
		return PermissionResult{Action: action, Allowed: true}
	case err == nil:
		return PermissionResult{Action: action, Err: fmt.Errorf("dry run %s: EC2 answered success, not DryRunOperation; DryRun was ignored", action)}
	default:
		return PermissionResult{Action: action, Err: fmt.Errorf("dry run %s: %w", action, cerr)}
	}
}

// permissionTargets picks a managed volume attached to some instance for
// the dry runs, or the placeholders.
func (c *Client) permissionTargets(ctx context.Context) (volID, instID, device string) {
	volID, instID, device = placeholderVolume, placeholderInstance, placeholderDevice
	out, err := c.api.DescribeVolumes(ctx, &ec2.DescribeVolumesInput{
		Filters:    []types.Filter{{Name: aws.String("tag-key"), Values: []string{c.opts.ManagedTagKey}}},
		MaxResults: aws.Int32(5),
	})
	if err != nil {
		c.log.Debug().Err(err).Msg("permission check: no managed volume read, using placeholder ids")
		return volID, instID, device
	}
	for _, v := range out.Volumes {
		vol, err := volumeFrom(v)
		if err != nil || len(vol.Attachments) == 0 {
			continue
		}
		return vol.ID, vol.Attachments[0].InstanceID, vol.Attachments[0].Device
	}
	return volID, instID, device
}
