package awsops

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/rs/zerolog"
	"k8s.io/utils/clock"
)

// ec2API is the part of *ec2.Client this package uses, with the SDK's
// signatures.
type ec2API interface {
	DescribeVolumes(ctx context.Context, in *ec2.DescribeVolumesInput, optFns ...func(*ec2.Options)) (*ec2.DescribeVolumesOutput, error)
	DescribeInstances(ctx context.Context, in *ec2.DescribeInstancesInput, optFns ...func(*ec2.Options)) (*ec2.DescribeInstancesOutput, error)
	DescribeInstanceStatus(ctx context.Context, in *ec2.DescribeInstanceStatusInput, optFns ...func(*ec2.Options)) (*ec2.DescribeInstanceStatusOutput, error)
	AttachVolume(ctx context.Context, in *ec2.AttachVolumeInput, optFns ...func(*ec2.Options)) (*ec2.AttachVolumeOutput, error)
	DetachVolume(ctx context.Context, in *ec2.DetachVolumeInput, optFns ...func(*ec2.Options)) (*ec2.DetachVolumeOutput, error)
	StopInstances(ctx context.Context, in *ec2.StopInstancesInput, optFns ...func(*ec2.Options)) (*ec2.StopInstancesOutput, error)
	CreateTags(ctx context.Context, in *ec2.CreateTagsInput, optFns ...func(*ec2.Options)) (*ec2.CreateTagsOutput, error)
	ModifyInstanceAttribute(ctx context.Context, in *ec2.ModifyInstanceAttributeInput, optFns ...func(*ec2.Options)) (*ec2.ModifyInstanceAttributeOutput, error)
}

var _ ec2API = (*ec2.Client)(nil)

// Client performs volfailover's EC2 operations. It is safe for concurrent use.
type Client struct {
	api   ec2API
	opts  Options
	clock clock.Clock
	log   zerolog.Logger
	stats *stats
	// mutate is the retryer for mutations: more attempts than reads; like
	// the reads' retryer it has no retry quota.
	mutate aws.Retryer

	// volumeReads, instanceReads and statusReads merge concurrent reads
	// by ID (volumes; instances; instances with their status checks).
	volumeReads   *coalescer[Volume]
	instanceReads *coalescer[Instance]
	statusReads   *coalescer[Instance]
	// stops (by force flag) and tagReqs merge concurrent mutations that
	// take many IDs into one call.
	stops   map[bool]*coalescer[error]
	tagReqs *coalescer[error]

	mu sync.Mutex
	// badDevices remembers, per instance, device names an attach found in
	// use or stuck on, so the next attach there tries them last.
	badDevices map[string]map[string]bool
}

// New builds a Client from validated options. It loads the SDK's default
// configuration (environment, shared files, credential chain) for o.Region.
func New(ctx context.Context, o Options) (*Client, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	o = o.withDefaults()
	loadOpts := []func(*config.LoadOptions) error{config.WithRegion(o.Region), config.WithLogger(sdkLogger{log: o.Logger})}
	if o.Credentials != nil {
		loadOpts = append(loadOpts, config.WithCredentialsProvider(o.Credentials))
	}
	cfg, err := config.LoadDefaultConfig(ctx, loadOpts...)
	if err != nil {
		return nil, fmt.Errorf("load aws config for region %s: %w", o.Region, err)
	}
	st := &stats{m: map[string]ActionStats{}}
	clk := o.Clock
	if clk == nil {
		clk = clock.RealClock{}
	}
	bud := newBudget(clk, o.BudgetShare, o.Buckets, func(action string, d time.Duration) {
		st.add(action, func(a *ActionStats) {
			a.BudgetWaits++
			a.BudgetWaitSeconds += d.Seconds()
		})
	})
	read := newRetryer(o.ReadMaxAttempts, o.RetryBaseDelay, o.RetryMaxDelay)
	api := ec2.NewFromConfig(cfg, func(eo *ec2.Options) {
		if o.Endpoint != "" {
			eo.BaseEndpoint = aws.String(o.Endpoint)
		}
		if o.HTTPClient != nil {
			// Set here, not in LoadDefaultConfig, which refuses a plain
			// *http.Client when AWS_CA_BUNDLE is set.
			eo.HTTPClient = o.HTTPClient
		}
		eo.HTTPClient = withBufferedBody(eo.HTTPClient)
		eo.Retryer = read
		eo.RetryMaxAttempts = 0
		eo.APIOptions = append(eo.APIOptions, st.install, bud.install)
	})
	c := &Client{
		api:    api,
		opts:   o,
		clock:  clk,
		log:    o.Logger,
		stats:  st,
		mutate: newRetryer(o.MaxAttempts, o.RetryBaseDelay, o.RetryMaxDelay),
	}
	c.volumeReads = newCoalescer(c.describeVolumes)
	c.instanceReads = newCoalescer(c.describeInstances)
	c.statusReads = newCoalescer(c.instancesWithStatus)
	c.stops = map[bool]*coalescer[error]{
		true:  {call: c.stopBatch(true), earliest: true},
		false: {call: c.stopBatch(false), earliest: true},
	}
	c.tagReqs = &coalescer[error]{call: c.tagBatch, earliest: true}
	return c, nil
}

// newRetryer is the SDK standard retryer with a full-jitter exponential
// backoff whose base is an option (the SDK fixes 1s for throttles, too slow
// for tests), and without the SDK's client-side retry quota: that token
// bucket (500 tokens, 5 per throttled retry) empties within seconds of a
// throttle storm and then fails every call at once with "retry quota
// exceeded", failing whole reconcile rounds. Retries are bounded by attempts
// and the caller's context instead, and the jittered backoff spreads them.
func newRetryer(attempts int, base, maxDelay time.Duration) aws.Retryer {
	return retry.NewStandard(func(so *retry.StandardOptions) {
		so.MaxAttempts = attempts
		so.MaxBackoff = maxDelay
		so.Backoff = retry.BackoffDelayerFunc(func(attempt int, _ error) (time.Duration, error) {
			return jitterBackoff(attempt, base, maxDelay, rand.Float64()), nil
		})
		so.RateLimiter = ratelimit.None
	})
}

// jitterBackoff returns r·min(maxDelay, base·2^(attempt-1)) for r in [0,1).
func jitterBackoff(attempt int, base, maxDelay time.Duration, r float64) time.Duration {
	d := base
	for i := 1; i < attempt && d < maxDelay; i++ {
		d *= 2
	}
	d = min(d, maxDelay)
	return time.Duration(r * float64(d))
}

// mutation is the per-call option that gives a mutation its own retryer.
func (c *Client) mutation(o *ec2.Options) {
	o.Retryer = c.mutate
	o.RetryMaxAttempts = 0
}
