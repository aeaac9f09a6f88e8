package ec2sim

import (
	"fmt"
	"math"
	"net/http"
	"net/url"
	"sort"
	"time"
)

// EC2 throttles with token buckets. Source: AWS "Request throttling for the
// Amazon EC2 API" (EC2 developer guide,
// docs.aws.amazon.com/ec2/latest/devguide/ec2-api-throttling.html, read
// 2026-11-30), sections "How throttling is applied", "Request token bucket
// sizes and refill rates" and "Resource token bucket sizes and refill rates":
//
//   - buckets are per account and Region, and "each API is evaluated
//     individually": every action has its own bucket, sized by its category;
//     each request takes one token; a request that finds the bucket empty
//     fails with RequestLimitExceeded, other actions are not affected;
//   - a bucket below its maximum gains its refill rate every second, and
//     never holds more than its maximum;
//   - non-mutating actions (Describe*): maximum 100, refill 20/s;
//   - "unfiltered and unpaginated non-mutating actions": DescribeInstances,
//     DescribeInstanceStatus and DescribeVolumes (of the actions served
//     here), "when requested without specifying either pagination or a
//     filter, use tokens from a smaller token bucket": maximum 50, refill 10/s;
//   - mutating actions that are neither resource-intensive nor uncategorized
//     (AttachVolume, DetachVolume, StopInstances, ModifyInstanceAttribute):
//     maximum 50, refill 5/s;
//   - CreateTags is an "uncategorized action" with its own figures:
//     maximum 100, refill 10/s;
//   - StopInstances also has a resource token bucket that loses one token per
//     instance named in the request: maximum 1000, refill 20/s. A request
//     needs enough tokens in both its buckets.
//
// What this model decides where the page is silent:
//   - "unfiltered and unpaginated" means no Filter.N, no MaxResults and no
//     NextToken. Explicit IDs (VolumeId.N, InstanceId.N) are not a filter:
//     the page's "filter" links to the --filters documentation;
//   - the refill is continuous (rate × elapsed time) rather than one step a
//     second; the two differ by less than one second's refill at any time;
//   - a request that is throttled takes no token, and a DryRun takes one;
//   - requests lost before EC2 (hang and connection-reset faults) take none;
//   - background load f (Throttling.BackgroundLoad) stands for the other
//     tools of the account sharing every bucket: they take the share f of
//     each refill and keep the bucket the share f below full, so this Sim's
//     callers see a bucket of (1-f) × maximum refilled at (1-f) × rate.

// BucketLimit is one token bucket's size: at most Capacity tokens, refilled
// at Refill tokens per second.
type BucketLimit struct {
	Capacity float64 `json:"capacity"`
	Refill   float64 `json:"refillPerSecond"`
}

// Published bucket sizes (see the source at the top of this file).
var (
	// LimitNonMutating is the bucket of a filtered or paginated describe.
	LimitNonMutating = BucketLimit{Capacity: 100, Refill: 20}
	// LimitUnfiltered is the smaller bucket of an unfiltered, unpaginated describe.
	LimitUnfiltered = BucketLimit{Capacity: 50, Refill: 10}
	// LimitMutating is the bucket of AttachVolume, DetachVolume, StopInstances
	// and ModifyInstanceAttribute.
	LimitMutating = BucketLimit{Capacity: 50, Refill: 5}
	// LimitCreateTags is CreateTags' own bucket (an uncategorized action).
	LimitCreateTags = BucketLimit{Capacity: 100, Refill: 10}
	// LimitStopResources is StopInstances' resource bucket, one token per instance.
	LimitStopResources = BucketLimit{Capacity: 1000, Refill: 20}
)

// Suffixes of bucket names: an action's request bucket is named after the
// action, its other buckets after the action and one of these.
const (
	UnfilteredSuffix = "/unfiltered"
	ResourcesSuffix  = "/resources"
)

// Throttling configures the request-token buckets.
type Throttling struct {
	// Enabled turns the buckets on.
	Enabled bool
	// BackgroundLoad is the share, in [0, 1), of every bucket's maximum and
	// refill that other tools of the account use (see the model above).
	BackgroundLoad float64
	// SampleEvery is the period of the tokens-left samples; default 250 ms.
	SampleEvery time.Duration
}

// ProfileThrottling is a profile's default: buckets on with AWS's figures
// and no background load for aws-typical, off for instant.
func ProfileThrottling(p Profile) Throttling {
	return Throttling{Enabled: p == ProfileAWSTypical}
}

// Validate rejects a background load outside [0, 1) and a negative period.
func (t Throttling) Validate() error {
	if math.IsNaN(t.BackgroundLoad) || t.BackgroundLoad < 0 || t.BackgroundLoad >= 1 {
		return fmt.Errorf("throttling background load %v: want 0 <= load < 1", t.BackgroundLoad)
	}
	if t.SampleEvery < 0 {
		return fmt.Errorf("throttling sample period %v: want >= 0", t.SampleEvery)
	}
	return nil
}

// maxTokenSamples bounds the samples kept; the oldest tenth goes when full.
const maxTokenSamples = 200_000

// TokenSample is the tokens left in one bucket at one time.
type TokenSample struct {
	Time   time.Time `json:"time"`
	Bucket string    `json:"bucket"`
	Tokens float64   `json:"tokens"`
}

// ThrottledCall is one request a bucket refused with RequestLimitExceeded.
// InvocationID is the SDK's amz-sdk-invocation-id header, the same on every
// attempt of one call: aws-sdk-go-v2 v1.48.0 sets it in the Build step
// (aws/middleware/middleware.go, ClientRequestID.HandleBuild), before the
// retry loop of the Finalize step (aws/retry/middleware.go).
type ThrottledCall struct {
	Time         time.Time `json:"time"`
	Action       string    `json:"action"`
	Bucket       string    `json:"bucket"`
	InvocationID string    `json:"invocationId,omitempty"`
	Attempt      int       `json:"attempt"`
}

// bucket is one token bucket with its sample grid.
type bucket struct {
	limit      BucketLimit
	tokens     float64
	at         time.Time // when tokens was last brought up to date
	nextSample time.Time
}

// level is the bucket's tokens at t (t not before b.at).
func (b *bucket) level(t time.Time) float64 {
	return math.Min(b.limit.Capacity, b.tokens+b.limit.Refill*t.Sub(b.at).Seconds())
}

// buckets is the Sim's throttling state; it lives behind Sim.mu.
type buckets struct {
	cfg       Throttling
	start     time.Time
	byName    map[string]*bucket
	samples   []TokenSample
	throttled []ThrottledCall
}

func newBuckets(cfg Throttling, start time.Time) *buckets {
	if cfg.SampleEvery == 0 {
		cfg.SampleEvery = 250 * time.Millisecond
	}
	return &buckets{cfg: cfg, start: start, byName: map[string]*bucket{}}
}

// limitOf is the published size of a bucket, scaled by the background load.
func (bs *buckets) limitOf(name string) BucketLimit {
	l := LimitMutating
	switch {
	case hasSuffix(name, ResourcesSuffix):
		l = LimitStopResources
	case hasSuffix(name, UnfilteredSuffix):
		l = LimitUnfiltered
	case name == "CreateTags":
		l = LimitCreateTags
	case !mutatingActions[name]:
		l = LimitNonMutating
	}
	share := 1 - bs.cfg.BackgroundLoad
	return BucketLimit{Capacity: l.Capacity * share, Refill: l.Refill * share}
}

func hasSuffix(s, suffix string) bool {
	return len(s) > len(suffix) && s[len(s)-len(suffix):] == suffix
}

// get returns the named bucket, full when first used.
func (bs *buckets) get(name string, now time.Time) *bucket {
	b := bs.byName[name]
	if b == nil {
		l := bs.limitOf(name)
		b = &bucket{limit: l, tokens: l.Capacity, at: now, nextSample: bs.nextGrid(now)}
		bs.byName[name] = b
	}
	return b
}

// nextGrid is the first sample time after t on the grid that starts at bs.start.
func (bs *buckets) nextGrid(t time.Time) time.Time {
	n := t.Sub(bs.start)/bs.cfg.SampleEvery + 1
	return bs.start.Add(n * bs.cfg.SampleEvery)
}

// advance brings b up to now, recording the samples due on the way.
func (bs *buckets) advance(name string, b *bucket, now time.Time) {
	for !b.nextSample.After(now) {
		bs.sample(TokenSample{Time: b.nextSample, Bucket: name, Tokens: round3(b.level(b.nextSample))})
		b.nextSample = b.nextSample.Add(bs.cfg.SampleEvery)
	}
	if now.After(b.at) {
		b.tokens, b.at = b.level(now), now
	}
}

func (bs *buckets) sample(s TokenSample) {
	if len(bs.samples) >= maxTokenSamples {
		bs.samples = append(bs.samples[:0], bs.samples[maxTokenSamples/10:]...)
	}
	bs.samples = append(bs.samples, s)
}

func round3(f float64) float64 { return math.Round(f*1000) / 1000 }

// bucketNeeds lists the buckets a call draws from and how many tokens each.
func bucketNeeds(c *call) map[string]float64 {
	need := map[string]float64{BucketOf(c.action, c.p.form): 1}
	if c.action == "StopInstances" {
		need["StopInstances"+ResourcesSuffix] = math.Max(1, float64(len(c.p.list("InstanceId"))))
	}
	return need
}

// BucketOf names the request bucket a call with these parameters draws
// from: the action, with UnfilteredSuffix for an unfiltered and unpaginated
// DescribeInstances, DescribeInstanceStatus or DescribeVolumes.
func BucketOf(action string, params url.Values) string {
	switch action {
	case "DescribeInstances", "DescribeInstanceStatus", "DescribeVolumes":
		if unfilteredUnpaginated(params) {
			return action + UnfilteredSuffix
		}
	}
	return action
}

// PublishedLimit is the published size of a bucket named as BucketOf names
// it (or with ResourcesSuffix), without background load.
func PublishedLimit(bucket string) BucketLimit {
	return (&buckets{}).limitOf(bucket)
}

// unfilteredUnpaginated reports a describe with no Filter.N, MaxResults or NextToken.
func unfilteredUnpaginated(form url.Values) bool {
	for k := range form {
		if k == "MaxResults" || k == "NextToken" || filterNameRe.MatchString(k) || filterValueRe.MatchString(k) {
			return false
		}
	}
	return true
}

// takeTokens spends the call's tokens and reports true, or records the
// refusal and reports false (spending nothing) when a bucket lacks them;
// s.mu is held.
func (s *Sim) takeTokens(c *call) bool {
	bs := s.buckets
	if bs == nil {
		return true
	}
	// The clock, not c.now: concurrent requests reach this point out of
	// arrival order, and a bucket never goes back in time.
	now := s.clock.Now().UTC()
	need := bucketNeeds(c)
	names := make([]string, 0, len(need))
	for n := range need {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		b := bs.get(n, now)
		bs.advance(n, b, now)
		if b.tokens < need[n] {
			bs.throttled = append(bs.throttled, ThrottledCall{Time: now, Action: c.action, Bucket: n, InvocationID: c.invocationID, Attempt: c.attempt})
			return false
		}
	}
	for _, n := range names {
		bs.byName[n].tokens -= need[n]
	}
	return true
}

// throttledResponse is EC2's answer to a request its bucket refused.
// The newer message names the account and action (spec §1.4, from
// CloudSnorkel/cdk-github-runners#946: "Request limit exceeded. Account N
// has been throttled on ec2:RunInstances because it exceeded its request
// rate limit.").
func throttledResponse(c *call) response {
	return errorResponse(c, &apiError{status: http.StatusServiceUnavailable, code: "RequestLimitExceeded",
		message: "Request limit exceeded. Account " + accountID + " has been throttled on ec2:" + c.action +
			" because it exceeded its request rate limit."})
}

// accountID is the account every emulated resource belongs to.
const accountID = "123456789012"

// TokenSamples returns the tokens left in every bucket used so far, on a
// grid of Throttling.SampleEvery from the Sim's start up to now, oldest
// first; nil when buckets are off.
func (s *Sim) TokenSamples() []TokenSample {
	now := s.clock.Now().UTC()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.buckets == nil {
		return nil
	}
	for n, b := range s.buckets.byName {
		s.buckets.advance(n, b, now)
	}
	out := append([]TokenSample(nil), s.buckets.samples...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Time.Before(out[j].Time) })
	return out
}

// Throttled returns every request a bucket refused, oldest first.
func (s *Sim) Throttled() []ThrottledCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.buckets == nil {
		return nil
	}
	return append([]ThrottledCall(nil), s.buckets.throttled...)
}

// BucketLimits returns the size of every bucket used so far, background load
// applied; nil when buckets are off.
func (s *Sim) BucketLimits() map[string]BucketLimit {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.buckets == nil {
		return nil
	}
	out := map[string]BucketLimit{}
	for n, b := range s.buckets.byName {
		out[n] = b.limit
	}
	return out
}

// ThrottlingConfig returns the buckets' configuration (Enabled false when off).
func (s *Sim) ThrottlingConfig() Throttling {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.buckets == nil {
		return Throttling{}
	}
	return s.buckets.cfg
}

// resetThrottleRecords forgets samples and refusals (the buckets keep their
// tokens); s.mu is held.
func (s *Sim) resetThrottleRecords() {
	if s.buckets != nil {
		s.buckets.samples, s.buckets.throttled = nil, nil
	}
}

// Bucket modes, as the -buckets flags and sandbox.Config.Buckets take them.
const (
	BucketsProfile = ""    // the profile's default (ProfileThrottling)
	BucketsOn      = "on"  // AWS's published sizes
	BucketsOff     = "off" // no request limits
)

// ThrottlingFor builds the throttling of profile p from a bucket mode and a
// background load, naming the bad field.
func ThrottlingFor(p Profile, mode string, load float64) (Throttling, error) {
	t := ProfileThrottling(p)
	switch mode {
	case BucketsProfile:
	case BucketsOn:
		t.Enabled = true
	case BucketsOff:
		t.Enabled = false
	default:
		return t, fmt.Errorf("buckets %q: want %q, %q or empty for the profile's default", mode, BucketsOn, BucketsOff)
	}
	t.BackgroundLoad = load
	if err := t.Validate(); err != nil {
		return t, err
	}
	if !t.Enabled && load != 0 {
		return t, fmt.Errorf("background load %v: buckets are off (profile %s, buckets %q)", load, p, mode)
	}
	return t, nil
}
