package awsops

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// PermissionResult is the outcome of one DryRun call.
type PermissionResult struct {
	// Action is the EC2 action, e.g. "AttachVolume".
	Action string
	// On names the resources the dry run named, e.g. "vol-1 on i-2 as
	// /dev/xvdb", so a denial can be traced to the IAM condition that
	// refused it.
	On string
	// Allowed is true when EC2 answered DryRunOperation.
	Allowed bool
	// Err is nil when allowed; wraps ErrUnauthorized when IAM denies the
	// action; any other error (ErrVolumeNotFound, ErrInstanceNotFound, ...)
	// means the check could not decide.
	Err error
}

// PermissionTargets are the real resources a failover of one volume acts
// on. IAM policies are resource-scoped (tags on the volume and the
// instances, the tag keys written), so only a dry run against the very IDs
// and tag keys volfailover will use says whether it will be allowed; and EC2
// answers a dry run naming an ID that does not exist with NotFound, not
// DryRunOperation.
type PermissionTargets struct {
	// Volume is the managed volume.
	Volume string
	// Owner is the instance the volume is attached to: fenced
	// (StopInstances), detached from, and the one whose DeleteOnTermination
	// is cleared.
	Owner string
	// OwnerDevice is the volume's device on Owner.
	OwnerDevice string
	// Target is a peer in the volume's AZ the volume could fail over to;
	// "" skips the AttachVolume dry run with an error saying so.
	Target string
	// Device is the device the controller attaches the volume as.
	Device string
	// Tags are the tags the controller writes on the volume after a move
	// (keys matter to IAM's aws:TagKeys; values are examples).
	Tags map[string]string
}

// ErrNoTarget: a permission check had no failover target to dry-run
// AttachVolume against.
var ErrNoTarget = errors.New("no failover target")

// CheckPermissions issues, without retries, a DryRun of every EC2 call
// volfailover makes for one volume, against the real IDs in t, and reports
// which IAM allows: StopInstances, DetachVolume and ModifyInstanceAttribute
// (DeleteOnTermination) on the owner, AttachVolume to the target, CreateTags
// with the controller's tag keys on the volume, and the three describes.
func (c *Client) CheckPermissions(ctx context.Context, t PermissionTargets) []PermissionResult {
	dry := aws.Bool(true)
	noRetry := func(o *ec2.Options) { o.Retryer = aws.NopRetryer{}; o.RetryMaxAttempts = 0 }
	var tags []types.Tag
	for _, k := range slices.Sorted(maps.Keys(t.Tags)) {
		tags = append(tags, types.Tag{Key: aws.String(k), Value: aws.String(t.Tags[k])})
	}
	checks := []struct {
		action, on string
		skip       error
		call       func() error
	}{
		{"StopInstances", t.Owner, nil, func() error {
			_, err := c.api.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{t.Owner}, Force: aws.Bool(true), DryRun: dry}, noRetry)
			return err
		}},
		{"DetachVolume", fmt.Sprintf("%s from %s", t.Volume, t.Owner), nil, func() error {
			_, err := c.api.DetachVolume(ctx, &ec2.DetachVolumeInput{VolumeId: &t.Volume, InstanceId: &t.Owner, Force: aws.Bool(true), DryRun: dry}, noRetry)
			return err
		}},
		{"AttachVolume", fmt.Sprintf("%s to %s as %s", t.Volume, orNone(t.Target), t.Device), targetMissing(t), func() error {
			_, err := c.api.AttachVolume(ctx, &ec2.AttachVolumeInput{VolumeId: &t.Volume, InstanceId: &t.Target, Device: &t.Device, DryRun: dry}, noRetry)
			return err
		}},
		{"CreateTags", fmt.Sprintf("%s keys %v", t.Volume, slices.Sorted(maps.Keys(t.Tags))), nil, func() error {
			_, err := c.api.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{t.Volume}, Tags: tags, DryRun: dry}, noRetry)
			return err
		}},
		{"ModifyInstanceAttribute", fmt.Sprintf("%s %s DeleteOnTermination=false", t.Owner, t.OwnerDevice), nil, func() error {
			_, err := c.api.ModifyInstanceAttribute(ctx, deleteOnTerminationInput(t.Owner, t.OwnerDevice, false, true), noRetry)
			return err
		}},
		{"DescribeVolumes", t.Volume, nil, func() error {
			_, err := c.api.DescribeVolumes(ctx, &ec2.DescribeVolumesInput{VolumeIds: []string{t.Volume}, DryRun: dry}, noRetry)
			return err
		}},
		{"DescribeInstances", t.Owner, nil, func() error {
			_, err := c.api.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{t.Owner}, DryRun: dry}, noRetry)
			return err
		}},
		{"DescribeInstanceStatus", t.Owner, nil, func() error {
			_, err := c.api.DescribeInstanceStatus(ctx, &ec2.DescribeInstanceStatusInput{InstanceIds: []string{t.Owner}, IncludeAllInstances: aws.Bool(true), DryRun: dry}, noRetry)
			return err
		}},
	}
	out := make([]PermissionResult, 0, len(checks))
	for _, ch := range checks {
		if ch.skip != nil {
			out = append(out, PermissionResult{Action: ch.action, On: ch.on, Err: fmt.Errorf("dry run %s: %w", ch.action, ch.skip)})
			continue
		}
		r := dryRunResult(ch.action, ch.call())
		r.On = ch.on
		out = append(out, r)
	}
	return out
}

// targetMissing explains why AttachVolume cannot be dry-run, or nil.
func targetMissing(t PermissionTargets) error {
	if t.Target == "" {
		return fmt.Errorf("%w: no registered peer in the volume's availability zone, so %s cannot fail over", ErrNoTarget, t.Volume)
	}
	return nil
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
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
