package awsops

import (
	"context"
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// instanceListThreshold is the number of distinct instance IDs above which
// Instances lists instead of asking by ID. By ID, 1,000 hosts cost 2 + 10
// calls (status takes 100 IDs per call); listed, 2 per 1,000 instances in
// scope. Below it, by ID is cheaper in a large account and reads only what
// is asked for.
const instanceListThreshold = 200

// listInstances reads the instances in want by listing: DescribeInstances
// scoped by Options.InstanceTagKey/InstanceTagValue (when set), then
// DescribeInstanceStatus with IncludeAllInstances scoped to the zones of the
// instances found (status filters take no tags), both paged by pageSize.
// Instances outside want are dropped; wanted ones not listed stay absent.
func (c *Client) listInstances(ctx context.Context, want []string) (map[string]Instance, error) {
	wanted := make(map[string]bool, len(want))
	for _, id := range want {
		wanted[id] = true
	}
	scope := c.instanceScope()
	out := map[string]Instance{}
	in := &ec2.DescribeInstancesInput{Filters: c.instanceFilters(), MaxResults: aws.Int32(pageSize)}
	err := followPages(func(token *string) (*string, error) {
		in.NextToken = token
		resp, err := c.api.DescribeInstances(ctx, in)
		if err != nil {
			return nil, classify(err)
		}
		for _, r := range resp.Reservations {
			for _, i := range r.Instances {
				if !wanted[aws.ToString(i.InstanceId)] {
					continue
				}
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
		return nil, fmt.Errorf("list instances (%s) for %d ids: %w", scope, len(want), err)
	}
	if len(out) == 0 {
		return out, nil
	}
	zones := foundZones(out)
	sin := &ec2.DescribeInstanceStatusInput{
		IncludeAllInstances: aws.Bool(true), MaxResults: aws.Int32(pageSize),
		Filters: []types.Filter{{Name: aws.String("availability-zone"), Values: zones}},
	}
	err = followPages(func(token *string) (*string, error) {
		sin.NextToken = token
		resp, err := c.api.DescribeInstanceStatus(ctx, sin)
		if err != nil {
			return nil, classify(err)
		}
		for _, s := range resp.InstanceStatuses {
			inst, ok := out[aws.ToString(s.InstanceId)]
			if !ok {
				continue
			}
			applyStatus(&inst, s)
			out[inst.ID] = inst
		}
		return resp.NextToken, nil
	})
	if err != nil {
		return nil, fmt.Errorf("list status of %d instances in zones %v: %w", len(out), zones, err)
	}
	return out, nil
}

// instanceFilters is the tag filter of Options.InstanceTagKey/Value, or nil.
func (c *Client) instanceFilters() []types.Filter {
	switch {
	case c.opts.InstanceTagKey == "":
		return nil
	case c.opts.InstanceTagValue == "":
		return []types.Filter{{Name: aws.String("tag-key"), Values: []string{c.opts.InstanceTagKey}}}
	default:
		return []types.Filter{{Name: aws.String("tag:" + c.opts.InstanceTagKey), Values: []string{c.opts.InstanceTagValue}}}
	}
}

// instanceScope names the listing's scope for errors.
func (c *Client) instanceScope() string {
	switch {
	case c.opts.InstanceTagKey == "":
		return "all instances"
	case c.opts.InstanceTagValue == "":
		return "tag " + c.opts.InstanceTagKey
	default:
		return "tag " + c.opts.InstanceTagKey + "=" + c.opts.InstanceTagValue
	}
}

// foundZones returns the sorted zones of insts (instanceFrom guarantees
// each has one).
func foundZones(insts map[string]Instance) []string {
	set := map[string]bool{}
	for _, i := range insts {
		set[i.AvailabilityZone] = true
	}
	zones := make([]string, 0, len(set))
	for z := range set {
		zones = append(zones, z)
	}
	slices.Sort(zones)
	return zones
}

// followPages calls page with a nil token and then with each NextToken it
// returns until there is none. A token seen twice is an error rather than
// an endless loop.
func followPages(page func(token *string) (next *string, err error)) error {
	seen := map[string]bool{}
	var token *string
	for n := 1; ; n++ {
		next, err := page(token)
		if err != nil {
			return fmt.Errorf("page %d: %w", n, err)
		}
		t := aws.ToString(next)
		if t == "" {
			return nil
		}
		if seen[t] {
			return fmt.Errorf("page %d: nextToken %q repeated", n, t)
		}
		seen[t] = true
		token = aws.String(t)
	}
}
