package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/rs/zerolog"
	"github.com/spf13/cobra"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/volfailover/volfailover/admin"
	"github.com/volfailover/volfailover/awsops"
	"github.com/volfailover/volfailover/controller"
	"github.com/volfailover/volfailover/fleet"
)

// checkResult is one line of `check`.
type checkResult struct {
	name string
	ok   bool
	// warn marks a passed line the operator should act on (printed WARN;
	// it does not change the exit code).
	warn   bool
	code   int // exit class when !ok
	detail string
}

// checkFlags are run's flags, parsed by run's own code, plus --timeout: a
// check that read other flags than the agent (it once had --region where
// run has --aws-region) reports on a configuration nobody runs.
type checkFlags struct {
	run     *runFlags
	timeout time.Duration
	out     outputFormat
}

// checkOutLine is one line of check's output; with -o json, an element of the array.
type checkOutLine struct {
	// Result is ok, WARN or FAIL.
	Result string `json:"result"`
	Name   string `json:"name"`
	Detail string `json:"detail"`
}

// writeChecks prints the lines as an aligned table or one JSON array.
func writeChecks(w io.Writer, out outputFormat, lines []checkOutLine) error {
	if out == outputJSON {
		return writeJSON(w, "check results", lines)
	}
	t := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, l := range lines {
		fmt.Fprintf(t, "%s\t%s\t%s\n", l.Result, l.Name, l.Detail)
	}
	if err := t.Flush(); err != nil {
		return fmt.Errorf("write check results: %w", err)
	}
	return nil
}

func newCheckCmd(env adminEnv) *cobra.Command {
	f := &checkFlags{run: newRunFlags()}
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Validate run's configuration, reach etcd, fleet and EC2, and dry-run every EC2 call against the real volumes",
		Long: `check takes exactly run's flags and environment (plus --timeout) and prints one
line per check: every part of the configuration as run validates it (controller,
EC2 with the region's partition, fleet, paging), etcd (version, hosts, leader),
fleet (machines), and for each managed volume its owner, a failover target in its
AZ, DeleteOnTermination, its KMS key, and a DryRun of every EC2 call a failover
makes, against those real IDs and the real tag keys. It exits 0 when all pass
(WARN lines included); otherwise 2 if the configuration is invalid, else 3 if a
dependency could not be reached, else 1 (e.g. a denied permission).`,
		Args: adminArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := applyEnv(cmd, env); err != nil {
				return err
			}
			results := runChecks(cmd.Context(), f, env)
			failed, code := 0, exitOK
			lines := make([]checkOutLine, 0, len(results))
			for _, r := range results {
				mark := "ok"
				switch {
				case !r.ok:
					mark = "FAIL"
					failed++
					code = worseExit(code, r.code)
				case r.warn:
					mark = "WARN"
				}
				lines = append(lines, checkOutLine{Result: mark, Name: r.name, Detail: r.detail})
			}
			if err := writeChecks(cmd.OutOrStdout(), f.out, lines); err != nil {
				return err
			}
			if failed > 0 {
				return &codedError{code: code, err: fmt.Errorf("check: %d of %d checks failed", failed, len(results))}
			}
			return nil
		},
	}
	fs := cmd.Flags()
	f.run.register(fs)
	fs.DurationVar(&f.timeout, "timeout", 10*time.Second, "bound on check's calls to each dependency")
	markEnv(fs, "timeout")
	registerOutput(fs, &f.out, false)
	return cmd
}

// worseExit keeps the more telling exit class: usage, then unreachable, then failed.
func worseExit(cur, next int) int {
	rank := map[int]int{exitOK: 0, exitFailed: 1, exitUnreachable: 2, exitUsage: 3}
	if rank[next] > rank[cur] {
		return next
	}
	return cur
}

// checker collects the lines of one run of check.
type checker struct {
	out []checkResult
}

func (c *checker) add(name string, err error, code int, detail string) {
	if err != nil {
		c.out = append(c.out, checkResult{name: name, code: code, detail: err.Error()})
		return
	}
	c.out = append(c.out, checkResult{name: name, ok: true, detail: detail})
}

func (c *checker) warn(name, detail string) {
	c.out = append(c.out, checkResult{name: name, ok: true, warn: true, detail: detail})
}

func runChecks(ctx context.Context, f *checkFlags, env adminEnv) []checkResult {
	var c checker
	bounded := func() (context.Context, context.CancelFunc) {
		t := f.timeout
		if t <= 0 {
			t = 10 * time.Second
		}
		return context.WithTimeout(ctx, t)
	}

	// Configuration, by run's own code.
	log, logErr := f.run.logger()
	if logErr != nil {
		log = zerolog.Nop()
	}
	log = log.Level(zerolog.Disabled) // check prints lines, not agent logs
	cctx, cancel := bounded()
	o, ctlErr := f.run.options(cctx, env, log)
	cancel()
	ctlErr = errors.Join(logErr, ctlErr)
	if ctlErr == nil && f.timeout <= 0 {
		ctlErr = usageErr(fmt.Errorf("timeout: %s must be positive", f.timeout))
	}
	ctlCode := exitCode(ctlErr)
	if ctlCode == exitFailed { // not a usage error: IMDS did not answer
		ctlCode = exitUnreachable
	}
	c.add("config controller", ctlErr, ctlCode, fmt.Sprintf("instance %s in %s (%s), machine %s, etcd %s, key prefix %s, fence %s",
		o.InstanceID, o.AvailabilityZone, o.PrivateIP, o.MachineID, strings.Join(o.EtcdEndpoints, ","), o.KeyPrefix, o.FencePolicy))
	ao, ec2CfgErr := f.run.awsOptions(o, log)
	c.add("config ec2", ec2CfgErr, exitUsage, fmt.Sprintf("region %s, endpoint %s, managed tag %s",
		ao.Region, orDash(ao.Endpoint, "(regional)"), ao.ManagedTagKey))
	// ARNs name the partition: a policy written for another one matches nothing.
	if partition, known := awsops.Partition(ao.Region); known {
		c.add("config partition", nil, 0, fmt.Sprintf("%s for region %s: IAM policy from volfailover iam-policy --partition %s, or %s",
			partition, ao.Region, partition, policyFile(partition)))
	} else if ec2CfgErr == nil {
		c.warn("config partition", fmt.Sprintf("region %q is in no partition this build knows (%v); the SDK treats it as aws, check that the IAM policy's ARNs match",
			ao.Region, awsops.Partitions()))
	}
	fc, fleetCfgErr := f.run.fleetConfig(o, log)
	fc.RetryMax = 1
	c.add("config fleet", fleetCfgErr, exitUsage, "endpoint "+fc.Endpoint)
	sinks, alertErr := f.run.sinks(env, log)
	switch {
	case alertErr != nil:
		c.add("config alert", alertErr, exitCode(alertErr), "")
	case len(sinks) == 0:
		c.warn("config alert", "no --pagerduty-routing-key-file, VOLFAILOVER_PAGERDUTY_ROUTING_KEY or --webhook-url: pages are only logged, nobody is woken")
	default:
		c.add("config alert", nil, 0, fmt.Sprintf("%d paging sinks", len(sinks)))
	}

	// etcd: reachability, and the registry the failover target comes from.
	var status *admin.Status
	if ctlErr != nil {
		c.add("etcd", errors.New("skipped: configuration invalid"), exitUsage, "")
	} else {
		detail := ""
		cctx, cancel := bounded()
		cli, err := etcdClient(o)
		if err == nil {
			status, detail, err = checkEtcd(cctx, cli, o.KeyPrefix, env)
			_ = cli.Close()
		}
		cancel()
		c.add("etcd", err, exitCode(err), detail)
	}

	// fleet.
	if fleetCfgErr != nil {
		c.add("fleet", errors.New("skipped: configuration invalid"), exitUsage, "")
	} else {
		cctx, cancel := bounded()
		n, err := fleetMachines(cctx, fc)
		cancel()
		code := exitUnreachable
		var apiErr *fleet.APIError
		if errors.As(err, &apiErr) {
			code = exitFailed
		}
		c.add("fleet", err, code, fmt.Sprintf("reached %s: %d machines", fc.Endpoint, n))
	}
	// fleet v1.0.0 or later, for the metadata PATCH (fleetversion.go).
	pctx, pcancel := bounded()
	c.out = append(c.out, checkMetadataPatch(pctx, fc, fleetCfgErr))
	pcancel()

	// EC2: each managed volume, and the dry runs against its real IDs.
	if ec2CfgErr != nil {
		c.add("ec2", errors.New("skipped: configuration invalid"), exitUsage, "")
		return c.out
	}
	ao.MaxAttempts, ao.ReadMaxAttempts = 2, 2
	ao.RetryBaseDelay, ao.RetryMaxDelay = 100*time.Millisecond, time.Second
	cctx, cancel = bounded()
	defer cancel()
	ec2c, err := awsops.New(cctx, ao)
	if err != nil {
		c.add("ec2", err, exitUsage, "")
		return c.out
	}
	vols, err := ec2c.ManagedVolumes(cctx)
	code := exitUnreachable
	if errors.Is(err, awsops.ErrUnauthorized) {
		code = exitFailed
	}
	c.add("ec2", err, code, fmt.Sprintf("reached EC2 in %s: %d managed volumes", ao.Region, len(vols)))
	if err != nil {
		return c.out
	}
	if len(vols) == 0 {
		c.warn("ec2 permissions", "no managed volumes (tag "+ao.ManagedTagKey+"): nothing to dry-run against")
	}
	for _, v := range vols {
		checkVolume(cctx, &c, ec2c, v, o, status)
	}
	return c.out
}

// checkVolume reports one managed volume: owner and target, DeleteOnTermination,
// KMS key, and the dry runs of a failover of it.
func checkVolume(ctx context.Context, c *checker, ec2c *awsops.Client, v awsops.Volume, o controller.Options, status *admin.Status) {
	name := "volume " + v.ID
	if len(v.Attachments) == 0 {
		c.warn(name, fmt.Sprintf("in %s, %s and attached nowhere: no owner to dry-run fencing and detaching against", v.AvailabilityZone, v.State))
		return
	}
	owner := v.Attachments[0]
	target, why := failoverTarget(status, v.AvailabilityZone, owner.InstanceID)
	c.add(name, nil, 0, fmt.Sprintf("owner %s as %s in %s; failover target %s (%s)", owner.InstanceID, owner.Device, v.AvailabilityZone, orDash(target, "none"), why))

	if owner.DeleteOnTermination {
		c.warn(name+" delete-on-termination", fmt.Sprintf("true on %s %s: terminating %s DELETES the volume. Run with --fix-delete-on-termination, or: "+
			`aws ec2 modify-instance-attribute --instance-id %s --block-device-mappings '[{"DeviceName":"%s","Ebs":{"DeleteOnTermination":false}}]'`,
			owner.InstanceID, owner.Device, owner.InstanceID, owner.InstanceID, owner.Device))
	} else {
		c.add(name+" delete-on-termination", nil, 0, "false: terminating the owner keeps the volume")
	}
	if v.Encrypted {
		c.add(name+" kms", nil, 0, fmt.Sprintf("encrypted with KMS key %s: if it is a customer-managed key, its key policy and this role must allow %s on it (kms:CreateGrant only with kms:GrantIsForAWSResource=true), or every attach is refused with CustomerKeyHasBeenRevoked",
			orDash(v.KMSKeyID, "(not reported)"), strings.Join(awsops.KMSAttachActions(), ", ")))
	}

	// The tag values are examples; IAM's aws:TagKeys looks at the keys.
	tags := map[string]string{controller.TagEpoch: "0", controller.TagFailoverID: "volfailover-check"}
	for _, p := range ec2c.CheckPermissions(ctx, awsops.PermissionTargets{
		Volume: v.ID, Owner: owner.InstanceID, OwnerDevice: owner.Device, Target: target, Device: o.Device, Tags: tags,
	}) {
		err := p.Err
		if err == nil && !p.Allowed {
			err = errors.New("not allowed")
		}
		code := exitUnreachable
		switch {
		case errors.Is(err, awsops.ErrUnauthorized):
			err = fmt.Errorf("DENIED on %s: %w", p.On, err)
			code = exitFailed
		case errors.Is(err, awsops.ErrNoTarget), errors.Is(err, awsops.ErrVolumeNotFound), errors.Is(err, awsops.ErrInstanceNotFound),
			errors.Is(err, awsops.ErrInvalidParameter):
			err = fmt.Errorf("on %s: %w", p.On, err)
			code = exitFailed
		}
		c.add("ec2 permission "+p.Action, err, code, "allowed (DryRun) on "+p.On)
	}
}

// failoverTarget picks a peer to dry-run AttachVolume against the way the
// controller picks a target: a registered host in the volume's AZ, not the
// owner, not marked nofailover; the first by instance ID among equals.
func failoverTarget(status *admin.Status, az, owner string) (string, string) {
	if status == nil {
		return "", "registry unreadable"
	}
	var ids []string
	for _, h := range status.Hosts {
		if h.AZ == az && h.Instance != owner && !h.NoFailover {
			ids = append(ids, h.Instance)
		}
	}
	if len(ids) == 0 {
		return "", "no registered peer in " + az
	}
	slices.Sort(ids)
	return ids[0], fmt.Sprintf("first of %d registered peers in %s", len(ids), az)
}

// checkEtcd reads the server version and the registry and election.
func checkEtcd(ctx context.Context, cli *clientv3.Client, prefix string, env adminEnv) (*admin.Status, string, error) {
	ep := cli.Endpoints()[0]
	st, err := cli.Status(ctx, ep)
	if err != nil {
		return nil, "", fmt.Errorf("status of etcd %s: %w: %w", ep, admin.ErrUnreachable, err)
	}
	a, err := admin.New(admin.Config{Etcd: cli, Prefix: prefix, Now: env.now})
	if err != nil {
		return nil, "", err
	}
	s, err := a.Status(ctx)
	if err != nil {
		return nil, "", err
	}
	leader := "none (nothing acts)"
	if s.Leader != nil {
		leader = s.Leader.Instance
	}
	return s, fmt.Sprintf("reached %s (etcd %s): %d hosts registered, leader %s, %d unreadable keys",
		ep, st.Version, len(s.Hosts), leader, len(s.Unreadable)), nil
}

func fleetMachines(ctx context.Context, cfg fleet.Config) (int, error) {
	fc, err := fleet.NewClient(cfg)
	if err != nil {
		return 0, err
	}
	defer fc.CloseIdleConnections()
	ms, err := fc.Machines(ctx)
	if err != nil {
		return 0, fmt.Errorf("list fleet machines at %s: %w", cfg.Endpoint, err)
	}
	return len(ms), nil
}

func orDash(s, dash string) string {
	if s == "" {
		return dash
	}
	return s
}
