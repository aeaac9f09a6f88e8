package awsops

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
)

// instance reads one instance (without status checks); a missing one is
// ErrInstanceNotFound.
func (c *Client) instance(ctx context.Context, id string) (Instance, error) {
	if !instanceIDRE.MatchString(id) {
		return Instance{}, fmt.Errorf("instance id %q is not an instance ID: %w", id, ErrInvalidParameter)
	}
	out, err := c.api.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
	if err != nil {
		return Instance{}, fmt.Errorf("describe instance %s: %w", id, classify(err))
	}
	for _, r := range out.Reservations {
		for _, i := range r.Instances {
			if aws.ToString(i.InstanceId) == id {
				return instanceFrom(i)
			}
		}
	}
	return Instance{}, fmt.Errorf("describe instance %s: not in the response: %w", id, ErrInstanceNotFound)
}

// volume reads one volume; a missing one is ErrVolumeNotFound.
func (c *Client) volume(ctx context.Context, id string) (Volume, error) {
	if !volumeIDRE.MatchString(id) {
		return Volume{}, fmt.Errorf("volume id %q is not a volume ID: %w", id, ErrInvalidParameter)
	}
	out, err := c.api.DescribeVolumes(ctx, &ec2.DescribeVolumesInput{VolumeIds: []string{id}})
	if err != nil {
		return Volume{}, fmt.Errorf("describe volume %s: %w", id, classify(err))
	}
	for _, v := range out.Volumes {
		if aws.ToString(v.VolumeId) == id {
			return volumeFrom(v)
		}
	}
	return Volume{}, fmt.Errorf("describe volume %s: not in the response: %w", id, ErrVolumeNotFound)
}
