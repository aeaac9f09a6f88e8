package health

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Defaults of Policy.
const (
	// DefaultThreshold is the number of consecutive failed probe rounds (1 s apart by
	// default) after which the leader looks for an independent witness.
	DefaultThreshold = 3
	// DefaultImpairedReadings is how many consecutive readings of an impaired EC2
	// status check make the owner dead without the probes agreeing. EC2 refreshes
	// status checks about once a minute, and a failed system check does not always
	// mean the guest stopped serving, so one reading is not enough.
	DefaultImpairedReadings = 2
	// DefaultMaxReportAge is how old a witness report may be and still count: five probe
	// intervals at the 1 s default, so one slow round does not discard a witness.
	DefaultMaxReportAge = 5 * time.Second
	// DefaultMinUnreachable is how long the owner must have been unreachable, by the
	// leader's probes and by each agreeing witness's, before probes can declare it dead.
	// A whole-host network blip of up to 2 s must not move a volume: during one the
	// failed probes start within the blip, so their span stays under 2 s; the extra
	// half second covers the scheduling of a probe's start on a loaded host. A dead
	// host is then declared dead about this long after its first failed probe.
	DefaultMinUnreachable = 2500 * time.Millisecond
)

// Policy turns an Observation into a Verdict. It is pure: the same inputs always give
// the same Result.
type Policy struct {
	// Threshold is how many consecutive rounds the leader's probes must fail before the
	// owner can be declared dead (with a witness agreeing). At least 1; default 3.
	Threshold int
	// MaxReportAge is how far a witness report's time may be from now (either way, to
	// allow for clock skew) and still count. Must be positive; default 5 s.
	MaxReportAge time.Duration
	// ImpairedReadings is how many consecutive readings with an impaired status check
	// declare the owner dead on their own; fewer count only when the probes agree
	// (failed Threshold rounds). At least 1; default 2.
	ImpairedReadings int
	// WitnessQuorum optionally raises the number of witnesses that must report the owner
	// unreachable, given the number of witnesses. It can only make the rule stricter:
	// fewer than a strict majority never counts. Nil means a strict majority.
	WitnessQuorum func(total int) int
	// MinUnreachable is how long the probes must have failed without a break before they
	// count: the leader's own (Observation.UnreachableFor) and each witness's (a report's
	// At less its Since). EC2 reporting the owner stopped or terminated does not wait for
	// it: the cloud is authoritative. Zero or more; default 2.5 s.
	MinUnreachable time.Duration
}

// DefaultPolicy returns the policy with the defaults above.
func DefaultPolicy() Policy {
	return Policy{Threshold: DefaultThreshold, MaxReportAge: DefaultMaxReportAge, ImpairedReadings: DefaultImpairedReadings,
		MinUnreachable: DefaultMinUnreachable}
}

// Validate rejects a policy that could not decide safely, naming the field.
func (p Policy) Validate() error {
	var errs []error
	if p.Threshold < 1 {
		errs = append(errs, fmt.Errorf("threshold: must be at least 1, got %d", p.Threshold))
	}
	if p.ImpairedReadings < 1 {
		errs = append(errs, fmt.Errorf("impaired readings: must be at least 1, got %d", p.ImpairedReadings))
	}
	if p.MaxReportAge <= 0 {
		errs = append(errs, fmt.Errorf("max report age: must be positive, got %s", p.MaxReportAge))
	}
	if p.MinUnreachable < 0 {
		errs = append(errs, fmt.Errorf("min unreachable: must not be negative, got %s", p.MinUnreachable))
	}
	return errors.Join(errs...)
}

// quorum is how many of total witnesses must report the owner unreachable.
func (p Policy) quorum(total int) int {
	need := total/2 + 1
	if p.WitnessQuorum != nil {
		if q := p.WitnessQuorum(total); q > need {
			need = q
		}
	}
	return need
}

// Decide gives the verdict on one owner at time now.
//
// The owner is dead when EC2 says its instance is stopping, stopped, shutting down or
// terminated, or a status check is impaired; or when the leader's probes have failed
// Threshold consecutive rounds over at least MinUnreachable and an independent witness
// agrees (its registration lease expired, fleet no longer lists its machine, or a
// majority of its witnesses have fresh reports saying unreachable for MinUnreachable). Anything less that is not all good is suspect. An invalid
// policy or observation gives suspect, never dead; an unhealthy etcd makes any verdict
// not actionable.
func (p Policy) Decide(now time.Time, o Observation) Result {
	st := ec2StateSignal(o)
	ss := ec2StatusSignal(o, p.ImpairedReadings)
	pr := probeSignal(o, p.Threshold, p.MinUnreachable)
	ls := leaseSignal(o)
	fs := fleetSignal(o)
	ws := witnessSignal(now, p, o)
	es := etcdSignal(o)
	res := Result{Signals: []Signal{st.Signal, ss.Signal, pr.Signal, ls.Signal, fs.Signal, ws.Signal, es}}

	var invalid []string
	if err := p.Validate(); err != nil {
		invalid = append(invalid, "invalid policy: "+oneLine(err))
	}
	if err := o.Validate(); err != nil {
		invalid = append(invalid, "invalid observation: "+oneLine(err))
	}

	var ec2Dead, agree []string
	for _, a := range []assessed{st, ss} {
		if a.decisive {
			ec2Dead = append(ec2Dead, a.Signal.Source+": "+a.Signal.Detail)
		}
	}
	for _, a := range []assessed{ls, fs, ws} {
		if a.decisive {
			agree = append(agree, a.Signal.Source+": "+a.Signal.Detail)
		}
	}

	var reason string
	switch {
	case len(invalid) > 0:
		res.Verdict = VerdictSuspect
		reason = "suspect: " + strings.Join(invalid, "; ")
	case len(ec2Dead) > 0:
		res.Verdict = VerdictDead
		reason = "dead: " + strings.Join(ec2Dead, "; ")
	case pr.decisive && ss.Bad():
		// An impaired check read too few times to decide alone, with the probes agreeing.
		res.Verdict = VerdictDead
		reason = "dead: " + pr.Signal.Detail + ", and " + ss.Signal.Source + ": " + ss.Signal.Detail
	case pr.decisive && len(agree) > 0:
		res.Verdict = VerdictDead
		reason = "dead: " + pr.Signal.Detail + ", and " + strings.Join(agree, "; ")
	default:
		var bad []string
		for _, s := range res.Signals {
			if s.Source != SourceEtcd && s.Bad() {
				bad = append(bad, s.Source+": "+s.Detail)
			}
		}
		if len(bad) == 0 {
			res.Verdict = VerdictAlive
			reason = "alive: every known signal is good"
			break
		}
		res.Verdict = VerdictSuspect
		reason = "suspect: " + strings.Join(bad, "; ")
		if pr.decisive {
			reason += "; no independent witness agrees"
		}
	}

	res.Actionable = res.Verdict == VerdictDead && o.EtcdHealthy
	if !o.EtcdHealthy {
		reason += " (not actionable: etcd unhealthy)"
	}
	res.Reason = reason
	return res
}

// oneLine joins a multi-error onto one line for a Reason.
func oneLine(err error) string {
	return strings.ReplaceAll(err.Error(), "\n", "; ")
}
