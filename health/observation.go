package health

import (
	"errors"
	"fmt"
	"time"
)

// Observation is everything the leader knows about one owner host at one moment. The
// controller fills it from one batched read per round; Decide turns it into a verdict.
type Observation struct {
	// EC2Known is true when EC2 was read this round; without it the EC2 fields are not
	// evidence of anything.
	EC2Known bool
	// EC2State is the instance state: pending, running, stopping, stopped,
	// shutting-down or terminated.
	EC2State string
	// InstanceStatus and SystemStatus are the EC2 status checks: ok, impaired,
	// insufficient-data, not-applicable, initializing or "" (unknown).
	InstanceStatus, SystemStatus string
	// ImpairedReadings is how many consecutive EC2 readings, this one
	// included, showed a status check impaired (0 when this one does not).
	ImpairedReadings int

	// ProbeFailures is the number of consecutive probes of the owner that failed,
	// counted by the leader.
	ProbeFailures int
	// UnreachableFor is the span of those failures: from the start of the first failed
	// probe to the start of the latest one (zero with no failure).
	UnreachableFor time.Duration

	// Registered is true when the owner registered in the registry at some point during
	// this leadership; only then is a missing registration key evidence.
	Registered bool
	// LeaseAlive is true when the owner's registration key (held by its session lease)
	// exists now.
	LeaseAlive bool
	// LeaseRevoked is true when the owner's agent withdrew its registration in a
	// clean shutdown (a rolling restart, say): a registration gone that way says
	// nothing about the host.
	LeaseRevoked bool

	// FleetKnown is true when fleet's machine list was read this round.
	FleetKnown bool
	// FleetPresent is true when that list holds the owner's machine.
	FleetPresent bool

	// WitnessesAssigned is how many witnesses the owner was given.
	WitnessesAssigned int
	// Reports are what the witnesses published, at most one per witness is counted (the
	// newest).
	Reports []WitnessReport

	// EtcdHealthy is false when the leader's own etcd footing is in doubt; the verdict is
	// then computed but never actionable.
	EtcdHealthy bool
}

// WitnessReport is what one witness last published about the owner.
type WitnessReport struct {
	// Witness names the reporting instance.
	Witness string
	// Reachable is the witness's own probe result.
	Reachable bool
	// At is when the witness probed.
	At time.Time
	// Since is when the witness's current run of failed probes began (zero when the
	// owner is reachable, or for a report of an agent that does not say). The report
	// proves the owner unreachable from Since to At, and no longer.
	Since time.Time
	// Detail is the witness's probe error, if any.
	Detail string
}

// Validate rejects observations that cannot be reasoned about, naming the field.
func (o Observation) Validate() error {
	var errs []error
	if o.ProbeFailures < 0 {
		errs = append(errs, fmt.Errorf("probe failures: must not be negative, got %d", o.ProbeFailures))
	}
	if o.ImpairedReadings < 0 {
		errs = append(errs, fmt.Errorf("impaired readings: must not be negative, got %d", o.ImpairedReadings))
	}
	if o.UnreachableFor < 0 {
		errs = append(errs, fmt.Errorf("unreachable for: must not be negative, got %s", o.UnreachableFor))
	}
	if o.WitnessesAssigned < 0 {
		errs = append(errs, fmt.Errorf("witnesses assigned: must not be negative, got %d", o.WitnessesAssigned))
	}
	for i, r := range o.Reports {
		if r.Witness == "" {
			errs = append(errs, fmt.Errorf("reports[%d].witness: must not be empty", i))
		}
		if r.At.IsZero() {
			errs = append(errs, fmt.Errorf("reports[%d].at: must be set (witness %q)", i, r.Witness))
		}
		if !r.Since.IsZero() && r.Since.After(r.At) {
			errs = append(errs, fmt.Errorf("reports[%d].since: %s is after at %s (witness %q)", i, r.Since.Format(time.RFC3339Nano), r.At.Format(time.RFC3339Nano), r.Witness))
		}
	}
	return errors.Join(errs...)
}
