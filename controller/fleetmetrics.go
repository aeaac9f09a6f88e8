package controller

import (
	"context"
	"errors"
	"time"

	"github.com/volfailover/volfailover/fleet"
)

// countingFleet counts every fleet call and its errors by kind for
// volfailover_fleet_calls_total and volfailover_fleet_errors_total. The fleet
// client knows nothing of metrics; the controller wraps what it was given.
type countingFleet struct {
	f Fleet
	m *metrics
}

func (c countingFleet) count(kind string, err error) error {
	c.m.fleetCalls.WithLabelValues(kind).Inc()
	if err != nil && !errors.Is(err, fleet.ErrNotFound) {
		c.m.fleetErrors.WithLabelValues(kind).Inc()
	}
	return err
}

// Machines lists the fleet machines.
func (c countingFleet) Machines(ctx context.Context) ([]fleet.Machine, error) {
	ms, err := c.f.Machines(ctx)
	return ms, c.count("machines", err)
}

// PatchMetadata changes machine metadata.
func (c countingFleet) PatchMetadata(ctx context.Context, ops []fleet.MetadataOp) error {
	return c.count("patch_metadata", c.f.PatchMetadata(ctx, ops))
}

// Unit reads one unit.
func (c countingFleet) Units(ctx context.Context) ([]fleet.Unit, error) {
	u, err := c.f.Units(ctx)
	return u, c.count("units", err)
}

func (c countingFleet) Unit(ctx context.Context, name string) (*fleet.Unit, error) {
	u, err := c.f.Unit(ctx, name)
	return u, c.count("unit", err)
}

// CreateUnit creates a unit.
func (c countingFleet) CreateUnit(ctx context.Context, name string, options []fleet.UnitOption, desired string) error {
	return c.count("create_unit", c.f.CreateUnit(ctx, name, options, desired))
}

// SetUnitTargetState sets a unit's desired state.
func (c countingFleet) SetUnitTargetState(ctx context.Context, name, desired string) error {
	return c.count("set_unit_state", c.f.SetUnitTargetState(ctx, name, desired))
}

// UnitStates reads unit states.
func (c countingFleet) UnitStates(ctx context.Context, machineID, unitName string) ([]fleet.UnitState, error) {
	s, err := c.f.UnitStates(ctx, machineID, unitName)
	return s, c.count("unit_states", err)
}

// WaitUnitActive waits for a unit to be active on a machine.
func (c countingFleet) WaitUnitActive(ctx context.Context, unitName, machineID string, poll time.Duration) error {
	return c.count("wait_unit_active", c.f.WaitUnitActive(ctx, unitName, machineID, poll))
}

// WaitUnitStopped waits for a unit to have stopped on a machine.
func (c countingFleet) WaitUnitStopped(ctx context.Context, unitName, machineID string, poll time.Duration) error {
	return c.count("wait_unit_stopped", c.f.WaitUnitStopped(ctx, unitName, machineID, poll))
}
