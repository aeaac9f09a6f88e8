package bench

import (
	"fmt"
	"time"

	"github.com/volfailover/volfailover/e2e/ec2sim"
)

// Targets of issue 14 §1, on aws-typical with token buckets on and half of
// each bucket left to other tools.
const (
	// targetFloorFactor: every volume served within this many paper floors.
	targetFloorFactor = 2
	// targetThrottlesPerCall: no SDK call throttled more often.
	targetThrottlesPerCall = 2
	// targetSteadyShare: steady state's share of any non-mutating bucket's refill.
	targetSteadyShare = 0.10
)

type printer func(format string, a ...any)

// runLine says when and from which commit a section's figures were measured.
func runLine(r RunInfo, generated time.Time) string {
	if r.Date.IsZero() {
		return fmt.Sprintf("*Measured before the page dated each section: at %s at the latest, commit not recorded.*", generated.UTC().Format("2006-01-02 15:04 UTC"))
	}
	short := ""
	if r.Short {
		short = " (smoke run, `-short`)"
	}
	return fmt.Sprintf("*Measured %s at commit `%s`%s.*", r.Date.UTC().Format("2006-01-02 15:04 UTC"), r.Commit, short)
}

// worstNonMutating is the non-mutating bucket with the highest share of its refill.
func worstNonMutating(st Steady) (BucketUse, bool) {
	var worst BucketUse
	found := false
	for _, u := range st.Budget {
		if !u.Mutating && (!found || u.Share > worst.Share) {
			worst, found = u, true
		}
	}
	return worst, found
}

// summaryBudget writes the summary rows of the scale benchmark's outage and
// EC2 budget.
func summaryBudget(p printer, s *ScaleResult) {
	if u, ok := worstNonMutating(s.Steady); ok {
		p("| steady state, %d volumes: busiest non-mutating bucket's share of its refill (`%s`) | %.0f %% | ≤ 10 %% | %s |\n",
			s.Volumes, u.Bucket, u.Share*100, verdict(u.Share <= targetSteadyShare))
	}
	o := s.Outage
	if o == nil {
		return
	}
	got := fmt.Sprintf("not finished (%d of %d)", o.Served, o.Killed)
	if o.Completed {
		got = sec(o.AllServedMs)
	}
	if o.Floor.Volumes == 0 {
		p("| AZ outage, %d owners, every volume served again | %s | ≤ 90 s | %s |\n", o.Killed, got, verdict(o.Completed && o.AllServedMs <= targetOutageMs))
		p("| AZ outage within EC2's request limits (token buckets, 50 %% background load) | not measured in this run | ≤ 2 × paper floor, ≤ 2 throttles per call | **missed** |\n")
		return
	}
	limit := targetFloorFactor * o.Floor.TotalMs
	p("| AZ outage, %d owners, every volume served again (buckets %s, %.0f %% background load) | %s | ≤ 2 × paper floor = %s | %s |\n",
		o.Killed, onOff(o.Buckets), o.BackgroundLoad*100, got, sec(limit), verdict(o.Buckets && o.Completed && o.AllServedMs <= limit))
	p("| AZ outage: most throttles of one call (all its attempts) | %d | ≤ 2 | %s |\n",
		o.MostThrottlesPerCall, verdict(o.Buckets && o.MostThrottlesPerCall <= targetThrottlesPerCall))
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

// steadyBudget writes the steady state's EC2 calls per bucket.
func steadyBudget(p printer, st Steady) {
	if len(st.Budget) == 0 {
		return
	}
	p("EC2 calls per second of the steady window, by request bucket, against the bucket's refill\n")
	p("rate as AWS publishes it (\"Request throttling for the Amazon EC2 API\"; ec2sim names a\n")
	p("describe without filter and pagination `…/unfiltered`: it draws from the smaller bucket).\n")
	p("The target is at most 10 %% of any non-mutating bucket's refill; with half of each bucket\n")
	p("left to other tools the share of what is left is twice the figure.\n\n")
	p("| bucket | calls | per second | refill per second | share | |\n|---|---|---|---|---|---|\n")
	for _, u := range st.Budget {
		mark := "mutating"
		if !u.Mutating {
			mark = verdict(u.Share <= targetSteadyShare)
		}
		p("| `%s` | %d | %.2f | %g | %.0f %% | %s |\n", u.Bucket, u.Calls, u.PerSecond, u.RefillPerSecond, u.Share*100, mark)
	}
	p("\n")
}

// outageSection writes the AZ outage's results, the paper floor and the charts.
func outageSection(p printer, o *Outage, opts ReportOptions) {
	p("### AZ outage: %d owner hosts die at once\n\n", o.Killed)
	p("Their Postgres stand-ins and health answers stop, their fleet machines stop heartbeating\n")
	p("and their registry lease is no longer renewed; EC2 keeps reporting them `running`.\n")
	if o.Buckets {
		p("EC2 limits requests as AWS does: ec2sim keeps a token bucket per action with AWS's\n")
		p("published sizes, and %.0f %% of every bucket (its maximum and its refill) is taken by\n", o.BackgroundLoad*100)
		p("other tools of the account, as during a real AZ outage (Auto Scaling replacing instances).\n")
	} else {
		p("ec2sim's token buckets were **off** in this run: the figures ignore EC2's request limits.\n")
	}
	if o.Throttle {
		p("On top of that, ec2sim answers the first attempt of *every* call with `RequestLimitExceeded`\n")
		p("(a sticky throttle fault on attempt 1), so every call is retried by the SDK.\n")
	}
	p("\n| | value |\n|---|---|\n")
	got := fmt.Sprintf("not finished: %d of %d served", o.Served, o.Killed)
	if o.Completed {
		got = sec(o.AllServedMs)
	}
	p("| every volume served again | %s |\n", got)
	p("| per served volume p50 / p95 / max | %s / %s / %s |\n", sec(o.PerVolume.P50ms), sec(o.PerVolume.P95ms), sec(o.PerVolume.MaxMs))
	p("| detection (kill → record created) p50 / max | %s / %s |\n", sec(o.Detection.P50ms), sec(o.Detection.MaxMs))
	p("| EC2 calls / answered `RequestLimitExceeded` | %d / %d |\n", o.EC2Calls, o.Throttled)
	p("| most throttles of one SDK call (all its attempts, by `amz-sdk-invocation-id`) / calls throttled more than twice | %d / %d |\n", o.MostThrottlesPerCall, o.CallsThrottledOverTwice)
	p("| EC2 calls by action | %s |\n", countList(o.EC2ByAction))
	p("| most attachments of one volume at any poll | %d |\n", o.MaxAttachments)
	p("| leader CPU during the outage | %.1f %% of one core |\n\n", o.Leader.CPUPercent)
	if o.Floor.Volumes > 0 {
		paperFloor(p, o)
	}
	if opts.OutageChart != "" {
		p("![volumes served over time against the paper floor](%s)\n\n", opts.OutageChart)
	}
	if opts.TokensChart != "" {
		p("![tokens left per EC2 request bucket during the outage](%s)\n\n", opts.TokensChart)
	}
}

// paperFloor writes the floor on paper and how the measured outage compares.
func paperFloor(p printer, o *Outage) {
	l := ec2sim.LimitMutating
	lat, _ := ec2sim.ProfileLatencies(ec2sim.ProfileAWSTypical)
	p("#### The floor on paper\n\n")
	p("Moving %d volumes takes at least %d `DetachVolume` and %d `AttachVolume` calls. AWS's\n", o.Killed, o.Killed, o.Killed)
	p("\"Request throttling for the Amazon EC2 API\" puts both among the mutating actions: a bucket\n")
	p("per action of at most %g tokens, refilled at %g a second. From full buckets, the two\n", l.Capacity, l.Refill)
	p("actions drain side by side, so %d calls of each take (%d − C) / R seconds, and the last\n", o.Killed, o.Killed)
	p("volume still needs its detach and attach to complete (at least %s + %s on aws-typical).\n", lat.DetachMin, lat.AttachMin)
	p("Fencing (`StopInstances`, which takes many IDs per call) and every describe are left out:\n")
	p("the floor is what no controller can beat, not a prediction.\n\n")
	p("| background load | bucket C / refill R | %d calls of one action | + transitions | floor | measured | measured / floor |\n|---|---|---|---|---|---|---|\n", o.Killed)
	for _, f := range []PaperFloor{o.FloorNoLoad, o.Floor} {
		ratio := "—"
		if o.Completed && f.TotalMs > 0 {
			ratio = fmt.Sprintf("%.2f", o.AllServedMs/f.TotalMs)
		}
		measured := "—"
		if f.BackgroundLoad == o.BackgroundLoad && o.Completed {
			measured = sec(o.AllServedMs)
		} else if f.BackgroundLoad != o.BackgroundLoad {
			ratio = "—"
		}
		p("| %.0f %% | %g / %g per s | %s | %s | %s | %s | %s |\n", f.BackgroundLoad*100, f.Capacity, f.RefillPerSec, sec(f.CallsMs), sec(f.TransitionsMs), sec(f.TotalMs), measured, ratio)
		if f.BackgroundLoad == o.BackgroundLoad {
			break
		}
	}
	p("\n")
}
