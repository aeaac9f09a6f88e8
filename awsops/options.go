package awsops

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/rs/zerolog"
	"k8s.io/utils/clock"
)

// Options configures a Client. Start from DefaultOptions and override.
type Options struct {
	// Region is the AWS region, e.g. "us-east-1". Required.
	Region string
	// Endpoint overrides the EC2 endpoint (BaseEndpoint), e.g. the ec2sim
	// URL "http://127.0.0.1:8080". Empty means the SDK's regional endpoint.
	Endpoint string
	// IMDSEndpoint overrides the instance metadata endpoint; callers hand it
	// to LoadIdentity. Empty means the SDK default (169.254.169.254).
	IMDSEndpoint string
	// ManagedTagKey is the tag key that marks volumes volfailover manages.
	// Default "volfailover:managed".
	ManagedTagKey string
	// ManagedTagValue, when set, also requires the tag to have this value.
	// Default "" (any value). Not in docs/contracts.md; added.
	ManagedTagValue string
	// InstanceTagKey, when set, scopes the listing that Instances uses for
	// large ID sets (see Client.Instances) to instances carrying this tag
	// (and InstanceTagValue when set). Default "" lists every instance of
	// the region. Real accounts should set it to the cluster tag
	// "volfailover:cluster" (DefaultInstanceTagKey), which the IAM policy in
	// docs/deploy/iam-policy.json already requires on the instances
	// volfailover may attach to or stop, so the listing reads only the
	// cluster's hosts instead of the whole account. Added.
	InstanceTagKey string
	// InstanceTagValue, when set, also requires InstanceTagKey to have this
	// value (e.g. the cluster's name). Default "" (any value). Added.
	InstanceTagValue string
	// MaxAttempts is the number of SDK attempts (first try included) for
	// mutations. Default 10. The caller's context bounds them too.
	MaxAttempts int
	// ReadMaxAttempts is the number of SDK attempts for describes. Default
	// (and 0) 5. Not in docs/contracts.md; added, like the fields below
	// marked "added": their zero value means the default.
	ReadMaxAttempts int
	// RetryBaseDelay is the base of the SDK's retry backoff: attempt n waits
	// a random time in [0, RetryBaseDelay·2^(n-1)], capped by RetryMaxDelay.
	// Default (and 0) 1s, the SDK's throttle base. Added.
	RetryBaseDelay time.Duration
	// RetryMaxDelay caps one SDK retry delay. Default (and 0) 20s. Added.
	RetryMaxDelay time.Duration
	// Wait is the backoff used while waiting for EC2 state changes.
	Wait WaitOptions
	// BudgetShare is the share of each of the account's EC2 request-token
	// buckets (AccountBuckets) this client allows itself: every attempt,
	// SDK retries included, first takes a token from a client-side bucket of
	// BudgetShare × the published size and refill rate. The rest is left to
	// the account's other tools (Auto Scaling, consoles, CI), which share
	// the buckets. Within (0, 1]; default (and 0) 0.5. Added.
	BudgetShare float64
	// Buckets overrides the account's buckets the share is taken of (nil =
	// AccountBuckets()), for an account with raised limits or a test. Added.
	Buckets map[string]Bucket
	// HTTPClient is used for EC2 calls when set; default the SDK's client.
	HTTPClient *http.Client
	// Credentials is used when set; nil means the SDK default chain.
	Credentials aws.CredentialsProvider
	// Clock measures waits and stuck bounds; nil means clock.RealClock{}. Added.
	Clock clock.Clock
	// Logger receives one line per mutation; default zerolog.Nop().
	Logger zerolog.Logger
}

// WaitOptions is the exponential backoff of the polls that wait for EC2
// state changes: Initial, then ×Factor per poll up to Max; the first poll
// is immediate.
//
// The defaults poll often: every moment a finished attach or detach goes
// unseen adds to the failover, and AWS usually finishes them in 1–4 s. Polls
// at 0, 0.25, 0.63, 1.13, 1.63, 2.13 s … see a change within 0.25 s of it
// on average, where a schedule growing to 5 s added up to a second per wait.
// The polls cost little: concurrent polls of many waits share one describe
// (see coalescer), and every describe takes a token of the client's budget.
type WaitOptions struct {
	// Initial delay before the second poll. Default 250ms.
	Initial time.Duration
	// Max delay between polls. Default 500ms.
	Max time.Duration
	// Factor multiplies the delay after each poll; ≥ 1. Default 1.5.
	Factor float64
	// StuckAttaching is how long an attachment may be seen "attaching"
	// (measured from the first poll that saw it) before ErrStuck. Default 90s.
	StuckAttaching time.Duration
	// StuckDetaching is how long an attachment may be seen "detaching" by a
	// plain detach before ErrStuck; a forced detach re-issues the force at
	// this interval instead. Default (and 0) 60s. Not in docs/contracts.md; added.
	StuckDetaching time.Duration
}

// DefaultManagedTagKey is the tag key marking managed volumes.
const DefaultManagedTagKey = "volfailover:managed"

// DefaultInstanceTagKey is the cluster tag the IAM policy requires on the
// instances volfailover acts on; the recommended Options.InstanceTagKey. It
// is not set by DefaultOptions, so an account without the tag still works.
const DefaultInstanceTagKey = "volfailover:cluster"

// DefaultOptions returns the production defaults; Region must still be set.
func DefaultOptions() Options {
	return Options{
		ManagedTagKey:   DefaultManagedTagKey,
		MaxAttempts:     10,
		ReadMaxAttempts: 5,
		RetryBaseDelay:  time.Second,
		RetryMaxDelay:   20 * time.Second,
		BudgetShare:     0.5,
		Wait: WaitOptions{
			Initial:        250 * time.Millisecond,
			Max:            500 * time.Millisecond,
			Factor:         1.5,
			StuckAttaching: 90 * time.Second,
			StuckDetaching: 60 * time.Second,
		},
		Logger: zerolog.Nop(),
	}
}

// regionRE matches region names such as us-east-1, us-gov-west-1, eu-central-2.
var regionRE = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]+$`)

// withDefaults fills the fields added beyond docs/contracts.md whose zero
// value means "default", so Options written to the contract stay valid.
func (o Options) withDefaults() Options {
	d := DefaultOptions()
	if o.ReadMaxAttempts == 0 {
		o.ReadMaxAttempts = d.ReadMaxAttempts
	}
	if o.RetryBaseDelay == 0 {
		o.RetryBaseDelay = d.RetryBaseDelay
	}
	if o.RetryMaxDelay == 0 {
		o.RetryMaxDelay = max(d.RetryMaxDelay, o.RetryBaseDelay)
	}
	if o.Wait.StuckDetaching == 0 {
		o.Wait.StuckDetaching = d.Wait.StuckDetaching
	}
	if o.BudgetShare == 0 {
		o.BudgetShare = d.BudgetShare
	}
	if o.Buckets == nil {
		o.Buckets = AccountBuckets()
	}
	return o
}

// Validate reports the first option that cannot work, naming the field and value.
func (o Options) Validate() error {
	o = o.withDefaults()
	if o.Region == "" {
		return fmt.Errorf("awsops options: Region is required")
	}
	if !regionRE.MatchString(o.Region) {
		return fmt.Errorf("awsops options: Region %q is not a region name like us-east-1", o.Region)
	}
	if err := validateEndpoint("Endpoint", o.Endpoint); err != nil {
		return err
	}
	if err := validateEndpoint("IMDSEndpoint", o.IMDSEndpoint); err != nil {
		return err
	}
	if o.ManagedTagKey == "" {
		return fmt.Errorf("awsops options: ManagedTagKey is empty")
	}
	if len(o.ManagedTagKey) > 128 {
		return fmt.Errorf("awsops options: ManagedTagKey %q is longer than 128 characters", o.ManagedTagKey)
	}
	if len(o.InstanceTagKey) > 128 {
		return fmt.Errorf("awsops options: InstanceTagKey %q is longer than 128 characters", o.InstanceTagKey)
	}
	if o.InstanceTagValue != "" && o.InstanceTagKey == "" {
		return fmt.Errorf("awsops options: InstanceTagValue %q is set without InstanceTagKey", o.InstanceTagValue)
	}
	if len(o.InstanceTagValue) > 256 {
		return fmt.Errorf("awsops options: InstanceTagValue %q is longer than 256 characters", o.InstanceTagValue)
	}
	if o.MaxAttempts < 1 {
		return fmt.Errorf("awsops options: MaxAttempts %d must be at least 1", o.MaxAttempts)
	}
	if o.ReadMaxAttempts < 1 {
		return fmt.Errorf("awsops options: ReadMaxAttempts %d must be at least 1", o.ReadMaxAttempts)
	}
	if o.RetryBaseDelay <= 0 {
		return fmt.Errorf("awsops options: RetryBaseDelay %s must be positive", o.RetryBaseDelay)
	}
	if o.RetryMaxDelay < o.RetryBaseDelay {
		return fmt.Errorf("awsops options: RetryMaxDelay %s must be at least RetryBaseDelay %s", o.RetryMaxDelay, o.RetryBaseDelay)
	}
	if o.BudgetShare < 0 || o.BudgetShare > 1 {
		return fmt.Errorf("awsops options: BudgetShare %g must be within (0, 1]", o.BudgetShare)
	}
	for k, b := range o.Buckets {
		if b.Size < 1 || b.Refill <= 0 {
			return fmt.Errorf("awsops options: Buckets[%q] size %g and refill %g/s must be at least 1 and positive", k, b.Size, b.Refill)
		}
	}
	return o.Wait.validate()
}

func (w WaitOptions) validate() error {
	switch {
	case w.Initial <= 0:
		return fmt.Errorf("awsops options: Wait.Initial %s must be positive", w.Initial)
	case w.Max < w.Initial:
		return fmt.Errorf("awsops options: Wait.Max %s must be at least Wait.Initial %s", w.Max, w.Initial)
	case w.Factor < 1 || w.Factor > 10:
		return fmt.Errorf("awsops options: Wait.Factor %g must be within [1, 10]", w.Factor)
	case w.StuckAttaching <= 0:
		return fmt.Errorf("awsops options: Wait.StuckAttaching %s must be positive", w.StuckAttaching)
	case w.StuckDetaching <= 0:
		return fmt.Errorf("awsops options: Wait.StuckDetaching %s must be positive", w.StuckDetaching)
	}
	return nil
}

// validateEndpoint accepts "" or an http(s) URL with a host.
func validateEndpoint(field, v string) error {
	if v == "" {
		return nil
	}
	u, err := url.Parse(v)
	if err != nil {
		return fmt.Errorf("awsops options: %s %q is not a URL: %w", field, v, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("awsops options: %s %q must use http or https", field, v)
	}
	if u.Host == "" {
		return fmt.Errorf("awsops options: %s %q has no host", field, v)
	}
	return nil
}
