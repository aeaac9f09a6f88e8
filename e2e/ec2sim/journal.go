package ec2sim

import (
	"net/url"
	"slices"
	"time"
)

// Call is one EC2 request as the Sim saw and answered it. Code is the EC2
// error code ("" on success). For answers without a code it is the fault
// kind: "empty-500", or, with Status 0 (no HTTP answer), "hang",
// "conn-reset" (neither applied) or "latency" (client gone during the
// delay; the call was applied all the same).
type Call struct {
	// Time is when the request arrived.
	Time time.Time `json:"time"`
	// Applied is when EC2 carried the request out or refused it on its
	// merits (an error code from the action itself); zero when it was lost
	// before EC2 (hang, conn-reset) or answered by an injected fault instead.
	// A latency fault delays only the answer, so Applied can be long before
	// the client hears back.
	Applied   time.Time  `json:"applied,omitzero"`
	Action    string     `json:"action"`
	Params    url.Values `json:"params"`
	Attempt   int        `json:"attempt"` // from Amz-Sdk-Request; 0 if absent
	Status    int        `json:"status"`
	Code      string     `json:"code,omitempty"` // error code; "" on success
	RequestID string     `json:"requestId"`
	DryRun    bool       `json:"dryRun"`
	// UserAgent names the caller, so tests can attribute a mutation to one controller.
	UserAgent string `json:"userAgent,omitempty"`
	// InvocationID is the SDK's amz-sdk-invocation-id header: one value for
	// every attempt of one SDK call ("" if absent).
	InvocationID string `json:"invocationId,omitempty"`
}

// mutatingActions change the world unless DryRun is set.
var mutatingActions = map[string]bool{
	"AttachVolume": true, "DetachVolume": true, "StopInstances": true, "CreateTags": true,
	"ModifyInstanceAttribute": true,
}

// Mutating reports whether the call could change the world: AttachVolume,
// DetachVolume, StopInstances, CreateTags or ModifyInstanceAttribute without
// DryRun, whatever its result.
func (c Call) Mutating() bool { return mutatingActions[c.Action] && !c.DryRun }

// Journal returns a copy of every EC2 call since the start or the last ResetJournal.
func (s *Sim) Journal() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Call, len(s.journal))
	for i, c := range s.journal {
		c.Params = cloneValues(c.Params)
		out[i] = c
	}
	return out
}

// ResetJournal forgets the recorded calls, and the token samples and
// throttled requests of the buckets (which keep their tokens).
func (s *Sim) ResetJournal() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.journal = nil
	s.resetThrottleRecords()
}

func cloneValues(v url.Values) url.Values {
	out := make(url.Values, len(v))
	for k, vs := range v {
		out[k] = slices.Clone(vs)
	}
	return out
}
