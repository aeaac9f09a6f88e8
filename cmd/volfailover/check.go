package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/volfailover/volfailover/admin"
	"github.com/volfailover/volfailover/awsops"
	"github.com/volfailover/volfailover/fleet"
)

// checkResult is one line of `check`.
type checkResult struct {
	name   string
	ok     bool
	code   int // exit class when !ok
	detail string
}

// checkFlags are what `check` needs beyond etcd.
type checkFlags struct {
	etcd          etcdFlags
	fleetEndpoint string
	ec2Endpoint   string
	region        string
	managedTagKey string
}

func newCheckCmd(env adminEnv) *cobra.Command {
	var f checkFlags
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Validate the configuration, reach etcd, fleet and EC2, and dry-run every EC2 permission",
		Long: `check prints one line per check: the configuration, etcd (version, hosts,
leader), fleet (machines), EC2 (managed volumes) and a DryRun of every EC2 call
volfailover makes. It exits 0 when all pass; otherwise 2 if the configuration is
invalid, else 3 if a dependency could not be reached, else 1 (e.g. a denied permission).`,
		Args: adminArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := applyEnv(cmd, env); err != nil {
				return err
			}
			results := runChecks(cmd.Context(), &f, env)
			t := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
			failed, code := 0, exitOK
			for _, r := range results {
				mark := "ok"
				if !r.ok {
					mark = "FAIL"
					failed++
					code = worseExit(code, r.code)
				}
				fmt.Fprintf(t, "%s\t%s\t%s\n", mark, r.name, r.detail)
			}
			if err := t.Flush(); err != nil {
				return fmt.Errorf("write check results: %w", err)
			}
			if failed > 0 {
				return &codedError{code: code, err: fmt.Errorf("check: %d of %d checks failed", failed, len(results))}
			}
			return nil
		},
	}
	f.etcd.register(cmd.Flags())
	fs := cmd.Flags()
	fs.StringVar(&f.fleetEndpoint, "fleet-endpoint", fleet.DefaultEndpoint, "fleet API (http://, https:// or unix://)")
	fs.StringVar(&f.ec2Endpoint, "ec2-endpoint", "", "EC2 endpoint override; default the regional endpoint")
	fs.StringVar(&f.region, "region", "", "AWS region (required)")
	fs.StringVar(&f.managedTagKey, "managed-tag-key", awsops.DefaultManagedTagKey, "tag key marking managed volumes")
	markEnv(fs, "fleet-endpoint", "ec2-endpoint", "region", "managed-tag-key")
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

func runChecks(ctx context.Context, f *checkFlags, env adminEnv) []checkResult {
	var out []checkResult
	add := func(name string, err error, code int, detail string) {
		if err != nil {
			out = append(out, checkResult{name: name, code: code, detail: err.Error()})
			return
		}
		out = append(out, checkResult{name: name, ok: true, detail: detail})
	}
	bounded := func() (context.Context, context.CancelFunc) {
		t := f.etcd.timeout
		if t <= 0 {
			t = 10 * time.Second
		}
		return context.WithTimeout(ctx, t)
	}

	// Configuration.
	eo, etcdCfgErr := f.etcd.options(env)
	add("config etcd", etcdCfgErr, exitUsage, fmt.Sprintf("endpoints %s, key prefix %s", strings.Join(eo.EtcdEndpoints, ","), eo.KeyPrefix))
	ao := awsops.DefaultOptions()
	ao.Region, ao.Endpoint, ao.ManagedTagKey = f.region, f.ec2Endpoint, f.managedTagKey
	ao.MaxAttempts, ao.ReadMaxAttempts = 2, 2
	ao.RetryBaseDelay, ao.RetryMaxDelay = 100*time.Millisecond, time.Second
	ec2CfgErr := ao.Validate()
	add("config ec2", ec2CfgErr, exitUsage, fmt.Sprintf("region %s, endpoint %s, managed tag %s", ao.Region, orDash(ao.Endpoint, "(regional)"), ao.ManagedTagKey))
	fc := fleet.DefaultConfig()
	fc.Endpoint, fc.RetryMax = f.fleetEndpoint, 1
	fleetCfgErr := fc.Validate()
	add("config fleet", fleetCfgErr, exitUsage, "endpoint "+fc.Endpoint)

	// etcd.
	if etcdCfgErr != nil {
		add("etcd", errors.New("skipped: configuration invalid"), exitUsage, "")
	} else {
		detail := ""
		cctx, cancel := bounded()
		cli, err := f.etcd.client(eo)
		if err == nil {
			detail, err = checkEtcd(cctx, cli, eo.KeyPrefix, env)
			_ = cli.Close()
		}
		cancel()
		add("etcd", err, exitCode(err), detail)
	}

	// fleet.
	if fleetCfgErr != nil {
		add("fleet", errors.New("skipped: configuration invalid"), exitUsage, "")
	} else {
		cctx, cancel := bounded()
		n, err := fleetMachines(cctx, fc)
		cancel()
		code := exitUnreachable
		var apiErr *fleet.APIError
		if errors.As(err, &apiErr) {
			code = exitFailed
		}
		add("fleet", err, code, fmt.Sprintf("reached %s: %d machines", fc.Endpoint, n))
	}
	// fleet v1.0.0 or later, for the metadata PATCH (fleetversion.go).
	pctx, pcancel := bounded()
	out = append(out, checkMetadataPatch(pctx, fc, fleetCfgErr))
	pcancel()

	// EC2 and permissions.
	if ec2CfgErr != nil {
		add("ec2", errors.New("skipped: configuration invalid"), exitUsage, "")
		return out
	}
	cctx, cancel := bounded()
	defer cancel()
	c, err := awsops.New(cctx, ao)
	if err != nil {
		add("ec2", err, exitUsage, "")
		return out
	}
	vols, err := c.ManagedVolumes(cctx)
	code := exitUnreachable
	if errors.Is(err, awsops.ErrUnauthorized) {
		code = exitFailed
	}
	add("ec2", err, code, fmt.Sprintf("reached EC2 in %s: %d managed volumes", ao.Region, len(vols)))
	if err != nil && code == exitUnreachable {
		add("ec2 permissions", errors.New("skipped: EC2 unreachable"), exitUnreachable, "")
		return out
	}
	for _, p := range c.CheckPermissions(cctx) {
		code := exitFailed
		if p.Err != nil && !errors.Is(p.Err, awsops.ErrUnauthorized) {
			code = exitUnreachable
		}
		err := p.Err
		if err == nil && !p.Allowed {
			err = errors.New("not allowed")
		}
		if errors.Is(err, awsops.ErrUnauthorized) {
			err = fmt.Errorf("DENIED: %w", err)
		}
		add("ec2 permission "+p.Action, err, code, "allowed (DryRun)")
	}
	return out
}

// checkEtcd reads the server version and the registry and election.
func checkEtcd(ctx context.Context, cli *clientv3.Client, prefix string, env adminEnv) (string, error) {
	ep := cli.Endpoints()[0]
	st, err := cli.Status(ctx, ep)
	if err != nil {
		return "", fmt.Errorf("status of etcd %s: %w: %w", ep, admin.ErrUnreachable, err)
	}
	a, err := admin.New(admin.Config{Etcd: cli, Prefix: prefix, Now: env.now})
	if err != nil {
		return "", err
	}
	s, err := a.Status(ctx)
	if err != nil {
		return "", err
	}
	leader := "none (nothing acts)"
	if s.Leader != nil {
		leader = s.Leader.Instance
	}
	return fmt.Sprintf("reached %s (etcd %s): %d hosts registered, leader %s, %d unreadable keys",
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
