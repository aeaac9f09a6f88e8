package controller

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/volfailover/volfailover/health"
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
	StepDone          Step = "done"
)

// Steps lists the state machine in order.
var Steps = []Step{StepPlanned, StepFenced, StepDetached, StepAttached, StepMetadataMoved, StepRescheduled, StepVerified, StepDone}

func (s Step) next() (Step, bool) {
	for i, x := range Steps {
		if x == s && i+1 < len(Steps) {
			return Steps[i+1], true
		}
	}
	return "", false
}

func (s Step) valid() bool {
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
	ID       string          `json:"id"`
	Kind     Kind            `json:"kind"`
	Volume   string          `json:"volume"`
	AZ       string          `json:"az"`
	Device   string          `json:"device"`
	From     Endpoint        `json:"from"`
	To       Endpoint        `json:"to"`
	Reason   string          `json:"reason"`
	Signals  []health.Signal `json:"signals,omitempty"`
	Epoch    int64           `json:"epoch"`
	Fence    FencePolicy     `json:"fence,omitempty"`
	Step     Step            `json:"step"`
	Created  time.Time       `json:"created"`
	Updated  time.Time       `json:"updated"`
	Finished time.Time       `json:"finished,omitzero"`
	DryRun   bool            `json:"dryRun,omitempty"`
	// PreviousTargets are targets given up before the volume reached them.
	PreviousTargets []string `json:"previousTargets,omitempty"`
	// Abandoned says why the move was given up (its target died after the
	// attach); the record went to the history unfinished and the next round
	// decides afresh. "" = not abandoned.
	Abandoned string       `json:"abandoned,omitempty"`
	Timeline  []StepRecord `json:"timeline"`
	createRev int64
}

// stepRecord returns the timeline entry of s, adding it (started at now) if missing.
func (r *Record) stepRecord(s Step, now time.Time) *StepRecord {
	for i := range r.Timeline {
		if r.Timeline[i].Step == s {
			return &r.Timeline[i]
		}
	}
	r.Timeline = append(r.Timeline, StepRecord{Step: s, Start: now.UTC()})
	return &r.Timeline[len(r.Timeline)-1]
}

func (r *Record) validate() error {
	switch {
	case r.ID == "" || r.Volume == "":
		return fmt.Errorf("id %q volume %q: both required", r.ID, r.Volume)
	case r.Kind != KindFailover && r.Kind != KindSwitchover && r.Kind != KindHeal:
		return fmt.Errorf("kind: %q unknown", r.Kind)
	case !r.Step.valid():
		return fmt.Errorf("step: %q unknown", r.Step)
	case !instanceIDRe.MatchString(r.To.Instance) || r.To.Machine == "":
		return fmt.Errorf("to: instance %q machine %q incomplete", r.To.Instance, r.To.Machine)
	case r.Kind != KindHeal && !instanceIDRe.MatchString(r.From.Instance):
		return fmt.Errorf("from: instance %q is not an instance ID", r.From.Instance)
	}
	return nil
}

func parseRecord(b []byte, createRev int64) (*Record, error) {
	var r Record
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("journal record: %w", err)
	}
	if err := r.validate(); err != nil {
		return nil, fmt.Errorf("journal record of %s: %w", r.Volume, err)
	}
	r.createRev = createRev
	return &r, nil
}

func (r *Record) encode() string {
	b, _ := json.Marshal(r)
	return string(b)
}

// newFailoverID is sortable by time, so history keys list oldest first.
func newFailoverID(now time.Time) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return now.UTC().Format("20060102T150405.000Z") + "-" + hex.EncodeToString(b[:])
}

// journal writes records under the leader's guard.
type journal struct {
	cli   *clientv3.Client
	keys  Keys
	guard clientv3.Cmp
	limit int
}

// create writes a new record if the volume has none, plus any extra ops (damping).
func (j journal) create(ctx context.Context, r *Record, extra ...clientv3.Op) error {
	key := j.keys.JournalVolume(r.Volume)
	ops := append([]clientv3.Op{clientv3.OpPut(key, r.encode())}, extra...)
	resp, err := j.cli.Txn(ctx).If(j.guard, clientv3.Compare(clientv3.CreateRevision(key), "=", 0)).Then(ops...).Commit()
	if err != nil {
		return fmt.Errorf("create journal of %s: %w", r.Volume, err)
	}
	if !resp.Succeeded {
		return fmt.Errorf("create journal of %s: %w (or a record exists)", r.Volume, errNotLeader)
	}
	r.createRev = resp.Header.Revision
	return nil
}

// update rewrites the record if this leader still leads and the record is the same one.
func (j journal) update(ctx context.Context, r *Record) error {
	key := j.keys.JournalVolume(r.Volume)
	resp, err := j.cli.Txn(ctx).If(j.guard, clientv3.Compare(clientv3.CreateRevision(key), "=", r.createRev)).
		Then(clientv3.OpPut(key, r.encode())).Commit()
	if err != nil {
		return fmt.Errorf("update journal of %s at %s: %w", r.Volume, r.Step, err)
	}
	if !resp.Succeeded {
		return fmt.Errorf("update journal of %s at %s: %w", r.Volume, r.Step, errNotLeader)
	}
	return nil
}

// finish moves the record to history (and runs extra ops, e.g. removing the
// switchover key) in one guarded transaction, then trims the history.
func (j journal) finish(ctx context.Context, r *Record, extra ...clientv3.Op) error {
	key := j.keys.JournalVolume(r.Volume)
	ops := append([]clientv3.Op{clientv3.OpDelete(key), clientv3.OpPut(j.keys.HistoryRecord(r.Volume, r.ID), r.encode())}, extra...)
	resp, err := j.cli.Txn(ctx).If(j.guard, clientv3.Compare(clientv3.CreateRevision(key), "=", r.createRev)).Then(ops...).Commit()
	if err != nil {
		return fmt.Errorf("move journal of %s to history: %w", r.Volume, err)
	}
	if !resp.Succeeded {
		return fmt.Errorf("move journal of %s to history: %w", r.Volume, errNotLeader)
	}
	return j.trim(ctx, r.Volume)
}

// record writes a record straight to history (dry-run decisions).
func (j journal) record(ctx context.Context, r *Record) error {
	resp, err := j.cli.Txn(ctx).If(j.guard).Then(clientv3.OpPut(j.keys.HistoryRecord(r.Volume, r.ID), r.encode())).Commit()
	if err != nil {
		return fmt.Errorf("record %s decision for %s: %w", r.Kind, r.Volume, err)
	}
	if !resp.Succeeded {
		return fmt.Errorf("record %s decision for %s: %w", r.Kind, r.Volume, errNotLeader)
	}
	return j.trim(ctx, r.Volume)
}

// trim keeps the newest limit history records of a volume.
func (j journal) trim(ctx context.Context, volume string) error {
	resp, err := j.cli.Get(ctx, j.keys.HistoryVolume(volume), clientv3.WithPrefix(), clientv3.WithKeysOnly(),
		clientv3.WithSort(clientv3.SortByKey, clientv3.SortAscend))
	if err != nil {
		return fmt.Errorf("list history of %s: %w", volume, err)
	}
	extra := len(resp.Kvs) - j.limit
	if extra <= 0 {
		return nil
	}
	var ops []clientv3.Op
	for _, kv := range resp.Kvs[:extra] {
		ops = append(ops, clientv3.OpDelete(string(kv.Key)))
	}
	if _, err := j.cli.Txn(ctx).If(j.guard).Then(ops...).Commit(); err != nil {
		return fmt.Errorf("trim history of %s: %w", volume, err)
	}
	return nil
}
