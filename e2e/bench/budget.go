package bench

import (
	"math"
	"sort"
	"time"

	"github.com/volfailover/volfailover/e2e/ec2sim"
)

// RunInfo says when and from which commit one benchmark's results were
// measured, so a page that keeps older results dates each section.
type RunInfo struct {
	Date   time.Time `json:"date"`
	Commit string    `json:"commit"`
	Short  bool      `json:"short,omitempty"`
}

// PaperFloor is the least time n failovers can take within EC2's request
// limits, on paper: n DetachVolume and n AttachVolume calls, each action
// from its own full bucket of limit (less the background load), then the
// last volume's detach and attach transitions at their shortest. The two
// buckets drain side by side; the last attach cannot be sent before the
// last detach has completed.
type PaperFloor struct {
	Volumes        int     `json:"volumes"`
	Capacity       float64 `json:"capacity"`
	RefillPerSec   float64 `json:"refillPerSecond"`
	BackgroundLoad float64 `json:"backgroundLoad"`
	// CallsMs is how long n calls of one action take from a full bucket.
	CallsMs float64 `json:"callsMs"`
	// TransitionsMs is the shortest detach plus the shortest attach.
	TransitionsMs float64 `json:"transitionsMs"`
	// TotalMs is CallsMs + TransitionsMs.
	TotalMs float64 `json:"totalMs"`
}

// NewPaperFloor computes the floor of n volumes for the mutating bucket of
// ec2sim (AWS's published size) at a background load, with the shortest
// detach and attach of profile p.
func NewPaperFloor(n int, load float64, p ec2sim.Profile) PaperFloor {
	l := ec2sim.LimitMutating
	c, r := l.Capacity*(1-load), l.Refill*(1-load)
	calls := math.Max(0, float64(n)-c) / r
	lat, _ := ec2sim.ProfileLatencies(p)
	tr := lat.DetachMin + lat.AttachMin
	f := PaperFloor{Volumes: n, Capacity: c, RefillPerSec: r, BackgroundLoad: load,
		CallsMs: ms(time.Duration(calls * float64(time.Second))), TransitionsMs: ms(tr)}
	f.TotalMs = round1(f.CallsMs + f.TransitionsMs)
	return f
}

// ServedBy is how many volumes the floor allows served by t after the
// outage: the first Capacity at once, then RefillPerSec a second, after
// the transitions.
func (f PaperFloor) ServedBy(t time.Duration) float64 {
	s := t.Seconds() - f.TransitionsMs/1000
	if s < 0 {
		return 0
	}
	return math.Min(float64(f.Volumes), math.Floor(f.Capacity+f.RefillPerSec*s))
}

// Point is one sample of a series: seconds since the outage began, value.
type Point struct {
	S float64 `json:"s"`
	V float64 `json:"v"`
}

// tokenSeries turns ec2sim's samples from t0 on into one series per bucket,
// one point a second.
func tokenSeries(samples []ec2sim.TokenSample, t0 time.Time) map[string][]Point {
	out := map[string][]Point{}
	last := map[string]int64{}
	for _, s := range samples {
		if s.Time.Before(t0) {
			continue
		}
		sec := int64(s.Time.Sub(t0) / time.Second)
		if n, ok := last[s.Bucket]; ok && n == sec {
			continue
		}
		last[s.Bucket] = sec
		out[s.Bucket] = append(out[s.Bucket], Point{S: round1(s.Time.Sub(t0).Seconds()), V: s.Tokens})
	}
	return out
}

// throttlesPerCall counts the RequestLimitExceeded answers of every SDK call
// (one amz-sdk-invocation-id over all its attempts) in the journal; calls
// without the header count one per request. It returns the most any call
// got and how many calls got more than limit.
func throttlesPerCall(journal []ec2sim.Call, limit int) (most, over int) {
	n := map[string]int{}
	anon := 0
	for _, c := range journal {
		if c.Code != "RequestLimitExceeded" {
			continue
		}
		if c.InvocationID == "" {
			anon++
			most = max(most, 1)
			continue
		}
		n[c.InvocationID]++
	}
	for _, k := range n {
		most = max(most, k)
		if k > limit {
			over++
		}
	}
	if limit < 1 {
		over += anon
	}
	return most, over
}

// servedCurve is the served times in order, in seconds since the outage.
func servedCurve(served map[string]time.Duration) []float64 {
	out := make([]float64, 0, len(served))
	for _, d := range served {
		out = append(out, round1(d.Seconds()))
	}
	sort.Float64s(out)
	return out
}
