package awsops

import (
	"context"
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// filterChunk is the most IDs one describe asks for in its filter.
const filterChunk = 200

// instance reads one instance (without status checks); a missing one is
// ErrInstanceNotFound. Concurrent reads share one describe.
func (c *Client) instance(ctx context.Context, id string) (Instance, error) {
	if !instanceIDRE.MatchString(id) {
		return Instance{}, fmt.Errorf("instance id %q is not an instance ID: %w", id, ErrInvalidParameter)
	}
	got, err := c.instanceReads.get(ctx, []string{id})
	if err != nil {
		return Instance{}, fmt.Errorf("describe instance %s: %w", id, err)
	}
	inst, ok := got[id]
	if !ok {
		return Instance{}, fmt.Errorf("describe instance %s: not in the response: %w", id, ErrInstanceNotFound)
	}
	return inst, nil
}

// volume reads one volume; a missing one is ErrVolumeNotFound. Concurrent
// reads share one describe.
func (c *Client) volume(ctx context.Context, id string) (Volume, error) {
	if !volumeIDRE.MatchString(id) {
		return Volume{}, fmt.Errorf("volume id %q is not a volume ID: %w", id, ErrInvalidParameter)
	}
	got, err := c.volumeReads.get(ctx, []string{id})
	if err != nil {
		return Volume{}, fmt.Errorf("describe volume %s: %w", id, err)
	}
	vol, ok := got[id]
	if !ok {
		return Volume{}, fmt.Errorf("describe volume %s: not in the response: %w", id, ErrVolumeNotFound)
	}
	return vol, nil
}

// describeVolumes reads volumes by ID with a volume-id filter: a filtered
// describe spends the action's large bucket (AccountBuckets), and IDs that
// do not exist are simply absent, never the whole call's failure.
func (c *Client) describeVolumes(ctx context.Context, ids []string) (map[string]Volume, error) {
	out := make(map[string]Volume, len(ids))
	for chunk := range slices.Chunk(ids, filterChunk) {
		in := &ec2.DescribeVolumesInput{Filters: []types.Filter{{Name: aws.String("volume-id"), Values: chunk}}}
		err := followPages(func(token *string) (*string, error) {
			in.NextToken = token
			resp, err := c.api.DescribeVolumes(ctx, in)
			if err != nil {
				return nil, classify(err)
			}
			for _, v := range resp.Volumes {
				vol, err := volumeFrom(v)
				if err != nil {
					return nil, err
				}
				out[vol.ID] = vol
			}
			return resp.NextToken, nil
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// describeInstances reads instances by ID (without status checks) with an
// instance-id filter, for the same reasons as describeVolumes.
func (c *Client) describeInstances(ctx context.Context, ids []string) (map[string]Instance, error) {
	out := make(map[string]Instance, len(ids))
	for chunk := range slices.Chunk(ids, filterChunk) {
		in := &ec2.DescribeInstancesInput{Filters: []types.Filter{{Name: aws.String("instance-id"), Values: chunk}}}
		err := followPages(func(token *string) (*string, error) {
			in.NextToken = token
			resp, err := c.api.DescribeInstances(ctx, in)
			if err != nil {
				return nil, classify(err)
			}
			for _, r := range resp.Reservations {
				for _, i := range r.Instances {
					inst, err := instanceFrom(i)
					if err != nil {
						return nil, err
					}
					out[inst.ID] = inst
				}
			}
			return resp.NextToken, nil
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}
