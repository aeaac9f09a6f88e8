package main

import (
	"context"
	"time"

	"github.com/rs/zerolog"

	"github.com/volfailover/volfailover/awsops"
)

// dotEC2 is what fixDeleteOnTermination needs from awsops.
type dotEC2 interface {
	ManagedVolumes(ctx context.Context) ([]awsops.Volume, error)
	SetDeleteOnTermination(ctx context.Context, instanceID, device string, deleteOnTermination bool) error
}

// fixDeleteOnTermination clears DeleteOnTermination on every managed volume
// attached to this host (run --fix-delete-on-termination). A volume from the
// instance's launch block-device mapping has it set, and terminating a dead
// owner would then delete the database. Each host fixes its own volumes, so
// the fleet shares the work and a host never touches another's mappings.
// Failures are logged, not fatal: refusing to start the failover agent over
// this would leave the volume with no failover at all. It returns the
// devices it cleared.
func fixDeleteOnTermination(ctx context.Context, ec2c dotEC2, instanceID string, log zerolog.Logger) []string {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	vols, err := ec2c.ManagedVolumes(ctx)
	if err != nil {
		log.Error().Err(err).Msg("fix-delete-on-termination: cannot list managed volumes; DeleteOnTermination left as it is")
		return nil
	}
	var fixed []string
	for _, v := range vols {
		a, ok := v.AttachmentTo(instanceID)
		if !ok || !a.DeleteOnTermination {
			continue
		}
		if err := ec2c.SetDeleteOnTermination(ctx, instanceID, a.Device, false); err != nil {
			log.Error().Err(err).Str("volume", v.ID).Str("device", a.Device).Msg("fix-delete-on-termination: failed; terminating this instance would delete the volume")
			continue
		}
		log.Warn().Str("volume", v.ID).Str("device", a.Device).Msg("fix-delete-on-termination: DeleteOnTermination was true, set to false")
		fixed = append(fixed, a.Device)
	}
	return fixed
}
