package awsops

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
)

// AttachVolume attaches volumeID to instanceID as device and returns once
// the attachment (this instance, this device) is "attached"; the volume's
// own "in-use" comes earlier and is not enough.
//
// Before calling it checks that both exist and share an availability zone
// (ErrZoneMismatch, no AttachVolume call). An attachment already there on
// this device, in any state, is only waited for; one to another instance or
// on another device is ErrVolumeInUse. A VolumeInUse answer (the SDK's retry
// of an attach whose 5xx hid a success) counts as success only if EC2 then
// shows our instance and device. A device taken on the instance is
// ErrDeviceInUse; the caller may pick another. An attachment seen
// "attaching" for longer than Wait.StuckAttaching is ErrStuck.
func (c *Client) AttachVolume(ctx context.Context, volumeID, instanceID, device string) error {
	what := fmt.Sprintf("attach %s to %s as %s", volumeID, instanceID, device)
	if device == "" {
		return fmt.Errorf("%s: device is empty: %w", what, ErrInvalidParameter)
	}
	vol, err := c.volume(ctx, volumeID)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	inst, err := c.instance(ctx, instanceID)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if vol.AvailabilityZone != inst.AvailabilityZone {
		return fmt.Errorf("%s: volume is in %s, instance in %s: %w", what, vol.AvailabilityZone, inst.AvailabilityZone, ErrZoneMismatch)
	}
	switch mine, err := ours(vol, instanceID, device); {
	case err != nil:
		return fmt.Errorf("%s: %w", what, err)
	case mine:
		c.log.Info().Str("volume", volumeID).Str("instance", instanceID).Msg("attach already issued, waiting")
	default:
		if err := c.attachCall(ctx, volumeID, instanceID, device); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
	}
	if err := c.waitAttached(ctx, volumeID, instanceID, device); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	c.log.Info().Str("volume", volumeID).Str("instance", instanceID).Str("device", device).Msg("volume attached")
	return nil
}

// ours reports whether vol already has our attachment (instance and
// device, any state), and fails with ErrVolumeInUse when it has another.
func ours(vol Volume, instanceID, device string) (bool, error) {
	for _, a := range vol.Attachments {
		if a.InstanceID == instanceID && a.Device == device {
			return true, nil
		}
	}
	if len(vol.Attachments) > 0 {
		a := vol.Attachments[0]
		return false, fmt.Errorf("volume is attached to %s as %s (%s): %w", a.InstanceID, a.Device, a.State, ErrVolumeInUse)
	}
	return false, nil
}

// attachCall issues AttachVolume and resolves a VolumeInUse answer by reading
// the volume back.
func (c *Client) attachCall(ctx context.Context, volumeID, instanceID, device string) error {
	_, err := c.api.AttachVolume(ctx, &ec2.AttachVolumeInput{
		VolumeId: aws.String(volumeID), InstanceId: aws.String(instanceID), Device: aws.String(device),
	}, c.mutation)
	if err == nil {
		c.log.Info().Str("volume", volumeID).Str("instance", instanceID).Str("device", device).Msg("attach issued")
		return nil
	}
	cerr := classify(err)
	switch {
	case errors.Is(cerr, ErrDeviceInUse):
		return fmt.Errorf("device %s is already in use on %s, choose another: %w", device, instanceID, cerr)
	case errorCode(err) != codeVolumeInUse:
		return cerr
	}
	vol, rerr := c.volume(ctx, volumeID)
	if rerr != nil {
		return fmt.Errorf("%w (and re-reading the volume failed: %w)", cerr, rerr)
	}
	mine, oerr := ours(vol, instanceID, device)
	if oerr != nil {
		return oerr
	}
	if !mine {
		return fmt.Errorf("%w (and the volume shows no attachment to %s)", cerr, instanceID)
	}
	c.log.Info().Str("volume", volumeID).Str("instance", instanceID).Msg("attach answered VolumeInUse but the attachment is ours")
	return nil
}

// waitAttached polls until our attachment is "attached".
func (c *Client) waitAttached(ctx context.Context, volumeID, instanceID, device string) error {
	start := c.clock.Now()
	var attachingSince time.Time
	return c.poll(ctx, fmt.Sprintf("%s attached to %s as %s", volumeID, instanceID, device), func(ctx context.Context) (bool, string, error) {
		vol, err := c.volume(ctx, volumeID)
		if err != nil {
			return false, "", err
		}
		now := c.clock.Now()
		var att *Attachment
		for i, a := range vol.Attachments {
			if a.InstanceID == instanceID && a.Device == device {
				att = &vol.Attachments[i]
			}
		}
		switch {
		case att == nil:
			if _, err := ours(vol, instanceID, device); err != nil {
				return false, "", err
			}
			// Describes are eventually consistent: allow the attachment to
			// show up late, but not forever.
			if now.Sub(start) >= c.opts.Wait.StuckAttaching {
				return false, "", fmt.Errorf("no attachment to %s visible after %s: %w", instanceID, now.Sub(start).Round(time.Millisecond), ErrStuck)
			}
			return false, "no attachment yet (volume " + vol.State + ")", nil
		case att.State == attAttached:
			return true, "", nil
		case att.State == attAttaching:
			if attachingSince.IsZero() {
				attachingSince = now
			}
			if now.Sub(attachingSince) >= c.opts.Wait.StuckAttaching {
				return false, "", fmt.Errorf("attachment attaching for %s: %w", now.Sub(attachingSince).Round(time.Millisecond), ErrStuck)
			}
			return false, "attachment attaching", nil
		default:
			return false, "", fmt.Errorf("attachment is %s while waiting for attached: %w", att.State, ErrIncorrectState)
		}
	})
}
