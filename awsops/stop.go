package awsops

import (
	"context"
	"fmt"
)

// StopInstance fences an instance: it issues StopInstances unless the
// instance is already down. With force set it is a hard stop, Force and
// SkipOsShutdown: Force alone "will first attempt a graceful shutdown" and
// only forces it after a timeout (aws-sdk-go-v2 service/ec2 v1.344.3,
// StopInstancesInput.Force), so a zombie owner would keep running, and
// writing, for that long; SkipOsShutdown bypasses the OS shutdown and ends
// the guest at once (StopInstancesInput.SkipOsShutdown; EC2 user guide
// "Methods for stopping an instance").
//
// stopped and terminated need nothing, nor does shutting-down. A "stopping"
// instance is sent the hard stop all the same when force is set: its OS may
// still be shutting down gracefully (or be stuck there), and only the hard
// stop ends it now; a plain stop of it is skipped. It does not wait; see
// WaitStopped. An instance EC2 no longer knows is ErrInstanceNotFound;
// whether that counts as fenced is the caller's decision. An instance that
// refuses to be stopped (stop protection, some Spot instances) is
// ErrStopRefused: the caller must fence it some other way.
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
	// Stops asked at about the same time go out as one StopInstances.
	err = c.stopVia(ctx, id, force)
	switch {
	case err != nil && stopRefused(err):
		return fmt.Errorf("%s: EC2 refuses to stop it (%s: %s): %w: %w", what, errorCode(err), errorMessage(err), ErrStopRefused, err)
	case err != nil:
		return fmt.Errorf("%s: %w", what, classify(err))
	}
	c.log.Info().Str("instance", id).Bool("force", force).Msg("stop issued")
	return nil
}

// stopRefused reports whether StopInstances failed because the instance may
// not be stopped at all: stop protection answers OperationNotPermitted ("The
// instance 'i-…' may not be stopped. Modify its 'disableApiStop' instance
// attribute and try again.", as recorded in
// cloud-custodian/cloud-custodian#8007), and a Spot instance of a one-time
// request answers UnsupportedOperation (EC2 user guide "Stop a Spot
// Instance": only Spot Instances of persistent requests can be stopped).
// Classified here, not in classify: for other actions these codes mean
// other things.
func stopRefused(err error) bool {
	switch errorCode(err) {
	case codeOperationNotPermitted, codeUnsupportedOperation:
		return true
	}
	return false
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
