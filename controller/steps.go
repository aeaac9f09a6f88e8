package controller

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/volfailover/volfailover/awsops"
	"github.com/volfailover/volfailover/fleet"
	"github.com/volfailover/volfailover/state"
)

// stepSpec is how one kind of move carries out one step.
type stepSpec struct {
	// act carries the step out. It looks at the world first and returns a
	// "skipped" reason when there was nothing left to do.
	act func(w *worker, ctx context.Context) (skipped string, err error)
	// deadline picks the step's deadline: past it the step is paged as
	// overdue and keeps being retried; a deadline never abandons a move.
	deadline func(StepDeadlines) time.Duration
	// towardTarget marks a step that acts on the target: the target's
	// liveness is checked before every attempt, and a lost target hands the
	// move back to the planner, which re-targets it (volume not yet on the
	// target) or abandons it (volume attached to the dead target).
	towardTarget bool
}

// The steps every kind shares once the volume is free of its old owner.
var (
	stepAttach     = stepSpec{act: (*worker).attach, deadline: func(d StepDeadlines) time.Duration { return d.Attach }, towardTarget: true}
	stepMetadata   = stepSpec{act: (*worker).moveMetadata, deadline: func(d StepDeadlines) time.Duration { return d.Metadata }, towardTarget: true}
	stepReschedule = stepSpec{act: (*worker).reschedule, deadline: func(d StepDeadlines) time.Duration { return d.Reschedule }, towardTarget: true}
	stepVerify     = stepSpec{act: (*worker).verify, deadline: func(d StepDeadlines) time.Duration { return d.Verify }, towardTarget: true}
	stepPublish    = stepSpec{act: (*worker).publish, deadline: func(d StepDeadlines) time.Duration { return d.Verify }}
	fenceDeadline  = func(d StepDeadlines) time.Duration { return d.Fence }
	detachDeadline = func(d StepDeadlines) time.Duration { return d.Detach }
)

// moveSteps is the whole difference between the kinds of move: what each
// does at each step. A failover fences the dead owner by stopping it and
// force-detaches; a switchover stops the unit through fleet and detaches
// plainly; a heal has no previous owner. From the attach on, all are alike.
var moveSteps = map[state.Kind]map[state.Step]stepSpec{
	state.KindFailover: {
		state.StepFenced:        {act: (*worker).stopOwner, deadline: fenceDeadline},
		state.StepDetached:      {act: (*worker).forceDetach, deadline: detachDeadline},
		state.StepAttached:      stepAttach,
		state.StepMetadataMoved: stepMetadata,
		state.StepRescheduled:   stepReschedule,
		state.StepVerified:      stepVerify,
		state.StepPublished:     stepPublish,
	},
	state.KindSwitchover: {
		state.StepFenced:        {act: (*worker).stopUnit, deadline: fenceDeadline},
		state.StepDetached:      {act: (*worker).plainDetach, deadline: detachDeadline},
		state.StepAttached:      stepAttach,
		state.StepMetadataMoved: stepMetadata,
		state.StepRescheduled:   stepReschedule,
		state.StepVerified:      stepVerify,
		state.StepPublished:     stepPublish,
	},
	state.KindHeal: {
		state.StepFenced:        {act: (*worker).noOwner, deadline: fenceDeadline},
		state.StepDetached:      {act: (*worker).noOwner, deadline: detachDeadline},
		state.StepAttached:      stepAttach,
		state.StepMetadataMoved: stepMetadata,
		state.StepRescheduled:   stepReschedule,
		state.StepVerified:      stepVerify,
		state.StepPublished:     stepPublish,
	},
}

// outcome is what one attempt of a step came to. Errors are classified here,
// once, so that the step loop branches on the class and not on the error.
type outcome int

const (
	// outcomeDone: the step's action was carried out.
	outcomeDone outcome = iota
	// outcomeSkipped: the world already was as the step wants it.
	outcomeSkipped
	// outcomeRetry: a failure that may pass (throttling, 5xx, a state still
	// changing): retried with backoff, paged once past the deadline.
	outcomeRetry
	// outcomePermanent: a failure no retry mends by itself (IAM denies the
	// call, a parameter is invalid, the volume's KMS key cannot be used, the
	// owner refuses to stop under the strict policy): paged at once with the
	// error, then
	// retried at the slowest pace, so the move goes on once a human fixed it.
	outcomePermanent
	// outcomeTargetLost: the target cannot take the volume; the planner
	// re-targets or abandons the move.
	outcomeTargetLost
	// outcomeNotLeader: this term is over; stop at once.
	outcomeNotLeader
	// outcomeEscalate: a switchover cannot go on as planned; the planner
	// turns it into a failover.
	outcomeEscalate
)

// classify gives the outcome of one attempt.
func classify(skipped string, err error) outcome {
	var lost *targetLostError
	var esc *escalateError
	var api *fleet.APIError
	switch {
	case err == nil && skipped != "":
		return outcomeSkipped
	case err == nil:
		return outcomeDone
	case errors.Is(err, errNotLeader):
		return outcomeNotLeader
	case errors.As(err, &lost):
		return outcomeTargetLost
	case errors.As(err, &esc):
		return outcomeEscalate
	case errors.Is(err, awsops.ErrUnauthorized), errors.Is(err, awsops.ErrInvalidParameter),
		errors.Is(err, awsops.ErrKMSKeyUnusable), errors.Is(err, awsops.ErrStopRefused):
		return outcomePermanent
	case errors.As(err, &api) && (api.StatusCode == http.StatusBadRequest || api.StatusCode == http.StatusMethodNotAllowed):
		return outcomePermanent
	}
	return outcomeRetry
}

// targetLostError says the record's target can no longer receive the volume.
type targetLostError struct {
	why string
	// stray names the host the volume was found attached to instead of the
	// target ("" when the target itself was lost).
	stray string
}

func (e *targetLostError) Error() string { return "failover target lost: " + e.why }

// escalateError says a switchover must become a failover: its owner could
// not prove that Postgres stopped.
type escalateError struct{ why string }

func (e *escalateError) Error() string { return "switchover cannot go on: " + e.why }

// targetRefuses says an attach failed because of the target host itself, not
// the volume: the device is taken there, the host is at its attachment limit,
// or it is in another zone. ErrVolumeInUse is about the volume (attached
// elsewhere) and is not one of them: attach checks the volume's attachments
// before it calls.
func targetRefuses(err error) bool {
	return errors.Is(err, awsops.ErrDeviceInUse) || errors.Is(err, awsops.ErrAttachmentLimit) || errors.Is(err, awsops.ErrZoneMismatch)
}

func isNotLeader(err error) bool { return errors.Is(err, errNotLeader) }

// stepName is the label of a step spec for errors.
func stepName(kind state.Kind, s state.Step) string { return fmt.Sprintf("%s/%s", kind, s) }
