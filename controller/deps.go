package controller

import (
	"context"
	"time"

	"github.com/volfailover/volfailover/awsops"
	"github.com/volfailover/volfailover/fleet"
)

// EC2 is what the controller uses of awsops; *awsops.Client satisfies it.
type EC2 interface {
	ManagedVolumes(ctx context.Context) ([]awsops.Volume, error)
	Volumes(ctx context.Context, ids []string) (map[string]awsops.Volume, error)
	Instances(ctx context.Context, ids []string) (map[string]awsops.Instance, error)
	StopInstance(ctx context.Context, id string, force bool) error
	WaitStopped(ctx context.Context, id string) error
	DetachVolume(ctx context.Context, volumeID, instanceID string, force bool) error
	AttachVolume(ctx context.Context, volumeID, instanceID string, devices []string) (string, error)
	TagVolume(ctx context.Context, volumeID string, tags map[string]string) error
}

// Fleet is what the controller uses of the fleet client; *fleet.Client satisfies it.
type Fleet interface {
	Machines(ctx context.Context) ([]fleet.Machine, error)
	PatchMetadata(ctx context.Context, ops []fleet.MetadataOp) error
	Units(ctx context.Context) ([]fleet.Unit, error)
	Unit(ctx context.Context, name string) (*fleet.Unit, error)
	CreateUnit(ctx context.Context, name string, options []fleet.UnitOption, desired string) error
	SetUnitTargetState(ctx context.Context, name, desired string) error
	UnitStates(ctx context.Context, machineID, unitName string) ([]fleet.UnitState, error)
	WaitUnitActive(ctx context.Context, unitName, machineID string, poll time.Duration) error
	WaitUnitStopped(ctx context.Context, unitName, machineID string, poll time.Duration) error
}

var (
	_ EC2   = (*awsops.Client)(nil)
	_ Fleet = (*fleet.Client)(nil)
)
