package state

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"
)

// Step names a point of the failover state machine; a record's Step is the last one completed.
type Step string

// The steps, in order.
const (
	StepPlanned       Step = "planned"
	StepFenced        Step = "fenced"
	StepDetached      Step = "detached"
	StepAttached      Step = "attached"
	StepMetadataMoved Step = "metadata-moved"
	StepRescheduled   Step = "rescheduled"
	StepVerified      Step = "verified"
	StepPublished     Step = "published"
	StepDone          Step = "done"
)

// Steps lists the state machine in order.
var Steps = []Step{StepPlanned, StepFenced, StepDetached, StepAttached, StepMetadataMoved, StepRescheduled, StepVerified, StepPublished, StepDone}

// Next is the step after s; false when s is the last step or not a step.
func (s Step) Next() (Step, bool) {
	for i, x := range Steps {
		if x == s && i+1 < len(Steps) {
			return Steps[i+1], true
		}
	}
	return "", false
}

// Valid reports whether s is one of Steps.
func (s Step) Valid() bool {
	for _, x := range Steps {
		if x == s {
			return true
		}
	}
	return false
}

// Kind says why a volume moves.
type Kind string

const (
	// KindFailover is automatic: the owner is dead; it is fenced and force-detached.
	KindFailover Kind = "failover"
	// KindSwitchover is an operator's planned move: the unit is stopped gracefully and the volume detached plainly.
	KindSwitchover Kind = "switchover"
	// KindHeal attaches a volume found attached nowhere.
	KindHeal Kind = "heal"
)

// Endpoint is one side of a move.
type Endpoint struct {
	Instance  string `json:"instance,omitempty"`
	Machine   string `json:"machine,omitempty"`
	PrivateIP string `json:"privateIp,omitempty"`
}

// Signal is one piece of health evidence behind a move, as stored in its
// record. It mirrors health.Signal field for field (and, like it, has no JSON
// tags), so records written before this type existed read back unchanged;
// it is its own type because this package imports no other of the project.
type Signal struct {
	// Source names where the evidence came from (ec2-state, probe, witnesses, …).
	Source string
	// OK is true when the signal speaks for the owner being healthy.
	OK bool
	// Unknown is true when the source could not be read or does not apply.
	Unknown bool
	// Detail says in words what was seen.
	Detail string
	// Since is when the oldest evidence behind the signal was gathered.
	Since time.Time
}

// StepRecord is one step's timeline.
type StepRecord struct {
	Step     Step      `json:"step"`
	Start    time.Time `json:"start"`
	End      time.Time `json:"end,omitzero"`
	Attempts int       `json:"attempts"`
	Error    string    `json:"error,omitempty"`
	Skipped  string    `json:"skipped,omitempty"` // why no action was needed
	Overdue  bool      `json:"overdue,omitempty"` // paged as past its deadline
	Leader   string    `json:"leader,omitempty"`  // instance that completed it
	Note     string    `json:"note,omitempty"`    // what changed the plan during this step (a new target)
}

// Record is the journal of one volume's move, written only by the leader in
// transactions guarded by the leader key; a new leader resumes it from Step.
type Record struct {
	ID       string      `json:"id"`
	Kind     Kind        `json:"kind"`
	Volume   string      `json:"volume"`
	AZ       string      `json:"az"`
	Device   string      `json:"device"`
	From     Endpoint    `json:"from"`
	To       Endpoint    `json:"to"`
	Reason   string      `json:"reason"`
	Signals  []Signal    `json:"signals,omitempty"`
	Epoch    int64       `json:"epoch"`
	Fence    FencePolicy `json:"fence,omitempty"`
	Step     Step        `json:"step"`
	Created  time.Time   `json:"created"`
	Updated  time.Time   `json:"updated"`
	Finished time.Time   `json:"finished,omitzero"`
	DryRun   bool        `json:"dryRun,omitempty"`
	// PreviousTargets are targets given up before the volume reached them.
	PreviousTargets []string `json:"previousTargets,omitempty"`
	// Abandoned says why the move was given up (its target died after the
	// attach); the record went to the history unfinished and the next round
	// decides afresh. "" = not abandoned.
	Abandoned string `json:"abandoned,omitempty"`
	// OpenPages are the incidents this move triggered and has not resolved,
	// dedup key → page kind. They travel with the record, so whichever
	// worker or leader sees a condition end resolves its page.
	OpenPages map[string]string `json:"openPages,omitempty"`
	Timeline  []StepRecord      `json:"timeline"`
	// Rev is the etcd CreateRevision of the journal key the record was read
	// at or created with (0 when unknown, e.g. a history record). The leader
	// guards every update with it, so it never overwrites a record that was
	// deleted and created anew meanwhile. It is not stored.
	Rev int64 `json:"-"`
}

// Entry returns the timeline entry of s, adding it (started at now) if missing.
func (r *Record) Entry(s Step, now time.Time) *StepRecord {
	for i := range r.Timeline {
		if r.Timeline[i].Step == s {
			return &r.Timeline[i]
		}
	}
	r.Timeline = append(r.Timeline, StepRecord{Step: s, Start: now.UTC()})
	return &r.Timeline[len(r.Timeline)-1]
}

// Validate checks what a leader needs to resume the record, naming the field at fault.
func (r *Record) Validate() error {
	switch {
	case r.ID == "" || r.Volume == "":
		return fmt.Errorf("id %q volume %q: both required", r.ID, r.Volume)
	case r.Kind != KindFailover && r.Kind != KindSwitchover && r.Kind != KindHeal:
		return fmt.Errorf("kind: %q unknown", r.Kind)
	case !r.Step.Valid():
		return fmt.Errorf("step: %q unknown", r.Step)
	case !ValidInstanceID(r.To.Instance) || r.To.Machine == "":
		return fmt.Errorf("to: instance %q machine %q incomplete", r.To.Instance, r.To.Machine)
	case r.Kind != KindHeal && !ValidInstanceID(r.From.Instance):
		return fmt.Errorf("from: instance %q is not an instance ID", r.From.Instance)
	}
	return nil
}

// ParseRecord decodes and checks a journal or history record; createRev is the
// key's CreateRevision (0 when it does not matter) and is kept in Rev.
func ParseRecord(b []byte, createRev int64) (*Record, error) {
	var r Record
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("journal record: %w", err)
	}
	if err := r.Validate(); err != nil {
		return nil, fmt.Errorf("journal record of %s: %w", r.Volume, err)
	}
	r.Rev = createRev
	return &r, nil
}

// Encode is the record as stored in etcd.
func (r *Record) Encode() string {
	b, _ := json.Marshal(r)
	return string(b)
}

// NewFailoverID is sortable by time, so history keys list oldest first.
func NewFailoverID(now time.Time) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return now.UTC().Format("20060102T150405.000Z") + "-" + hex.EncodeToString(b[:])
}
