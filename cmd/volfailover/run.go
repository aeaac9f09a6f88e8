package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"go.etcd.io/etcd/client/pkg/v3/transport"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/volfailover/volfailover/admin"
	"github.com/volfailover/volfailover/alert"
	"github.com/volfailover/volfailover/awsops"
	"github.com/volfailover/volfailover/controller"
	"github.com/volfailover/volfailover/fleet"
	"github.com/volfailover/volfailover/internal/useragent"
	"github.com/volfailover/volfailover/state"
)

// runFlags holds what `run` needs beyond controller.Options.
type runFlags struct {
	o                controller.Options
	fencePolicy      string
	etcdPasswordFile string
	awsRegion        string
	ec2Endpoint      string
	imdsEndpoint     string
	fleetEndpoint    string
	pdKeyFile        string
	pdClientURL      string
	runbookURL       string
	webhookURL       string
	webhookHeaders   []string
	webhookHdrFile   string
	logLevel         string
	ec2Wait          awsops.WaitOptions
	instanceTagKey   string
	instanceTagValue string
	// ec2BudgetShare is the share of the account's EC2 request buckets
	// the client allows itself (awsops.Options.BudgetShare).
	ec2BudgetShare float64
	// fixDeleteOnTermination clears DeleteOnTermination on this host's
	// managed volumes at start-up.
	fixDeleteOnTermination bool
}

// newRunFlags are run's flags at their defaults. `check` parses the very
// same set, so what run would refuse, check reports.
func newRunFlags() *runFlags {
	ao := awsops.DefaultOptions()
	return &runFlags{o: controller.DefaultOptions(), ec2Wait: ao.Wait, ec2BudgetShare: ao.BudgetShare}
}

func newRunCmd(env adminEnv) *cobra.Command {
	return runCommand(env, newRunFlags())
}

// runCommand builds `run` around f, which the flags fill.
func runCommand(env adminEnv, f *runFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run the agent: register this host, witness peers, and fail over when elected leader",
		Args:  adminArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := applyEnv(cmd, env); err != nil {
				return err
			}
			return runAgent(cmd.Context(), f, env)
		},
	}
	cmd.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageErr(fmt.Errorf("%w (see %s --help)", err, c.CommandPath()))
	})
	f.register(cmd.Flags())
	return cmd
}

func (f *runFlags) register(fs *pflag.FlagSet) {
	o := &f.o
	fs.StringSliceVar(&o.EtcdEndpoints, "etcd-endpoints", []string{"http://127.0.0.1:2379"}, "etcd client URLs, comma-separated")
	fs.StringVar(&o.EtcdCertFile, "etcd-cert-file", "", "client certificate for etcd (with --etcd-key-file)")
	fs.StringVar(&o.EtcdKeyFile, "etcd-key-file", "", "client key for etcd")
	fs.StringVar(&o.EtcdCAFile, "etcd-ca-file", "", "CA bundle that verifies the etcd servers")
	fs.StringVar(&o.EtcdUsername, "etcd-username", "", "etcd user (password from --etcd-password-file or VOLFAILOVER_ETCD_PASSWORD)")
	fs.StringVar(&f.etcdPasswordFile, "etcd-password-file", "", "file holding the etcd password")
	fs.DurationVar(&o.EtcdDialTimeout, "etcd-dial-timeout", o.EtcdDialTimeout, "bound on the first connection to etcd")
	fs.StringVar(&o.KeyPrefix, "key-prefix", o.KeyPrefix, "root of volfailover's etcd keys")
	fs.DurationVar(&o.SessionTTL, "session-ttl", o.SessionTTL, "etcd session lease (whole seconds); a crashed leader is replaced within about this long")
	fs.DurationVar(&o.RoundInterval, "round-interval", o.RoundInterval, "period of the leader's reconcile round (etcd, EC2 and fleet reads); woken early when an owner may be dead")
	fs.DurationVar(&o.ProbeInterval, "probe-interval", o.ProbeInterval, "period of the leader's and the witnesses' probes of the owner hosts (at most --round-interval)")
	fs.DurationVar(&o.ProbeTimeout, "probe-timeout", o.ProbeTimeout, "bound on one probe of an owner host")
	fs.IntVar(&o.FailureThreshold, "failure-threshold", o.FailureThreshold, "consecutive failed leader probes needed (with a witness) to call an owner dead")
	fs.DurationVar(&o.MinUnreachable, "min-unreachable", o.MinUnreachable, "how long the leader's probes, and each agreeing witness's, must fail without a break before they count (not waited for when EC2 says stopped or terminated)")
	fs.IntVar(&o.Witnesses, "witnesses", o.Witnesses, "witnesses per owner host, chosen among its AZ's instances")
	fs.DurationVar(&o.WitnessRefresh, "witness-refresh", o.WitnessRefresh, "how often an unchanged witness report is rewritten")
	fs.StringVar(&o.ManagedTagKey, "managed-tag-key", o.ManagedTagKey, "EBS tag key marking managed volumes")
	fs.StringVar(&o.UnitTemplate, "unit-template", o.UnitTemplate, "fleet unit of a volume, %s = volume ID")
	fs.StringVar(&o.MetadataKey, "metadata-key", o.MetadataKey, "fleet machine metadata key that pins the unit to the volume's host")
	fs.StringVar(&o.Device, "device", o.Device, "first device name an attach tries; then /dev/sdf../dev/sdp (never /dev/sd[a-e], /dev/xvd[a-e])")
	fs.IntVar(&o.PostgresPort, "postgres-port", o.PostgresPort, "Postgres port probed on every owner host")
	fs.StringVar(&f.fencePolicy, "fence-policy", string(o.FencePolicy), "stop-then-detach (stop with Force, detach at once, confirm the stop in the background) or strict (wait for stopped)")
	fs.DurationVar(&o.Deadlines.Fence, "deadline-fence", o.Deadlines.Fence, "deadline of the fence step before it is paged; under the strict policy it must cover the owner's hard stop (AWS: seconds, up to minutes on a sick host), and for a switchover it bounds the wait for proof that Postgres stopped, after which the move becomes a failover")
	fs.DurationVar(&o.Deadlines.FenceConfirm, "deadline-fence-confirm", o.Deadlines.FenceConfirm, "time allowed for a fenced owner to reach stopped")
	fs.DurationVar(&o.Deadlines.Detach, "deadline-detach", o.Deadlines.Detach, "deadline of the detach step")
	fs.DurationVar(&o.Deadlines.Attach, "deadline-attach", o.Deadlines.Attach, "deadline of the attach step")
	fs.DurationVar(&o.Deadlines.Metadata, "deadline-metadata", o.Deadlines.Metadata, "deadline of the fleet metadata step")
	fs.DurationVar(&o.Deadlines.Reschedule, "deadline-reschedule", o.Deadlines.Reschedule, "deadline of the unit reschedule step")
	fs.DurationVar(&o.Deadlines.Verify, "deadline-verify", o.Deadlines.Verify, "deadline of the Postgres verification step")
	fs.DurationVar(&o.RetryInitial, "retry-initial", o.RetryInitial, "first backoff between attempts of a failing step")
	fs.DurationVar(&o.RetryMax, "retry-max", o.RetryMax, "largest backoff between attempts of a failing step")
	fs.DurationVar(&o.Cooldown, "cooldown", o.Cooldown, "least time between two automatic failovers of one volume")
	fs.IntVar(&o.MaxFailovers, "max-failovers", o.MaxFailovers, "automatic failovers of one volume within --failover-window that switch it to alert-only")
	fs.DurationVar(&o.FailoverWindow, "failover-window", o.FailoverWindow, "window --max-failovers counts in")
	fs.IntVar(&o.HistoryLimit, "history-limit", o.HistoryLimit, "completed failover records kept per volume")
	fs.IntVar(&o.MaxMoves, "max-moves", o.MaxMoves, "moves that may be short of their attach at once (stopping, detaching, attaching); more wait their turn, heals first, then failovers, then switchovers")
	fs.DurationVar(&o.SuspectPageAfter, "suspect-page-after", o.SuspectPageAfter, "how long an owner may stay suspect before an owner_suspect warning is paged")
	fs.BoolVar(&o.DryRun, "dry-run", false, "decide and record, but change nothing in EC2 or fleet")
	fs.StringVar(&o.ListenAddr, "listen-address", o.ListenAddr, "address of /healthz, /readyz, /metrics and /v1/status")
	fs.StringVar(&o.InstanceID, "instance-id", "", "this host's EC2 instance ID (default: from IMDS)")
	fs.StringVar(&o.AvailabilityZone, "availability-zone", "", "this host's AZ (default: from IMDS)")
	fs.StringVar(&o.PrivateIP, "private-ip", "", "this host's private IP (default: from IMDS)")
	fs.StringVar(&o.MachineID, "machine-id", "", "this host's fleet machine ID (default: /etc/machine-id)")
	fs.BoolVar(&o.NoFailover, "nofailover", false, "never choose this host as a failover target")
	fs.StringVar(&o.OnPrimaryChange, "on-primary-change", "", "shell command run on this host when it becomes a volume's primary, with VOLFAILOVER_VOLUME, _ADDRESS, _PORT, _INSTANCE and _FAILOVER_ID set; its outcome is journaled and paged")
	fs.DurationVar(&o.OnPrimaryChangeTimeout, "on-primary-change-timeout", o.OnPrimaryChangeTimeout, "bound of the --on-primary-change command")
	fs.BoolVar(&o.EventSwitchover, "event-switchover", o.EventSwitchover, "move a volume off an owner with a scheduled EC2 event (retirement, stop, reboot, maintenance) by a planned switchover, --event-switchover-lead before the event; the event is paged either way")
	fs.DurationVar(&o.EventSwitchoverLead, "event-switchover-lead", o.EventSwitchoverLead, "how long before a scheduled event's earliest start the planned switchover runs")
	fs.StringVar(&f.awsRegion, "aws-region", "", "AWS region (default: from IMDS)")
	fs.StringVar(&f.ec2Endpoint, "ec2-endpoint", "", "EC2 endpoint override (e.g. the emulator)")
	fs.StringVar(&f.imdsEndpoint, "imds-endpoint", "", "instance metadata endpoint override")
	fs.StringVar(&f.instanceTagKey, "instance-tag-key", "", "scope instance listings to instances with this tag (e.g. "+awsops.DefaultInstanceTagKey+"); empty lists all")
	fs.StringVar(&f.instanceTagValue, "instance-tag-value", "", "with --instance-tag-key, the tag's value; empty matches any value")
	fs.DurationVar(&f.ec2Wait.Initial, "ec2-poll-initial", f.ec2Wait.Initial, "first wait between EC2 polls of an attachment or a stop")
	fs.DurationVar(&f.ec2Wait.Max, "ec2-poll-max", f.ec2Wait.Max, "longest wait between EC2 polls of an attachment or a stop")
	fs.Float64Var(&f.ec2BudgetShare, "ec2-budget-share", f.ec2BudgetShare, "share (0 < share <= 1) of the account's published EC2 request-token buckets this agent spends, every retry included; the rest is left to the account's other tools")
	fs.DurationVar(&f.ec2Wait.StuckAttaching, "stuck-attaching", f.ec2Wait.StuckAttaching, "an attachment still attaching after this is reported stuck")
	fs.DurationVar(&f.ec2Wait.StuckDetaching, "stuck-detaching", f.ec2Wait.StuckDetaching, "a detach still under way after this is stuck: a plain detach gives up, a forced one is issued again")
	fs.StringVar(&f.fleetEndpoint, "fleet-endpoint", fleet.DefaultEndpoint, "fleet API: unix:///path.sock, http://host:port or https://host:port")
	fs.StringVar(&f.pdKeyFile, "pagerduty-routing-key-file", "", "file holding the PagerDuty Events v2 routing key (or VOLFAILOVER_PAGERDUTY_ROUTING_KEY)")
	fs.StringVar(&f.pdClientURL, "pagerduty-client-url", "", "URL PagerDuty shows as the page's origin (client_url), e.g. a dashboard or a /v1/status behind your proxy")
	fs.StringVar(&f.runbookURL, "runbook-url", alert.DefaultRunbookURL, "page of the operations runbook; each PagerDuty page links to its entry, URL#<kind>; empty sends no link")
	fs.StringVar(&f.webhookURL, "webhook-url", "", "generic JSON webhook receiving every page")
	fs.StringArrayVar(&f.webhookHeaders, "webhook-header", nil, `header sent with every webhook request, "Name: value"; repeatable (the variable takes a comma-separated list). Shown in ps: put credentials in --webhook-headers-file`)
	fs.StringVar(&f.webhookHdrFile, "webhook-headers-file", "", `file of "Name: value" lines sent as webhook headers (e.g. Authorization); never logged`)
	fs.StringVar(&f.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.BoolVar(&f.fixDeleteOnTermination, "fix-delete-on-termination", false, "at start-up, set DeleteOnTermination to false on the managed volumes attached to this host, so terminating it cannot delete them")
	var names []string
	fs.VisitAll(func(fl *pflag.Flag) { names = append(names, fl.Name) })
	markEnv(fs, names...)
}

// options completes and checks the controller options; every problem names its flag.
func (f *runFlags) options(ctx context.Context, env adminEnv, log zerolog.Logger) (controller.Options, error) {
	o := f.o
	o.FencePolicy = state.FencePolicy(f.fencePolicy)
	o.Version = currentBuild().Version
	o.Logger = log
	if o.EtcdUsername != "" {
		pw, err := etcdPassword(env, o.EtcdUsername, f.etcdPasswordFile)
		if err != nil {
			return o, err
		}
		o.EtcdPassword = pw
	}
	if err := o.Validate(); err != nil {
		return o, usageErr(err)
	}
	if o.InstanceID == "" || o.AvailabilityZone == "" || o.PrivateIP == "" || f.awsRegion == "" {
		id, err := awsops.LoadIdentity(ctx, f.imdsEndpoint, log)
		if err != nil {
			return o, fmt.Errorf("load identity from IMDS (set --instance-id, --availability-zone, --private-ip and --aws-region to skip): %w", err)
		}
		o.InstanceID = orDefault(o.InstanceID, id.InstanceID)
		o.AvailabilityZone = orDefault(o.AvailabilityZone, id.AvailabilityZone)
		o.PrivateIP = orDefault(o.PrivateIP, id.PrivateIP)
		f.awsRegion = orDefault(f.awsRegion, id.Region)
	}
	if o.MachineID == "" {
		b, err := os.ReadFile("/etc/machine-id")
		if err != nil {
			return o, usageErr(fmt.Errorf("machine-id: not set and /etc/machine-id unreadable: %w", err))
		}
		o.MachineID = strings.TrimSpace(string(b))
	}
	// Identity from IMDS or /etc/machine-id is outside input too.
	if err := o.Validate(); err != nil {
		return o, usageErr(err)
	}
	return o, nil
}

func orDefault(v, d string) string {
	if v != "" {
		return v
	}
	return d
}

// logger parses --log-level into the agent's logger.
func (f *runFlags) logger() (zerolog.Logger, error) {
	lvl, err := zerolog.ParseLevel(f.logLevel)
	if err != nil || f.logLevel == "" {
		return zerolog.Nop(), usageErr(fmt.Errorf("log-level: %q is not debug, info, warn or error", f.logLevel))
	}
	return zerolog.New(os.Stderr).Level(lvl).With().Timestamp().Str("component", "volfailover").Logger(), nil
}

// awsOptions completes and checks the EC2 options from the flags and the
// controller options o (managed tag key, instance ID).
func (f *runFlags) awsOptions(o controller.Options, log zerolog.Logger) (awsops.Options, error) {
	ao := awsops.DefaultOptions()
	ao.Region, ao.Endpoint, ao.IMDSEndpoint, ao.ManagedTagKey = f.awsRegion, f.ec2Endpoint, f.imdsEndpoint, o.ManagedTagKey
	ao.Logger = log
	for _, d := range []struct {
		flag string
		v    time.Duration
	}{{"ec2-poll-initial", f.ec2Wait.Initial}, {"ec2-poll-max", f.ec2Wait.Max}, {"stuck-attaching", f.ec2Wait.StuckAttaching}, {"stuck-detaching", f.ec2Wait.StuckDetaching}} {
		if d.v <= 0 {
			return ao, usageErr(fmt.Errorf("--%s %s must be positive", d.flag, d.v))
		}
	}
	if f.ec2Wait.Max < f.ec2Wait.Initial {
		return ao, usageErr(fmt.Errorf("--ec2-poll-max %s must not be below --ec2-poll-initial %s", f.ec2Wait.Max, f.ec2Wait.Initial))
	}
	ao.Wait.Initial, ao.Wait.Max = f.ec2Wait.Initial, f.ec2Wait.Max
	if f.ec2BudgetShare <= 0 || f.ec2BudgetShare > 1 {
		return ao, usageErr(fmt.Errorf("--ec2-budget-share %g must be within (0, 1]", f.ec2BudgetShare))
	}
	ao.BudgetShare = f.ec2BudgetShare
	ao.InstanceTagKey, ao.InstanceTagValue = f.instanceTagKey, f.instanceTagValue
	ao.Wait.StuckAttaching, ao.Wait.StuckDetaching = f.ec2Wait.StuckAttaching, f.ec2Wait.StuckDetaching
	// awsops has no AppID option: the transport appends one to the SDK's
	// User-Agent so EC2 (and the emulator's journal) can tell instances apart.
	ao.HTTPClient = &http.Client{Transport: appIDTransport{app: useragent.SDKAppID(o.InstanceID), base: http.DefaultTransport.(*http.Transport).Clone()}}
	if err := ao.Validate(); err != nil {
		return ao, usageErr(err)
	}
	return ao, nil
}

// fleetConfig completes and checks the fleet client configuration.
func (f *runFlags) fleetConfig(o controller.Options, log zerolog.Logger) (fleet.Config, error) {
	fc := fleet.DefaultConfig()
	fc.Endpoint, fc.Logger, fc.UserAgent = f.fleetEndpoint, log, useragent.Fleet(currentBuild().Version, o.InstanceID)
	if err := fc.Validate(); err != nil {
		return fc, usageErr(err)
	}
	return fc, nil
}

// runAgent builds the clients and runs the controller until ctx ends.
func runAgent(ctx context.Context, f *runFlags, env adminEnv) error {
	log, err := f.logger()
	if err != nil {
		return err
	}
	o, err := f.options(ctx, env, log)
	if err != nil {
		return err
	}
	log = log.With().Str("self", o.InstanceID).Logger()

	cli, err := etcdClient(o)
	if err != nil {
		return err
	}
	defer cli.Close()

	ao, err := f.awsOptions(o, log)
	if err != nil {
		return err
	}
	ec2c, err := awsops.New(ctx, ao)
	if err != nil {
		return fmt.Errorf("build EC2 client: %w", err)
	}
	if f.fixDeleteOnTermination {
		fixDeleteOnTermination(ctx, ec2c, o.InstanceID, log)
	}

	fc, err := f.fleetConfig(o, log)
	if err != nil {
		return err
	}
	fl, err := fleet.NewClient(fc)
	if err != nil {
		return fmt.Errorf("build fleet client: %w", err)
	}
	if err := requireMetadataPatch(ctx, fl, log); err != nil {
		return err
	}

	// One registry per process: the controller's series, the Go and process
	// collectors, and the outbox's volfailover_pages_total, all on /metrics.
	reg := prometheus.NewRegistry()
	if err := registerBuildInfo(reg, currentBuild()); err != nil {
		return err
	}
	adm, err := admin.New(admin.Config{Etcd: cli, Prefix: o.KeyPrefix})
	if err != nil {
		return usageErr(err)
	}
	deps := controller.Deps{Etcd: cli, EC2: ec2c, Fleet: fl, Registry: reg,
		Cluster: func(ctx context.Context) (any, error) { return adm.Status(ctx) }}
	sinks, err := f.sinks(env, log)
	if err != nil {
		return err
	}
	if len(sinks) > 0 {
		oo := alert.DefaultOptions()
		oo.Client, oo.Prefix, oo.Sinks, oo.Logger, oo.Registerer = cli, o.KeyPrefix, sinks, log, reg
		ob, err := alert.NewOutbox(oo)
		if err != nil {
			return usageErr(fmt.Errorf("alert outbox: %w", err))
		}
		deps.LeaderPager = func(g clientv3.Cmp) controller.Pager { return ob.Guarded(g) }
		deps.LeaderTask = ob.Run
	} else {
		log.Warn().Msg("no --pagerduty-routing-key-file or --webhook-url: pages are only LOGGED, nobody is woken")
		deps.Pager = controller.LogPager{Log: log}
	}

	c, err := controller.New(o, deps)
	if err != nil {
		return usageErr(err)
	}
	return c.Run(ctx)
}

// sinks builds the configured paging sinks.
func (f *runFlags) sinks(env adminEnv, log zerolog.Logger) ([]alert.Sink, error) {
	var sinks []alert.Sink
	_, keyInEnv := env.getenv("VOLFAILOVER_PAGERDUTY_ROUTING_KEY")
	if f.pdKeyFile != "" || keyInEnv {
		pc := alert.DefaultPagerDutyConfig()
		pc.Logger, pc.ClientURL, pc.RunbookURL = log, f.pdClientURL, f.runbookURL
		if f.pdKeyFile != "" {
			pc.RoutingKeyFile = f.pdKeyFile
		} else {
			pc.RoutingKeyEnv = "VOLFAILOVER_PAGERDUTY_ROUTING_KEY"
		}
		pd, err := alert.NewPagerDuty(pc)
		if err != nil {
			return nil, usageErr(fmt.Errorf("pagerduty (--pagerduty-routing-key-file, --pagerduty-client-url, --runbook-url): %w", err))
		}
		sinks = append(sinks, pd)
	}
	if f.webhookURL != "" {
		wc := alert.DefaultWebhookConfig()
		wc.URL, wc.Logger, wc.HeadersFile = f.webhookURL, log, f.webhookHdrFile
		for _, h := range f.webhookHeaders {
			name, value, err := alert.ParseHeader("webhook-header", h)
			if err != nil {
				return nil, usageErr(err)
			}
			if wc.Headers == nil {
				wc.Headers = map[string]string{}
			}
			wc.Headers[name] = value
		}
		wh, err := alert.NewWebhook(wc)
		if err != nil {
			return nil, usageErr(fmt.Errorf("webhook-url: %w", err))
		}
		sinks = append(sinks, wh)
	} else if len(f.webhookHeaders) > 0 || f.webhookHdrFile != "" {
		return nil, usageErr(fmt.Errorf("webhook-header, webhook-headers-file: set, but no --webhook-url to send them to"))
	}
	if f.pdClientURL != "" && !keyInEnv && f.pdKeyFile == "" {
		return nil, usageErr(fmt.Errorf("pagerduty-client-url %q: set, but no PagerDuty routing key configured", f.pdClientURL))
	}
	return sinks, nil
}

// etcdKeepAliveTime is how long a connection to an etcd member may stay
// silent before the client pings it: etcd's own floor for client pings
// (--grpc-keepalive-min-time, 5 s by default; a member closes the connection
// of a client that pings more often). A member that stops answering (cut
// off, its machine gone) is then dropped within this plus the ping timeout,
// and the client's next requests go to another member. Without pings a
// request sent to a silent member waits until TCP gives up, many minutes,
// while the session it should renew expires and no new one is made.
const etcdKeepAliveTime = 5 * time.Second

// etcdKeepAliveTimeout is how long a ping may go unanswered: a third of the
// session TTL, at least a second.
func etcdKeepAliveTimeout(sessionTTL time.Duration) time.Duration {
	return max(sessionTTL/3, time.Second)
}

func etcdClient(o controller.Options) (*clientv3.Client, error) {
	cfg := clientv3.Config{
		Endpoints:            o.EtcdEndpoints,
		DialTimeout:          o.EtcdDialTimeout,
		DialKeepAliveTime:    etcdKeepAliveTime,
		DialKeepAliveTimeout: etcdKeepAliveTimeout(o.SessionTTL),
		Username:             o.EtcdUsername,
		Password:             o.EtcdPassword,
		Logger:               zap.NewNop(),
	}
	https := false
	for _, ep := range o.EtcdEndpoints {
		https = https || strings.HasPrefix(ep, "https://")
	}
	switch {
	case o.EtcdCertFile != "" || o.EtcdCAFile != "":
		info := transport.TLSInfo{CertFile: o.EtcdCertFile, KeyFile: o.EtcdKeyFile, TrustedCAFile: o.EtcdCAFile}
		tc, err := info.ClientConfig()
		if err != nil {
			return nil, usageErr(fmt.Errorf("etcd TLS (cert %q, key %q, ca %q): %w", o.EtcdCertFile, o.EtcdKeyFile, o.EtcdCAFile, err))
		}
		cfg.TLS = tc
	case https:
		cfg.TLS = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	cli, err := clientv3.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to etcd %v: %w", o.EtcdEndpoints, err)
	}
	return cli, nil
}

// appIDTransport appends an application ID to the User-Agent the SDK sets.
type appIDTransport struct {
	app  string
	base http.RoundTripper
}

func (t appIDTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("User-Agent", strings.TrimSpace(r.Header.Get("User-Agent")+" "+t.app))
	return t.base.RoundTrip(r)
}
