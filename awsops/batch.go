package awsops

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// Mutations that take many IDs (StopInstances, CreateTags) are sent for
// every caller that asks at about the same time in one call, through a
// coalescer whose answer per ID is that ID's outcome (nil = done). EC2 fails
// such a call as a whole when one ID cannot be acted on (InvalidInstanceID.NotFound,
// IncorrectInstanceState, OperationNotPermitted, each naming the instance, as
// ec2sim and AWS do); the IDs the message names get that error and the rest
// are sent again, and a message naming none of them splits the batch into
// single calls, so every caller gets its own outcome.

// perIDCodes are the error codes that concern some IDs of a batch and not
// the others.
var perIDCodes = map[string]bool{
	codeInstanceNotFound: true, codeInstanceMalformed: true, codeIncorrectInstState: true,
	codeOperationNotPermitted: true, codeUnsupportedOperation: true,
	codeVolumeNotFound: true, codeVolumeMalformed: true, codeInvalidID: true,
}

// splitBatch runs call over ids and returns each ID's outcome: nil, or the
// raw (unclassified) error EC2 answered for it. err is an error that is
// nobody's in particular (throttled past the retries, 5xx, context).
func splitBatch(ctx context.Context, ids []string, call func(context.Context, []string) error) (map[string]error, error) {
	out := make(map[string]error, len(ids))
	for len(ids) > 0 {
		err := call(ctx, ids)
		if err == nil {
			for _, id := range ids {
				out[id] = nil
			}
			return out, nil
		}
		if !perIDCodes[errorCode(err)] {
			return nil, err
		}
		if len(ids) == 1 {
			out[ids[0]] = err
			return out, nil
		}
		named := namedIDs(errorMessage(err))
		rest := slices.DeleteFunc(slices.Clone(ids), func(id string) bool { return named[id] })
		if len(rest) == len(ids) { // names none of them: one call each
			for _, id := range ids {
				one, err := splitBatch(ctx, []string{id}, call)
				if err != nil {
					return nil, err
				}
				maps.Copy(out, one)
			}
			return out, nil
		}
		for _, id := range ids {
			if named[id] {
				out[id] = err
			}
		}
		ids = rest
	}
	return out, nil
}

// stopBatch sends StopInstances for ids (Force and SkipOsShutdown when
// force is set) and returns each ID's outcome: nil once EC2 answered a
// state change to stopping or beyond.
func (c *Client) stopBatch(force bool) func(ctx context.Context, ids []string) (map[string]error, error) {
	return func(ctx context.Context, ids []string) (map[string]error, error) {
		states := map[string]string{}
		out, err := splitBatch(ctx, ids, func(ctx context.Context, ids []string) error {
			in := &ec2.StopInstancesInput{InstanceIds: ids, Force: aws.Bool(force)}
			if force {
				in.SkipOsShutdown = aws.Bool(true)
			}
			resp, err := c.api.StopInstances(ctx, in, c.mutation)
			if err != nil {
				return err
			}
			for _, ch := range resp.StoppingInstances {
				if ch.CurrentState != nil {
					states[aws.ToString(ch.InstanceId)] = string(ch.CurrentState.Name)
				}
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		for id, e := range out {
			if e != nil {
				continue
			}
			switch s, ok := states[id]; {
			case !ok:
				out[id] = fmt.Errorf("response has no state change for %s", id)
			case s != stateStopping && s != stateStopped && s != stateShuttingDown && s != stateTerminated:
				out[id] = fmt.Errorf("instance went to state %q, want stopping or stopped: %w", s, ErrIncorrectState)
			}
		}
		return out, nil
	}
}

// stopVia sends the stop of id through the batch of its force flag.
func (c *Client) stopVia(ctx context.Context, id string, force bool) error {
	b := c.stops[force]
	got, err := b.get(ctx, []string{id})
	if err != nil {
		return err
	}
	return got[id]
}

// tagAsk is how a tagging is asked of the tags coalescer: the resource ID
// and the tag set, encoded, so that the call can group resources by
// identical tag sets, the only ones that can share a CreateTags.
func tagAsk(id string, tags []types.Tag) string {
	b, _ := json.Marshal(tags)
	return id + "\x00" + string(b)
}

// tagBatch sends one CreateTags per distinct tag set among asks.
func (c *Client) tagBatch(ctx context.Context, asks []string) (map[string]error, error) {
	groups := map[string][]string{} // encoded tags → resource IDs
	for _, a := range asks {
		id, enc, _ := strings.Cut(a, "\x00")
		groups[enc] = append(groups[enc], id)
	}
	out := make(map[string]error, len(asks))
	for _, enc := range slices.Sorted(maps.Keys(groups)) {
		var tags []types.Tag
		if err := json.Unmarshal([]byte(enc), &tags); err != nil {
			return nil, fmt.Errorf("decode tag set %s: %w", enc, err)
		}
		got, err := splitBatch(ctx, groups[enc], func(ctx context.Context, ids []string) error {
			_, err := c.api.CreateTags(ctx, &ec2.CreateTagsInput{Resources: ids, Tags: tags}, c.mutation)
			return err
		})
		if err != nil {
			return nil, err
		}
		for id, e := range got {
			out[id+"\x00"+enc] = e
		}
	}
	return out, nil
}

// tagVia sends the tagging of id with tags through the tags coalescer.
func (c *Client) tagVia(ctx context.Context, id string, tags []types.Tag) error {
	key := tagAsk(id, tags)
	got, err := c.tagReqs.get(ctx, []string{key})
	if err != nil {
		return err
	}
	return got[key]
}
