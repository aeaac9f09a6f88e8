package controller

import (
	"errors"
	"fmt"
	"net"
	"regexp"
	"strings"
	"time"

	"github.com/rs/zerolog"
	"k8s.io/utils/clock"

	"github.com/volfailover/volfailover/awsops"
	"github.com/volfailover/volfailover/health"
	"github.com/volfailover/volfailover/state"
)

// StepDeadlines bounds each failover step. A step past its deadline is paged once
// and keeps being retried; the deadline never abandons a failover half-way.
type StepDeadlines struct {
	Fence        time.Duration // stop issued (strict: stopped); default 2m
	FenceConfirm time.Duration // background confirmation of the stop; default 5m
	Detach       time.Duration // volume no longer attached to the old owner; default 2m
	Attach       time.Duration // volume attached to the target; default 2m
	Metadata     time.Duration // fleet metadata moved; default 1m
	Reschedule   time.Duration // unit active on the target; default 3m
	Verify       time.Duration // Postgres ready on the target; default 5m
}

// Options configures one controller instance. DefaultOptions gives the defaults
// stated on each field; Validate rejects impossible values naming the field.
type Options struct {
	// EtcdEndpoints lists the etcd client URLs; required.
	EtcdEndpoints []string
	// EtcdCertFile and EtcdKeyFile are a client certificate pair (both or neither).
	EtcdCertFile, EtcdKeyFile string
	// EtcdCAFile verifies the etcd servers; optional.
	EtcdCAFile string
	// EtcdUsername and EtcdPassword authenticate to etcd (both or neither).
	EtcdUsername, EtcdPassword string
	// EtcdDialTimeout bounds the first connection; default 5s.
	EtcdDialTimeout time.Duration

	// KeyPrefix is the root of every key volfailover writes; default "/volfailover".
	KeyPrefix string
	// SessionTTL is the etcd session lease, whole seconds; default 10s. A crashed
	// leader is replaced within about this long.
	SessionTTL time.Duration
	// RoundInterval is the period of the leader's reconcile round, which reads etcd,
	// EC2 and fleet; default 1s. A round also runs early, at most one probe interval
	// after the previous one, when the leader's probes or a witness report may have
	// made an owner dead.
	RoundInterval time.Duration
	// ProbeInterval is the period of the leader's and the witnesses' probes of the
	// owners; default 250ms, at most RoundInterval.
	ProbeInterval time.Duration
	// ProbeTimeout bounds one probe; default 200ms and at most ProbeInterval.
	ProbeTimeout time.Duration
	// FailureThreshold is how many consecutive failed leader probes, together
	// with an independent witness, make an owner dead; default 3.
	FailureThreshold int
	// MinUnreachable is how long the leader's probes, and each witness that agrees,
	// must have failed without a break before they count; default 2.5s (see
	// health.DefaultMinUnreachable: a whole-host blip of 2 s moves nothing). EC2
	// reporting the owner stopped or terminated does not wait for it.
	MinUnreachable time.Duration
	// Witnesses is how many instances of an owner's AZ probe it; default 3.
	Witnesses int
	// WitnessRefresh is how often an unchanged witness report is rewritten; default 5s.
	// Reports older than three refreshes are ignored by the verdict.
	WitnessRefresh time.Duration

	// ManagedTagKey marks the EBS volumes volfailover manages; default "volfailover:managed".
	ManagedTagKey string
	// UnitTemplate names a volume's Postgres unit, %s = volume ID; default "postgres@%s.service".
	UnitTemplate string
	// MetadataKey is the fleet machine metadata key pinning the unit; default "postgres".
	MetadataKey string
	// Device is the first device name an attach tries; default "/dev/sdf", the
	// start of the range AWS recommends for EBS data volumes. When the target
	// has it taken, awsops.DeviceNames goes on through /dev/sdf–/dev/sdp; root
	// and instance-store names (/dev/sd[a-e], /dev/xvd[a-e]) are refused.
	Device string
	// PostgresPort is probed on every owner's private IP; default 5432.
	PostgresPort int

	// FencePolicy is FenceStopThenDetach (default) or FenceStrict.
	FencePolicy state.FencePolicy
	// Deadlines bound the failover steps.
	Deadlines StepDeadlines
	// RetryInitial and RetryMax bound the backoff between attempts of a step; default 500ms, 10s.
	RetryInitial, RetryMax time.Duration

	// Cooldown is the least time between two automatic failovers of one volume; default 15m.
	Cooldown time.Duration
	// MaxFailovers automatic failovers of one volume within FailoverWindow switch it to
	// alert-only; default 3 in 1h.
	MaxFailovers int
	// FailoverWindow is the window MaxFailovers counts in; default 1h.
	FailoverWindow time.Duration
	// HistoryLimit bounds the completed failover records kept per volume; default 20.
	HistoryLimit int
	// MaxMoves bounds the moves that have not reached their attach yet: the
	// ones spending the EC2 mutating budget (stop, detach, attach). Further
	// moves wait in the plan, heals first (their path to served is the
	// shortest), then failovers, then switchovers, each by volume ID, and
	// start as earlier ones attach: while one volume attaches, the next
	// detaches. Default 25: the mutating budget at the default share (half
	// of AttachVolume's 50-token bucket) sends that many at once; more moves
	// in flight would only queue on the budget, holding memory.
	MaxMoves int
	// SuspectPageAfter is how long an owner may stay suspect before an
	// owner_suspect warning is paged (resolved when it is alive again); default 30s.
	SuspectPageAfter time.Duration

	// DryRun decides and records what the leader would do but mutates nothing in EC2 or fleet.
	DryRun bool
	// ListenAddr is where /healthz, /readyz, /metrics and /v1/status are served; default ":9437".
	ListenAddr string

	// InstanceID, AvailabilityZone, PrivateIP identify this host; empty = from IMDS.
	InstanceID, AvailabilityZone, PrivateIP string
	// MachineID is this host's fleet machine ID; empty = /etc/machine-id.
	MachineID string
	// NoFailover keeps this host out of target choice (it still witnesses and may lead).
	NoFailover bool
	// OnPrimaryChange is a shell command this host runs when it becomes a
	// volume's primary (after the move is verified), with VOLFAILOVER_VOLUME,
	// VOLFAILOVER_ADDRESS, VOLFAILOVER_PORT, VOLFAILOVER_INSTANCE and
	// VOLFAILOVER_FAILOVER_ID in its environment; "" = none. Patroni's
	// on_role_change is the model.
	OnPrimaryChange string
	// OnPrimaryChangeTimeout bounds that command; default 30s.
	OnPrimaryChangeTimeout time.Duration
	// EventSwitchover moves a volume off an owner with a scheduled EC2 event
	// (retirement, stop, reboot, maintenance) by a planned switchover, once
	// the event is within EventSwitchoverLead; default true. The event is
	// paged either way.
	EventSwitchover bool
	// EventSwitchoverLead is how long before an event's earliest start the
	// switchover runs; default 6h.
	EventSwitchoverLead time.Duration
	// Version is published in the registry.
	Version string

	// Clock drives every timing decision; nil = clock.RealClock{}.
	Clock clock.WithTicker
	// Logger receives the controller's logs; default zerolog.Nop().
	Logger zerolog.Logger

	// test hooks (package tests only)
	afterStep   func(rec *state.Record)
	leaderProbe func(owner state.Owner) error
}

// DefaultOptions returns the documented defaults; identity and etcd endpoints stay empty.
func DefaultOptions() Options {
	return Options{
		EtcdDialTimeout:  5 * time.Second,
		KeyPrefix:        state.DefaultPrefix,
		SessionTTL:       10 * time.Second,
		RoundInterval:    time.Second,
		ProbeInterval:    250 * time.Millisecond,
		ProbeTimeout:     200 * time.Millisecond,
		FailureThreshold: 3,
		MinUnreachable:   health.DefaultMinUnreachable,
		Witnesses:        3,
		WitnessRefresh:   5 * time.Second,
		ManagedTagKey:    "volfailover:managed",
		UnitTemplate:     "postgres@%s.service",
		MetadataKey:      "postgres",
		Device:           "/dev/sdf",
		PostgresPort:     5432,
		FencePolicy:      state.FenceStopThenDetach,
		Deadlines: StepDeadlines{
			Fence:        2 * time.Minute,
			FenceConfirm: 5 * time.Minute,
			Detach:       2 * time.Minute,
			Attach:       2 * time.Minute,
			Metadata:     time.Minute,
			Reschedule:   3 * time.Minute,
			Verify:       5 * time.Minute,
		},
		RetryInitial:     500 * time.Millisecond,
		RetryMax:         10 * time.Second,
		Cooldown:         15 * time.Minute,
		MaxFailovers:     3,
		FailoverWindow:   time.Hour,
		HistoryLimit:     20,
		MaxMoves:         25,
		SuspectPageAfter: 30 * time.Second,
		ListenAddr:       ":9437",

		OnPrimaryChangeTimeout: 30 * time.Second,
		EventSwitchover:        true,
		EventSwitchoverLead:    6 * time.Hour,
		Logger:                 zerolog.Nop(),
	}
}

var (
	metaKeyRe   = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)
	deviceRe    = regexp.MustCompile(`^/dev/(sd[b-z]|xvd[b-z]{1,2}|sd[b-z][1-9]|xvd[b-z][0-9]?)$`)
	machineIDRe = regexp.MustCompile(`^[0-9a-f]{32}$`)
)

// Validate checks every field and returns all problems found, each naming the
// field and its value. Identity fields may be empty (they are discovered later)
// but are checked when set.
func (o Options) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	o.validateEtcd(bad)
	o.validateTiming(bad)
	o.validateNames(bad)
	o.validatePolicy(bad)
	o.validateIdentity(bad)
	return errors.Join(errs...)
}

// complaint records one problem with a field.
type complaint func(format string, args ...any)

func (o Options) validateEtcd(bad complaint) {
	if len(o.EtcdEndpoints) == 0 {
		bad("etcd-endpoints: at least one endpoint is required")
	}
	for _, ep := range o.EtcdEndpoints {
		if !strings.HasPrefix(ep, "http://") && !strings.HasPrefix(ep, "https://") && !strings.HasPrefix(ep, "unix://") {
			bad("etcd-endpoints: %q is not an http://, https:// or unix:// URL", ep)
		}
	}
	if (o.EtcdCertFile == "") != (o.EtcdKeyFile == "") {
		bad("etcd-cert-file %q and etcd-key-file %q: set both or neither", o.EtcdCertFile, o.EtcdKeyFile)
	}
	if (o.EtcdUsername == "") != (o.EtcdPassword == "") {
		bad("etcd-username %q and etcd-password: set both or neither", o.EtcdUsername)
	}
	if o.EtcdDialTimeout <= 0 {
		bad("etcd-dial-timeout: %s must be positive", o.EtcdDialTimeout)
	}
	if err := state.CheckPrefix(o.KeyPrefix); err != nil {
		bad("key-prefix: %v", err)
	}
}

func (o Options) validateTiming(bad complaint) {
	if o.SessionTTL < time.Second || o.SessionTTL%time.Second != 0 {
		bad("session-ttl: %s must be a whole number of seconds, at least 1s", o.SessionTTL)
	}
	if o.RoundInterval <= 0 {
		bad("round-interval: %s must be positive", o.RoundInterval)
	} else if o.SessionTTL <= 2*o.RoundInterval {
		bad("session-ttl: %s must exceed 2 × round-interval (%s)", o.SessionTTL, o.RoundInterval)
	}
	if o.ProbeInterval <= 0 || o.ProbeInterval > o.RoundInterval {
		bad("probe-interval: %s must be positive and at most round-interval (%s)", o.ProbeInterval, o.RoundInterval)
	}
	if o.MinUnreachable < 0 || o.MinUnreachable > time.Minute {
		bad("min-unreachable: %s must be between 0s and 1m", o.MinUnreachable)
	}
	if o.ProbeTimeout <= 0 || o.ProbeTimeout > o.ProbeInterval {
		bad("probe-timeout: %s must be positive and at most probe-interval (%s)", o.ProbeTimeout, o.ProbeInterval)
	}
	if o.WitnessRefresh < o.ProbeInterval {
		bad("witness-refresh: %s must be at least probe-interval (%s)", o.WitnessRefresh, o.ProbeInterval)
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"deadline-fence", o.Deadlines.Fence}, {"deadline-fence-confirm", o.Deadlines.FenceConfirm},
		{"deadline-detach", o.Deadlines.Detach}, {"deadline-attach", o.Deadlines.Attach},
		{"deadline-metadata", o.Deadlines.Metadata}, {"deadline-reschedule", o.Deadlines.Reschedule},
		{"deadline-verify", o.Deadlines.Verify},
	} {
		if d.v <= 0 {
			bad("%s: %s must be positive", d.name, d.v)
		}
	}
	if o.RetryInitial <= 0 || o.RetryMax < o.RetryInitial {
		bad("retry-initial %s and retry-max %s: need 0 < initial ≤ max", o.RetryInitial, o.RetryMax)
	}
	if o.SuspectPageAfter <= 0 {
		bad("suspect-page-after: %s must be positive", o.SuspectPageAfter)
	}
	if o.EventSwitchoverLead <= 0 {
		bad("event-switchover-lead: %s must be positive", o.EventSwitchoverLead)
	}
	if o.OnPrimaryChangeTimeout <= 0 {
		bad("on-primary-change-timeout: %s must be positive", o.OnPrimaryChangeTimeout)
	}
}

func (o Options) validateNames(bad complaint) {
	if o.ManagedTagKey == "" || len(o.ManagedTagKey) > 128 || strings.HasPrefix(strings.ToLower(o.ManagedTagKey), "aws:") {
		bad("managed-tag-key: %q must be 1–128 characters and not start with aws:", o.ManagedTagKey)
	}
	if strings.Count(o.UnitTemplate, "%s") != 1 || strings.Count(o.UnitTemplate, "%") != 1 || !strings.Contains(o.UnitTemplate, "@%s.") {
		bad("unit-template: %q must contain exactly one @%%s. (e.g. postgres@%%s.service)", o.UnitTemplate)
	}
	if !metaKeyRe.MatchString(o.MetadataKey) {
		bad("metadata-key: %q must match %s", o.MetadataKey, metaKeyRe)
	}
	if !deviceRe.MatchString(o.Device) || awsops.IsInstanceStoreDevice(o.Device) {
		bad("device: %q is not an EBS data device name such as /dev/sdf (/dev/sd[a-e] and /dev/xvd[a-e] are root and instance store)", o.Device)
	}
	if o.PostgresPort < 1 || o.PostgresPort > 65535 {
		bad("postgres-port: %d is not a TCP port", o.PostgresPort)
	}
	if _, _, err := net.SplitHostPort(o.ListenAddr); err != nil {
		bad("listen-address: %q: %v", o.ListenAddr, err)
	}
}

func (o Options) validatePolicy(bad complaint) {
	if o.FailureThreshold < 1 {
		bad("failure-threshold: %d must be at least 1", o.FailureThreshold)
	}
	if o.Witnesses < 1 || o.Witnesses > 15 {
		bad("witnesses: %d must be between 1 and 15", o.Witnesses)
	}
	if o.FencePolicy != state.FenceStopThenDetach && o.FencePolicy != state.FenceStrict {
		bad("fence-policy: %q must be %q or %q", o.FencePolicy, state.FenceStopThenDetach, state.FenceStrict)
	}
	if o.Cooldown < 0 {
		bad("cooldown: %s must not be negative", o.Cooldown)
	}
	if o.MaxFailovers < 1 {
		bad("max-failovers: %d must be at least 1", o.MaxFailovers)
	}
	if o.FailoverWindow <= 0 {
		bad("failover-window: %s must be positive", o.FailoverWindow)
	}
	if o.MaxMoves < 1 {
		bad("max-moves: %d must be at least 1", o.MaxMoves)
	}
	if o.HistoryLimit < 1 || o.HistoryLimit > 1000 {
		bad("history-limit: %d must be between 1 and 1000", o.HistoryLimit)
	}
}

func (o Options) validateIdentity(bad complaint) {
	if o.InstanceID != "" && !state.ValidInstanceID(o.InstanceID) {
		bad("instance-id: %q is not an EC2 instance ID", o.InstanceID)
	}
	if o.PrivateIP != "" && net.ParseIP(o.PrivateIP) == nil {
		bad("private-ip: %q is not an IP address", o.PrivateIP)
	}
	if o.MachineID != "" && !machineIDRe.MatchString(o.MachineID) {
		bad("machine-id: %q is not a 32-hex-digit machine ID", o.MachineID)
	}
	if o.AvailabilityZone != "" && !azRe.MatchString(o.AvailabilityZone) {
		bad("availability-zone: %q is not an availability zone name", o.AvailabilityZone)
	}
}

var azRe = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d[a-z]$`)

// withDefaults fills the clock.
func (o Options) withDefaults() Options {
	if o.Clock == nil {
		o.Clock = clock.RealClock{}
	}
	return o
}
