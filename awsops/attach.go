package awsops

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
)

// AttachVolume attaches volumeID to instanceID under the first name of
// devices that the instance can take, and returns that name once the
// attachment (this instance, this name) is "attached"; the volume's own
// "in-use" comes earlier and is not enough. devices is an ordered list of
// EBS names (see DeviceNames); root and instance-store names are refused,
// because an attach there fails on every instance type whose instance store
// is a block device.
//
// Before calling it checks that both exist and share an availability zone
// (ErrZoneMismatch, no AttachVolume call). An attachment already there on
// any name of devices (or its /dev/xvd spelling), in any state, is ours and
// only waited for: the call is safe to repeat after a crash. One to another
// instance, or to this one on a name outside devices, is ErrVolumeInUse.
//
// A name the instance's block device mapping already shows is skipped
// without a call. A name EC2 refuses as "already in use" (the instance store,
// or an attach the mapping does not show yet) is skipped, and so is a name
// whose attachment stays "attaching" for Wait.StuckAttaching: that attach is
// force-detached first, because AWS says a device name taken inside the
// guest never completes. Both kinds of name are remembered per instance and
// tried last next time. When no name is left the error wraps the last
// failure (ErrDeviceInUse or ErrStuck). A VolumeInUse answer (the SDK's retry
// of an attach whose 5xx hid a success) counts as success only if EC2 then
// shows our instance on one of devices.
func (c *Client) AttachVolume(ctx context.Context, volumeID, instanceID string, devices []string) (string, error) {
	what := fmt.Sprintf("attach %s to %s", volumeID, instanceID)
	if err := checkDevices(devices); err != nil {
		return "", fmt.Errorf("%s: %w", what, err)
	}
	vol, err := c.volume(ctx, volumeID)
	if err != nil {
		return "", fmt.Errorf("%s: %w", what, err)
	}
	inst, err := c.instance(ctx, instanceID)
	if err != nil {
		return "", fmt.Errorf("%s: %w", what, err)
	}
	if vol.AvailabilityZone != inst.AvailabilityZone {
		return "", fmt.Errorf("%s: volume is in %s, instance in %s: %w", what, vol.AvailabilityZone, inst.AvailabilityZone, ErrZoneMismatch)
	}
	tried := map[string]bool{}
	var last error
	dev, mine, err := ours(vol, instanceID, devices)
	switch {
	case err != nil:
		return "", fmt.Errorf("%s: %w", what, err)
	case mine:
		c.log.Info().Str("volume", volumeID).Str("instance", instanceID).Str("device", dev).Msg("attach already issued, waiting")
		done, err := c.settle(ctx, volumeID, instanceID, dev)
		if done {
			return dev, nil
		}
		if err != nil {
			return "", fmt.Errorf("%s as %s: %w", what, dev, err)
		}
		tried[dev] = true
		last = fmt.Errorf("as %s: %w", dev, ErrStuck)
	}
	for _, d := range c.tryOrder(instanceID, devices) {
		if tried[d] {
			continue
		}
		tried[d] = true
		if v, ok := inst.Devices[d]; ok {
			last = fmt.Errorf("as %s: the instance shows %s there: %w", d, v, ErrDeviceInUse)
			continue
		}
		if v, ok := inst.Devices[deviceAlias(d)]; ok {
			last = fmt.Errorf("as %s: the instance shows %s as %s: %w", d, v, deviceAlias(d), ErrDeviceInUse)
			continue
		}
		got, err := c.attachCall(ctx, volumeID, instanceID, d, devices)
		if errors.Is(err, ErrDeviceInUse) {
			c.markBad(instanceID, d)
			c.log.Warn().Err(err).Str("volume", volumeID).Str("instance", instanceID).Str("device", d).Msg("device name in use, trying the next")
			last = fmt.Errorf("as %s: %w", d, err)
			continue
		}
		if err != nil {
			return "", fmt.Errorf("%s as %s: %w", what, d, err)
		}
		done, err := c.settle(ctx, volumeID, instanceID, got)
		if done {
			return got, nil
		}
		if err != nil {
			return "", fmt.Errorf("%s as %s: %w", what, got, err)
		}
		tried[got] = true
		last = fmt.Errorf("as %s: %w", got, ErrStuck)
	}
	if last == nil {
		last = ErrDeviceInUse
	}
	return "", fmt.Errorf("%s: no device name left of %s: %w", what, strings.Join(devices, " "), last)
}

// settle waits for our attachment on device. done means attached. A stuck
// attach is force-detached and remembered as a bad name, and settle returns
// (false, nil) so the caller tries the next one; any other failure is err.
func (c *Client) settle(ctx context.Context, volumeID, instanceID, device string) (bool, error) {
	err := c.waitAttached(ctx, volumeID, instanceID, device)
	if err == nil {
		c.log.Info().Str("volume", volumeID).Str("instance", instanceID).Str("device", device).Msg("volume attached")
		return true, nil
	}
	if !errors.Is(err, ErrStuck) || ctx.Err() != nil {
		return false, err
	}
	c.markBad(instanceID, device)
	c.log.Warn().Err(err).Str("volume", volumeID).Str("instance", instanceID).Str("device", device).Msg("attach stuck, force-detaching to try the next device name")
	if derr := c.DetachVolume(ctx, volumeID, instanceID, true); derr != nil {
		return false, fmt.Errorf("%w (and force-detaching the stuck attachment failed: %w)", err, derr)
	}
	return false, nil
}

// ours finds our attachment on vol: to instanceID on a name of devices (or
// its other spelling), any state. An attachment to another instance, or to
// ours on a name outside devices, is ErrVolumeInUse.
func ours(vol Volume, instanceID string, devices []string) (string, bool, error) {
	for _, a := range vol.Attachments {
		if a.InstanceID == instanceID && (slices.Contains(devices, a.Device) || slices.Contains(devices, deviceAlias(a.Device))) {
			return a.Device, true, nil
		}
	}
	if len(vol.Attachments) > 0 {
		a := vol.Attachments[0]
		return "", false, fmt.Errorf("volume is attached to %s as %s (%s): %w", a.InstanceID, a.Device, a.State, ErrVolumeInUse)
	}
	return "", false, nil
}

// attachCall issues AttachVolume as device and returns the name our
// attachment has: device, or, when EC2 answers VolumeInUse (a retry of an
// attach that succeeded), whichever name of devices the volume shows us on.
func (c *Client) attachCall(ctx context.Context, volumeID, instanceID, device string, devices []string) (string, error) {
	_, err := c.api.AttachVolume(ctx, &ec2.AttachVolumeInput{
		VolumeId: aws.String(volumeID), InstanceId: aws.String(instanceID), Device: aws.String(device),
	}, c.mutation)
	if err == nil {
		c.log.Info().Str("volume", volumeID).Str("instance", instanceID).Str("device", device).Msg("attach issued")
		return device, nil
	}
	cerr := classify(err)
	switch {
	case errors.Is(cerr, ErrDeviceInUse):
		return "", fmt.Errorf("device %s is already in use on %s: %w", device, instanceID, cerr)
	case errorCode(err) != codeVolumeInUse:
		return "", cerr
	}
	vol, rerr := c.volume(ctx, volumeID)
	if rerr != nil {
		return "", fmt.Errorf("%w (and re-reading the volume failed: %w)", cerr, rerr)
	}
	got, mine, oerr := ours(vol, instanceID, devices)
	if oerr != nil {
		return "", oerr
	}
	if !mine {
		return "", fmt.Errorf("%w (and the volume shows no attachment to %s)", cerr, instanceID)
	}
	c.log.Info().Str("volume", volumeID).Str("instance", instanceID).Str("device", got).Msg("attach answered VolumeInUse but the attachment is ours")
	return got, nil
}

// tryOrder is devices with the names remembered as bad on instanceID moved
// to the end, in their order.
func (c *Client) tryOrder(instanceID string, devices []string) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	bad := c.badDevices[instanceID]
	var good, worse []string
	for _, d := range devices {
		if bad[d] {
			worse = append(worse, d)
		} else {
			good = append(good, d)
		}
	}
	return append(good, worse...)
}

// markBad remembers that device did not work on instanceID (in use inside
// the guest, or an attach that stuck), as the CSI driver's
// likelyBadDeviceNames does, so later attaches try it last.
func (c *Client) markBad(instanceID, device string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.badDevices == nil {
		c.badDevices = map[string]map[string]bool{}
	}
	if c.badDevices[instanceID] == nil {
		c.badDevices[instanceID] = map[string]bool{}
	}
	c.badDevices[instanceID][device] = true
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
			if _, _, err := ours(vol, instanceID, []string{device}); err != nil {
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
