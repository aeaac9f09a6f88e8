package awsops

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// Batch sizes: DescribeInstanceStatus takes at most 100 IDs; listings ask
// for pages of 1000.
const (
	instanceStatusChunk = 100
	pageSize            = 1000
)

var (
	volumeIDRE   = regexp.MustCompile(`^vol-([0-9a-f]{8}|[0-9a-f]{17})$`)
	instanceIDRE = regexp.MustCompile(`^i-([0-9a-f]{8}|[0-9a-f]{17})$`)
)

// ManagedVolumes returns every volume carrying Options.ManagedTagKey (and
// ManagedTagValue when set), following all pages, sorted by ID.
func (c *Client) ManagedVolumes(ctx context.Context) ([]Volume, error) {
	filter := types.Filter{Name: aws.String("tag-key"), Values: []string{c.opts.ManagedTagKey}}
	if c.opts.ManagedTagValue != "" {
		filter = types.Filter{Name: aws.String("tag:" + c.opts.ManagedTagKey), Values: []string{c.opts.ManagedTagValue}}
	}
	in := &ec2.DescribeVolumesInput{Filters: []types.Filter{filter}, MaxResults: aws.Int32(pageSize)}
	byID := map[string]Volume{}
	seen := map[string]bool{}
	for page := 1; ; page++ {
		out, err := c.api.DescribeVolumes(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("describe managed volumes (tag %s), page %d: %w", c.opts.ManagedTagKey, page, classify(err))
		}
		for _, v := range out.Volumes {
			vol, err := volumeFrom(v)
			if err != nil {
				return nil, err
			}
			byID[vol.ID] = vol
		}
		next := aws.ToString(out.NextToken)
		if next == "" {
			break
		}
		if seen[next] {
			return nil, fmt.Errorf("describe managed volumes: nextToken %q repeated on page %d", next, page)
		}
		seen[next] = true
		in.NextToken = aws.String(next)
	}
	vols := make([]Volume, 0, len(byID))
	for _, v := range byID {
		vols = append(vols, v)
	}
	slices.SortFunc(vols, func(a, b Volume) int { return strings.Compare(a.ID, b.ID) })
	return vols, nil
}

// Volumes describes volumes by ID. IDs that do not exist (or are not
// volume IDs) are absent from the map. Concurrent callers share describes:
// see coalescer.
func (c *Client) Volumes(ctx context.Context, ids []string) (map[string]Volume, error) {
	out, err := c.volumeReads.get(ctx, cleanIDs(ids, volumeIDRE))
	if err != nil {
		return nil, fmt.Errorf("describe %d volumes by id: %w", len(ids), err)
	}
	return out, nil
}

// Instances describes instances and adds their status checks
// (DescribeInstanceStatus with IncludeAllInstances). Missing IDs are absent
// from the map. Up to instanceListThreshold distinct IDs are asked for by ID
// (an instance-id filter, and DescribeInstanceStatus ≤100 IDs per call),
// concurrent callers sharing the describes; more are read by listing (see
// listInstances), so a round over any number of hosts costs a few calls per
// thousand instances.
func (c *Client) Instances(ctx context.Context, ids []string) (map[string]Instance, error) {
	want := cleanIDs(ids, instanceIDRE)
	if len(want) > instanceListThreshold {
		return c.listInstances(ctx, want)
	}
	out, err := c.statusReads.get(ctx, want)
	if err != nil {
		return nil, fmt.Errorf("describe %d instances by id: %w", len(ids), err)
	}
	return out, nil
}

// instancesWithStatus reads want (clean IDs) and their status checks.
func (c *Client) instancesWithStatus(ctx context.Context, want []string) (map[string]Instance, error) {
	out, err := c.describeInstances(ctx, want)
	if err != nil {
		return nil, err
	}
	found := make([]string, 0, len(out))
	for id := range out {
		found = append(found, id)
	}
	slices.Sort(found)
	status := func(ctx context.Context, chunk []string) error {
		resp, err := c.api.DescribeInstanceStatus(ctx, &ec2.DescribeInstanceStatusInput{
			InstanceIds: chunk, IncludeAllInstances: aws.Bool(true),
		})
		if err != nil {
			return err
		}
		for _, s := range resp.InstanceStatuses {
			inst, ok := out[aws.ToString(s.InstanceId)]
			if !ok {
				continue
			}
			applyStatus(&inst, s)
			out[inst.ID] = inst
		}
		return nil
	}
	if err := describeByID(ctx, found, instanceStatusChunk, codeInstanceNotFound, codeInstanceMalformed, status); err != nil {
		return nil, fmt.Errorf("describe status of %d instances: %w", len(found), classify(err))
	}
	return out, nil
}

// cleanIDs drops duplicates and strings that are not IDs of the kind re
// matches (they cannot exist, so they are simply absent from the result).
func cleanIDs(ids []string, re *regexp.Regexp) []string {
	out := make([]string, 0, len(ids))
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] || !re.MatchString(id) {
			continue
		}
		seen[id] = true
		out = append(out, id)
	}
	return out
}

// describeByID runs call over ids in chunks of size. When EC2 fails a whole
// call because some IDs do not exist (notFound) or are malformed, the IDs
// named in the message are dropped and the rest retried; if the message
// names none of the chunk's IDs, the chunk is halved until the bad one is
// alone and dropped.
func describeByID(ctx context.Context, ids []string, size int, notFound, malformed string, call func(context.Context, []string) error) error {
	for chunk := range slices.Chunk(ids, size) {
		if err := describeChunk(ctx, slices.Clone(chunk), notFound, malformed, call); err != nil {
			return err
		}
	}
	return nil
}

func describeChunk(ctx context.Context, chunk []string, notFound, malformed string, call func(context.Context, []string) error) error {
	for len(chunk) > 0 {
		err := call(ctx, chunk)
		if err == nil {
			return nil
		}
		if code := errorCode(err); code != notFound && code != malformed {
			return err
		}
		named := namedIDs(errorMessage(err))
		rest := slices.DeleteFunc(chunk, func(id string) bool { return named[id] })
		if len(rest) < len(chunk) || len(rest) == 0 {
			chunk = rest
			continue
		}
		chunk = rest
		if len(chunk) == 1 {
			return nil
		}
		half := len(chunk) / 2
		if err := describeChunk(ctx, slices.Clone(chunk[:half]), notFound, malformed, call); err != nil {
			return err
		}
		chunk = slices.Clone(chunk[half:])
	}
	return nil
}

// namedIDs returns the ID-like words of an EC2 error message, e.g. both IDs
// of "The instance IDs 'i-1, i-2' do not exist".
func namedIDs(msg string) map[string]bool {
	words := strings.FieldsFunc(msg, func(r rune) bool {
		return !(r == '-' || r == '.' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')
	})
	out := make(map[string]bool, len(words))
	for _, w := range words {
		out[strings.TrimRight(w, ".")] = true
	}
	return out
}
