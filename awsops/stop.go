package awsops

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
)

// StopInstance fences an instance: it issues StopInstances (with Force when
// force is set) unless the instance is already down. stopped and terminated
// need nothing; stopping and shutting-down are already on their way, except
// that a forced fence of a "stopping" instance issues the force stop, which
// is what clears an instance stuck in stopping. It does not wait; see
// WaitStopped. An instance EC2 no longer knows is ErrInstanceNotFound;
// whether that counts as fenced is the caller's decision.
func (c *Client) StopInstance(ctx context.Context, id string, force bool) error {
	what := fmt.Sprintf("stop %s (force=%t)", id, force)
	inst, err := c.instance(ctx, id)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	switch inst.State {
	case stateStopped, stateTerminated, stateShuttingDown:
		c.log.Info().Str("instance", id).Str("state", inst.State).Msg("stop skipped, instance already down")
		return nil
	case stateStopping:
		if !force {
			c.log.Info().Str("instance", id).Msg("stop skipped, instance already stopping")
			return nil
		}
	}
	out, err := c.api.StopInstances(ctx, &ec2.StopInstancesInput{
		InstanceIds: []string{id}, Force: aws.Bool(force),
	}, c.mutation)
	if err != nil {
		return fmt.Errorf("%s: %w", what, classify(err))
	}
	for _, ch := range out.StoppingInstances {
		if aws.ToString(ch.InstanceId) != id || ch.CurrentState == nil {
			continue
		}
		switch s := string(ch.CurrentState.Name); s {
		case stateStopping, stateStopped, stateShuttingDown, stateTerminated:
			c.log.Info().Str("instance", id).Str("state", s).Bool("force", force).Msg("stop issued")
			return nil
		default:
			return fmt.Errorf("%s: instance went to state %q, want stopping or stopped: %w", what, s, ErrIncorrectState)
		}
	}
	return fmt.Errorf("%s: response has no state change for %s", what, id)
}

// WaitStopped polls the instance with the Wait backoff until it is stopped
// (or terminated, which fences as well) or ctx ends.
func (c *Client) WaitStopped(ctx context.Context, id string) error {
	return c.poll(ctx, id+" stopped", func(ctx context.Context) (bool, string, error) {
		inst, err := c.instance(ctx, id)
		if err != nil {
			return false, "", fmt.Errorf("wait for %s stopped: %w", id, err)
		}
		return inst.State == stateStopped || inst.State == stateTerminated, "state " + inst.State, nil
	})
}
