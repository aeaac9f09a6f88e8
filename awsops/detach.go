package awsops

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
)

// DetachVolume detaches volumeID from instanceID (with Force when force is
// set) and returns once DescribeVolumes shows no attachment of the volume
// to that instance. Nothing attached there is success without a call; so
// are IncorrectState, InvalidAttachment.NotFound and InvalidVolume.NotFound
// from EC2 (already detached), which the wait then confirms.
//
// A plain detach whose attachment is seen "busy", or "detaching" for longer
// than Wait.StuckDetaching, returns ErrStuck so the caller can force it. A
// forced detach re-issues the force every Wait.StuckDetaching and waits
// until ctx ends.
func (c *Client) DetachVolume(ctx context.Context, volumeID, instanceID string, force bool) error {
	what := fmt.Sprintf("detach %s from %s (force=%t)", volumeID, instanceID, force)
	vol, err := c.volume(ctx, volumeID)
	if errors.Is(err, ErrVolumeNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	att, ok := vol.AttachmentTo(instanceID)
	if !ok {
		c.log.Info().Str("volume", volumeID).Str("instance", instanceID).Msg("detach skipped, not attached")
		return nil
	}
	// A plain detach of an attachment already detaching only needs the wait.
	if force || att.State != attDetaching {
		if err := c.detachCall(ctx, volumeID, instanceID, att.Device, force); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
	}
	var detachingSince time.Time
	lastForce := c.clock.Now()
	err = c.poll(ctx, fmt.Sprintf("%s detached from %s", volumeID, instanceID), func(ctx context.Context) (bool, string, error) {
		vol, err := c.volume(ctx, volumeID)
		if errors.Is(err, ErrVolumeNotFound) {
			return true, "", nil
		}
		if err != nil {
			return false, "", err
		}
		att, ok := vol.AttachmentTo(instanceID)
		if !ok || att.State == attDetached {
			return true, "", nil
		}
		now := c.clock.Now()
		if att.State == attDetaching && detachingSince.IsZero() {
			detachingSince = now
		}
		state := "attachment " + att.State
		if force {
			if now.Sub(lastForce) >= c.opts.Wait.StuckDetaching {
				lastForce = now
				if err := c.detachCall(ctx, volumeID, instanceID, att.Device, true); err != nil {
					return false, "", err
				}
			}
			return false, state, nil
		}
		if att.State == attBusy {
			return false, "", fmt.Errorf("attachment is busy (device still in use on the host): %w", ErrStuck)
		}
		if att.State == attDetaching && now.Sub(detachingSince) >= c.opts.Wait.StuckDetaching {
			return false, "", fmt.Errorf("attachment detaching for %s: %w", now.Sub(detachingSince).Round(time.Millisecond), ErrStuck)
		}
		return false, state, nil
	})
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	c.log.Info().Str("volume", volumeID).Str("instance", instanceID).Bool("force", force).Msg("volume detached")
	return nil
}

// detachCall issues DetachVolume; answers meaning "already detached" are nil.
func (c *Client) detachCall(ctx context.Context, volumeID, instanceID, device string, force bool) error {
	in := &ec2.DetachVolumeInput{
		VolumeId: aws.String(volumeID), InstanceId: aws.String(instanceID), Force: aws.Bool(force),
	}
	if device != "" {
		in.Device = aws.String(device)
	}
	_, err := c.api.DetachVolume(ctx, in, c.mutation)
	switch errorCode(err) {
	case codeIncorrectState, codeAttachmentNotFound, codeVolumeNotFound:
		c.log.Info().Str("volume", volumeID).Str("instance", instanceID).Str("code", errorCode(err)).Msg("detach answered already detached")
		return nil
	}
	return classify(err)
}
