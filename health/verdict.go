package health

import "time"

// Verdict is the policy's conclusion about one owner host.
type Verdict string

// The three verdicts. Only an actionable dead verdict may start a failover; suspect is
// logged and exported, never acted on.
const (
	VerdictAlive   Verdict = "alive"
	VerdictSuspect Verdict = "suspect"
	VerdictDead    Verdict = "dead"
)

// Signal sources, in the order in which every Result lists them. The names are stable:
// logs, status output, metrics and pages use them.
const (
	SourceEC2State  = "ec2-state"
	SourceEC2Status = "ec2-status"
	SourceProbe     = "probe"
	SourceLease     = "lease"
	SourceFleet     = "fleet"
	SourceWitnesses = "witnesses"
	SourceEtcd      = "etcd"
)

// Sources lists every signal source in the order Decide reports them.
func Sources() []string {
	return []string{SourceEC2State, SourceEC2Status, SourceProbe, SourceLease, SourceFleet, SourceWitnesses, SourceEtcd}
}

// Signal is one piece of evidence the policy considered, kept so that an operator can see
// why a verdict was reached.
type Signal struct {
	// Source is one of the Source* names.
	Source string
	// OK is true when the signal speaks for the owner being healthy.
	OK bool
	// Unknown is true when the source could not be read or does not apply (EC2 not read,
	// owner never registered, fleet list not read, no fresh witness report). OK is then
	// false, and the signal counts neither for nor against the owner.
	Unknown bool
	// Detail says in words what was seen.
	Detail string
	// Since is when the oldest evidence behind the signal was gathered (for witnesses, the
	// oldest fresh report counted); zero when the evidence is the observation itself.
	Since time.Time
}

// Bad reports whether the signal is known and speaks against the owner.
func (s Signal) Bad() bool { return !s.OK && !s.Unknown }

// Result is a verdict with everything that produced it.
type Result struct {
	Verdict Verdict
	// Signals holds one entry per source, in the order of Sources().
	Signals []Signal
	// Reason is one line for logs and pages: the verdict and the signals that decided it.
	Reason string
	// Actionable is true only for a dead verdict reached while etcd is healthy, from a
	// valid policy and observation. Nobody acts on anything else.
	Actionable bool
}

// Signal returns the signal of the named source and whether the result has one.
func (r Result) Signal(source string) (Signal, bool) {
	for _, s := range r.Signals {
		if s.Source == source {
			return s, true
		}
	}
	return Signal{}, false
}
