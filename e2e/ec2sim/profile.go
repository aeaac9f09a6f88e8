package ec2sim

import (
	"fmt"
	"math/rand"
	"time"
)

// Profile names a set of transition latencies.
type Profile string

const (
	// ProfileInstant completes every transition right after the mutation's
	// response is produced (zero delay).
	ProfileInstant Profile = "instant"
	// ProfileAWSTypical uses the delays reported for real AWS (see Latencies).
	ProfileAWSTypical Profile = "aws-typical"
)

// Latencies are the delays of asynchronous transitions. Each is drawn
// uniformly from [Min, Max] with the Sim's random source.
//
// Figures of ProfileAWSTypical and their sources (spec §3.3):
//   - attach, detach: 1–4 s, "most attach/detach operations finish within 1–4 s"
//     (aws-ebs-csi-driver pkg/cloud/cloud.go, comment on attachmentBackoff);
//   - force detach: 1–4 s; AWS publishes no figure, we reuse the detach figure;
//   - stop: 25–35 s, i.e. about 30 s; our assumption, AWS only says a stop
//     "can take a few minutes" (EC2 user guide, Stop_Start.md). Raise StopMax
//     for a longer tail.
type Latencies struct {
	AttachMin, AttachMax           time.Duration
	DetachMin, DetachMax           time.Duration
	ForceDetachMin, ForceDetachMax time.Duration
	StopMin, StopMax               time.Duration
}

// ProfileLatencies returns the figures of a named profile.
func ProfileLatencies(p Profile) (Latencies, error) {
	switch p {
	case ProfileInstant:
		return Latencies{}, nil
	case ProfileAWSTypical:
		return Latencies{
			AttachMin: time.Second, AttachMax: 4 * time.Second,
			DetachMin: time.Second, DetachMax: 4 * time.Second,
			ForceDetachMin: time.Second, ForceDetachMax: 4 * time.Second,
			StopMin: 25 * time.Second, StopMax: 35 * time.Second,
		}, nil
	default:
		return Latencies{}, fmt.Errorf("profile %q: want %q or %q", p, ProfileInstant, ProfileAWSTypical)
	}
}

// Validate rejects negative delays and ranges whose minimum exceeds the maximum.
func (l Latencies) Validate() error {
	for _, r := range []struct {
		name   string
		lo, hi time.Duration
	}{
		{"attach", l.AttachMin, l.AttachMax},
		{"detach", l.DetachMin, l.DetachMax},
		{"force detach", l.ForceDetachMin, l.ForceDetachMax},
		{"stop", l.StopMin, l.StopMax},
	} {
		if r.lo < 0 || r.hi < r.lo {
			return fmt.Errorf("latencies %s: min %v max %v: want 0 <= min <= max", r.name, r.lo, r.hi)
		}
	}
	return nil
}

// draw picks a delay in [min, max].
func draw(rng *rand.Rand, lo, hi time.Duration) time.Duration {
	if hi <= lo {
		return lo
	}
	return lo + time.Duration(rng.Int63n(int64(hi-lo)+1))
}
