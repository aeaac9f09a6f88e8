package awsops

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// SetDeleteOnTermination sets the DeleteOnTermination flag of the volume
// attached to instanceID as device. A volume from an instance's launch
// block-device mapping has it set by default, and EC2 then deletes the
// volume when the instance is terminated: an operator (or an Auto Scaling
// group) terminating a dead database host would destroy the very volume
// volfailover exists to move. Volumes attached later default to false.
//
// It is one ModifyInstanceAttribute call with BlockDeviceMappings, the only
// attribute in the call ("You can specify only one attribute at a time",
// aws-sdk-go-v2 service/ec2 api_op_ModifyInstanceAttribute.go), retried
// like every mutation. EC2 sets the flag in place, so repeating it is
// harmless; there is no read-back because describes may lag the change.
func (c *Client) SetDeleteOnTermination(ctx context.Context, instanceID, device string, deleteOnTermination bool) error {
	what := fmt.Sprintf("set DeleteOnTermination=%t for %s on %s", deleteOnTermination, device, instanceID)
	if !instanceIDRE.MatchString(instanceID) || device == "" {
		return fmt.Errorf("%s: instance ID and device are required: %w", what, ErrInvalidParameter)
	}
	_, err := c.api.ModifyInstanceAttribute(ctx, deleteOnTerminationInput(instanceID, device, deleteOnTermination, false), c.mutation)
	if err != nil {
		return fmt.Errorf("%s: %w", what, classify(err))
	}
	c.log.Info().Str("instance", instanceID).Str("device", device).Bool("delete_on_termination", deleteOnTermination).Msg("block device mapping modified")
	return nil
}

// deleteOnTerminationInput is the ModifyInstanceAttribute request that
// SetDeleteOnTermination sends, and that CheckPermissions dry-runs.
func deleteOnTerminationInput(instanceID, device string, deleteOnTermination, dryRun bool) *ec2.ModifyInstanceAttributeInput {
	in := &ec2.ModifyInstanceAttributeInput{
		InstanceId: aws.String(instanceID),
		BlockDeviceMappings: []types.InstanceBlockDeviceMappingSpecification{{
			DeviceName: aws.String(device),
			Ebs:        &types.EbsInstanceBlockDeviceSpecification{DeleteOnTermination: aws.Bool(deleteOnTermination)},
		}},
	}
	if dryRun {
		in.DryRun = aws.Bool(true)
	}
	return in
}
