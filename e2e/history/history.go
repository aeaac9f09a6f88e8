package history

import (
	"encoding/json"
	"net/url"
	"strings"
	"time"

	"github.com/volfailover/volfailover/state"
)

// Services a Request can reach.
const (
	EC2   = "ec2"
	Fleet = "fleet"
)

// History is everything recorded about one run, between Start and End.
// Only what happened in [Start, End] is judged; the state transitions go back
// to the seed, so the state of every volume and instance at Start is known.
type History struct {
	Start, End time.Time
	// Hosts are the machines of the run; a fleet machine ID is mapped to its
	// instance through them.
	Hosts []Host
	// Volumes are the managed volumes.
	Volumes []string
	// Requests are the EC2 and fleet requests, in arrival order.
	Requests []Request
	// Transitions are ec2sim's state changes, oldest first.
	Transitions []Transition
	// Leaders are the spans during which an instance held the election key
	// (the first-created key under the election prefix), as the harness's
	// etcd watch saw them begin and end.
	Leaders []Span
	// Sessions are the spans during which an instance's registration (its
	// session lease) existed in etcd.
	Sessions []Span
	// Faults are the windows of the faults injected by the harness.
	Faults []Fault
	// Pauses are the spans during which a pause was in force, for one volume
	// or (Volume "") for all.
	Pauses []Pause
	// Served are the moments a volume was served: a write acknowledged by its
	// Postgres on the host that EC2 had it attached to.
	Served []Served
	// Pages are the pages the receiver got, in arrival order.
	Pages []Page
	// Moves are the controllers' move records (journal and history).
	Moves []state.Record
	// MovesSeen is when the harness first saw each move record in etcd, by
	// ID. A record's Created is the clock of the round that planned it, which
	// can be seconds before the record was written when that round's reads
	// were slow (an EC2 throttle storm); a move is paged after it is written.
	MovesSeen map[string]time.Time
	// StrictFence says the controllers ran with the strict fence policy; a
	// move record's own Fence field says so too.
	StrictFence bool
}

// Host is one machine of the run.
type Host struct {
	Name, Instance, Machine, AZ string
}

// Request is one request that reached an emulator.
type Request struct {
	Service string
	// Arrived is when the emulator received it; Applied when it carried it
	// out (zero if it never did: lost on the way or answered by a fault).
	Arrived, Applied time.Time
	// Action is the EC2 action, or the fleet method ("PUT", "PATCH", ...).
	Action string
	// Params are an EC2 request's form values.
	Params url.Values
	// Path and Body are a fleet request's.
	Path, Body string
	Status     int
	// Code is EC2's error code or fault kind; "" on success.
	Code string
	// Sender is the instance ID of the controller that sent it, "" when no
	// controller did (the harness, the sandbox).
	Sender string
	// Mutating says whether the request could change the world (DryRun and
	// fleet's empty PATCH probe do not).
	Mutating bool
}

// String describes the request for a violation's excerpt.
func (r Request) String() string {
	who := r.Sender
	if who == "" {
		who = "harness"
	}
	what := r.Action + " " + r.Path
	if r.Service == EC2 {
		what = r.Action + " " + compact(r.Params)
	}
	if r.Body != "" {
		what += " " + r.Body
	}
	applied := "never applied"
	if !r.Applied.IsZero() {
		applied = "applied " + stamp(r.Applied)
	}
	return stamp(r.Arrived) + " " + r.Service + " " + strings.TrimSpace(what) + " from " + who + " (" + applied + ", status " + itoa(r.Status) + codeSuffix(r.Code) + ")"
}

func codeSuffix(c string) string {
	if c == "" {
		return ""
	}
	return " " + c
}

// Transition is one state change in EC2: with Volume set, the attachment of
// Volume to Instance reaching State (attaching, attached, detaching, busy,
// detached); without, Instance reaching State (running, stopping, stopped, ...).
type Transition struct {
	Time     time.Time
	Volume   string
	Instance string
	State    string
}

// Span is a time during which Instance held something (leadership, a
// session); an open span has a zero To.
type Span struct {
	Instance string
	From, To time.Time
}

// Fault kinds the health rule understands (the sandbox's own names); any
// other kind is only a fault whose end starts the served-again bound.
const (
	FaultKill      = "kill-host"        // Host is down
	FaultPartition = "partition-host"   // Host is cut off from everyone
	FaultPair      = "partition-pair"   // Host and Peer cannot reach each other
	FaultOneWay    = "partition-oneway" // Host cannot reach Peer
	FaultImpaired  = "impaired"         // EC2 reports a status check of Host impaired
	// Faults of the etcd cluster itself (Host names the member). Pages travel
	// through etcd's outbox, so while one holds they are due PageBound after
	// it ends, not after what they report.
	FaultMemberKill      = "etcd-member-kill"
	FaultMemberPartition = "etcd-member-partition"
	FaultMemberStall     = "etcd-member-stall"
	FaultLeaderMove      = "etcd-leader-move"
)

// Fault is a fault window; an open one has a zero To. Host and Peer are
// host names ("" for a fault of the cloud, such as an EC2 storm).
type Fault struct {
	Kind       string
	Host, Peer string
	From, To   time.Time
}

// Pause is a span during which Volume (every volume if "") was paused.
type Pause struct {
	Volume   string
	From, To time.Time
}

// Served is one moment Volume was served.
type Served struct {
	Volume string
	At     time.Time
}

// Page is one page the receiver got.
type Page struct {
	At         time.Time
	Kind       string
	Action     string // trigger or resolve
	DedupKey   string
	Volume     string
	FailoverID string
}

func (p Page) String() string {
	return stamp(p.At) + " page " + p.Action + " " + p.Kind + " " + p.DedupKey
}

// covers reports whether t is in [from, to), an open to meaning "still".
func covers(from, to, t time.Time) bool {
	return !t.Before(from) && (to.IsZero() || t.Before(to))
}

func stamp(t time.Time) string { return t.Format("15:04:05.000") }

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}
