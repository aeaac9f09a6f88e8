package ec2sim

import (
	"fmt"
	"slices"
	"strconv"
	"time"
)

// FaultKind names an injected failure (spec §4.1).
type FaultKind string

// Fault kinds. Request faults act on the matching call itself; state faults
// change what the matching mutation does to the world and are consumed only
// by a call they actually change.
const (
	// FaultThrottle answers 503 RequestLimitExceeded, with X-Amz-Retry-After
	// (milliseconds) when RetryAfter > 0.
	FaultThrottle FaultKind = "throttle"
	// FaultInternalError answers 500 InternalError.
	FaultInternalError FaultKind = "internal-error"
	// FaultUnavailable answers 503 Unavailable.
	FaultUnavailable FaultKind = "unavailable"
	// FaultEmpty500 answers 500 with an empty body (the SDK reports UnknownError).
	FaultEmpty500 FaultKind = "empty-500"
	// FaultApplyThenFail performs the call, then answers 503 Unavailable
	// instead of its success (spec §3.4 ambiguous success).
	FaultApplyThenFail FaultKind = "apply-then-fail"
	// FaultLatency delays the call's answer by Latency on the Sim's clock.
	// The call is applied when received, before the delay, and stays applied
	// if the client gives up waiting (see Sim.delayResponse).
	FaultLatency FaultKind = "latency"
	// FaultHang holds the call until the client goes away or the Sim closes;
	// it models a request lost before EC2, so nothing is applied.
	FaultHang FaultKind = "hang"
	// FaultConnReset closes the connection (TCP reset) without an answer.
	FaultConnReset FaultKind = "conn-reset"
	// FaultBadXML performs the call and cuts its 200 body in half.
	FaultBadXML FaultKind = "bad-xml"
	// FaultUnauthorized answers 403 UnauthorizedOperation, DryRun included.
	FaultUnauthorized FaultKind = "unauthorized"
	// FaultAttachmentLimit makes an otherwise valid AttachVolume answer
	// 400 AttachmentLimitExceeded.
	FaultAttachmentLimit FaultKind = "attachment-limit"
	// FaultStuckAttaching leaves an accepted attach in "attaching"; a force
	// detach clears it.
	FaultStuckAttaching FaultKind = "stuck-attaching"
	// FaultStuckDetaching leaves an accepted plain detach in "detaching"; a
	// force detach or the instance reaching "stopped" clears it.
	FaultStuckDetaching FaultKind = "stuck-detaching"
	// FaultBusy turns an accepted plain detach into "busy" after the detach
	// delay; a force detach or the instance reaching "stopped" clears it.
	FaultBusy FaultKind = "busy"
	// FaultForceStuck leaves an accepted force detach in "detaching"; a later
	// force detach without the fault, or the instance stopping, clears it.
	FaultForceStuck FaultKind = "force-stuck"
	// FaultStuckStopping leaves an accepted plain stop in "stopping"; a
	// StopInstances with Force clears it.
	FaultStuckStopping FaultKind = "stuck-stopping"
	// FaultImpaired reports instance and system status "impaired" in
	// DescribeInstanceStatus for Resource (or every running instance).
	FaultImpaired FaultKind = "impaired"
	// FaultDescribeLag makes DescribeVolumes show Resource's (or every
	// volume's) view from before its latest change, while DescribeInstances
	// already shows the new state.
	FaultDescribeLag FaultKind = "describe-lag"
)

// faultKinds lists every kind with the action it is bound to ("" = any).
var faultKinds = map[FaultKind]string{
	FaultThrottle: "", FaultInternalError: "", FaultUnavailable: "", FaultEmpty500: "",
	FaultApplyThenFail: "", FaultLatency: "", FaultHang: "", FaultConnReset: "",
	FaultBadXML: "", FaultUnauthorized: "",
	FaultAttachmentLimit: "AttachVolume", FaultStuckAttaching: "AttachVolume",
	FaultStuckDetaching: "DetachVolume", FaultBusy: "DetachVolume", FaultForceStuck: "DetachVolume",
	FaultStuckStopping: "StopInstances",
	FaultImpaired:      "DescribeInstanceStatus", FaultDescribeLag: "DescribeVolumes",
}

// requestKinds are consumed as soon as they match; the others only when used.
var requestKinds = map[FaultKind]bool{
	FaultThrottle: true, FaultInternalError: true, FaultUnavailable: true, FaultEmpty500: true,
	FaultLatency: true, FaultHang: true, FaultConnReset: true, FaultUnauthorized: true,
}

// Fault is an injected failure. It matches a call when Action (if set)
// names the call's action, Resource (if set) is one of the IDs the call names
// (for impaired and describe-lag: the instance or volume reported), and
// Attempt (if set) equals the attempt number of the SDK's Amz-Sdk-Request
// header. Matching calls are counted per fault: with NthCall > 0 the fault
// fires on the Nth matching call (and, if Sticky, on every later one); with
// NthCall = 0 on every matching call. A fault that is not Sticky is removed
// after it has fired once.
type Fault struct {
	Kind     FaultKind `json:"kind"`
	Action   string    `json:"action,omitempty"`
	Resource string    `json:"resource,omitempty"`
	NthCall  int       `json:"nthCall,omitempty"`
	Sticky   bool      `json:"sticky,omitempty"`
	// Latency is the added delay of FaultLatency.
	Latency time.Duration `json:"-"`
	// RetryAfter is sent as X-Amz-Retry-After by FaultThrottle when > 0.
	RetryAfter time.Duration `json:"-"`
	// Attempt, when > 0, restricts the fault to that SDK attempt number.
	Attempt int `json:"attempt,omitempty"`
}

// Validate checks that the fault can ever fire.
func (f Fault) Validate() error {
	bound, ok := faultKinds[f.Kind]
	if !ok {
		return fmt.Errorf("fault kind %q is unknown", f.Kind)
	}
	if f.Action != "" && !slices.Contains(actionNames, f.Action) {
		return fmt.Errorf("fault action %q is not an emulated action", f.Action)
	}
	if bound != "" && f.Action != "" && f.Action != bound {
		return fmt.Errorf("fault action %q: kind %s only applies to %s", f.Action, f.Kind, bound)
	}
	if f.NthCall < 0 {
		return fmt.Errorf("fault nthCall %d: want >= 0", f.NthCall)
	}
	if f.Attempt < 0 {
		return fmt.Errorf("fault attempt %d: want >= 0", f.Attempt)
	}
	if f.Latency < 0 || (f.Kind == FaultLatency && f.Latency == 0) {
		return fmt.Errorf("fault latency %v: want > 0 for kind latency, >= 0 otherwise", f.Latency)
	}
	if f.RetryAfter < 0 {
		return fmt.Errorf("fault retryAfter %v: want >= 0", f.RetryAfter)
	}
	return nil
}

// armedFault is a fault with its match counter.
type armedFault struct {
	id    string
	f     Fault
	count int
}

// Arm adds a fault and returns its ID for Disarm. An invalid fault (see
// Fault.Validate) is logged and never fires.
func (s *Sim) Arm(f Fault) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faultSeq++
	id := "fault-" + strconv.Itoa(s.faultSeq)
	if err := f.Validate(); err != nil {
		s.log.Error().Err(err).Str("fault", id).Msg("invalid fault armed; it will never fire")
		return id
	}
	s.faults = append(s.faults, &armedFault{id: id, f: f})
	s.log.Info().Str("fault", id).Str("kind", string(f.Kind)).Str("action", f.Action).Str("resource", f.Resource).Msg("fault armed")
	return id
}

// Disarm removes one fault; unknown IDs are ignored.
func (s *Sim) Disarm(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.removeFault(id)
}

// ClearFaults removes every fault.
func (s *Sim) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

func (s *Sim) removeFault(id string) bool {
	for i, af := range s.faults {
		if af.id == id {
			s.faults = slices.Delete(s.faults, i, i+1)
			return true
		}
	}
	return false
}

// matchFaults counts the call against every fault and returns those that
// fire; request faults that are not sticky are removed at once. s.mu is held.
func (s *Sim) matchFaults(c *call) []*armedFault {
	var fired []*armedFault
	for _, af := range slices.Clone(s.faults) {
		f := af.f
		action := f.Action
		if action == "" {
			action = faultKinds[f.Kind]
		}
		if action != "" && action != c.action {
			continue
		}
		if f.Attempt > 0 && f.Attempt != c.attempt {
			continue
		}
		itemScoped := f.Kind == FaultImpaired || f.Kind == FaultDescribeLag
		if f.Resource != "" && !itemScoped && !slices.Contains(c.resources, f.Resource) {
			continue
		}
		af.count++
		if f.NthCall > 0 && (af.count < f.NthCall || (af.count > f.NthCall && !f.Sticky)) {
			continue
		}
		fired = append(fired, af)
		if requestKinds[f.Kind] && !f.Sticky {
			s.removeFault(af.id)
		}
	}
	return fired
}

// take reports whether a fault of kind fired for this call (and applies to
// resource, if given), consuming a one-shot fault; s.mu is held.
func (s *Sim) take(c *call, kind FaultKind, resource string) (*armedFault, bool) {
	for _, af := range c.fired {
		if af.f.Kind != kind {
			continue
		}
		if resource != "" && af.f.Resource != "" && af.f.Resource != resource {
			continue
		}
		if !af.f.Sticky {
			s.removeFault(af.id)
		}
		return af, true
	}
	return nil, false
}
