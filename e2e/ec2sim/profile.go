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
//   - stop: 25–35 s, i.e. about 30 s, the guest's OS shutdown included; our
//     assumption: AWS publishes no figure and only says a stop "can take a
//     few minutes" (EC2 user guide "Stop and start Amazon EC2 instances"),
//     forced stops are commonly reported to take tens of seconds, and Force
//     itself "will first attempt a graceful shutdown" (aws-sdk-go-v2
//     service/ec2 v1.344.3 api_op_StopInstances.go, StopInstancesInput.Force).
//     Raise StopMax for a longer tail;
//   - hard stop (SkipOsShutdown): 5–10 s; our assumption. AWS says bypassing
//     the OS shutdown gives "faster state transitions" (AWS What's New,
//     2025-07-23, "skip-os-shutdown option for the EC2 instance stop and
//     terminate operations"; EC2 user guide "Methods for stopping an
//     instance") without a figure; the hypervisor still has to tear the
//     instance down;
//   - describe lag: 2 s. EC2 is eventually consistent ("Eventual consistency
//     in the Amazon EC2 API", EC2 developer guide): a Describe right after a
//     mutation may show the state before it; AWS publishes no bound and
//     advises describing with backoff "starting with a couple of seconds",
//     which is the window used here.
type Latencies struct {
	AttachMin, AttachMax           time.Duration
	DetachMin, DetachMax           time.Duration
	ForceDetachMin, ForceDetachMax time.Duration
	StopMin, StopMax               time.Duration
	// HardStopMin, HardStopMax: stopping to stopped once SkipOsShutdown cut
	// the guest off, from that moment.
	HardStopMin, HardStopMax time.Duration
	// DescribeLag is the read-after-write lag: a describe answers with the
	// state a resource had DescribeLag ago (0 = read-your-writes).
	DescribeLag time.Duration
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
			HardStopMin: 5 * time.Second, HardStopMax: 10 * time.Second,
			DescribeLag: 2 * time.Second,
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
		{"hard stop", l.HardStopMin, l.HardStopMax},
		{"describe lag", 0, l.DescribeLag},
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
