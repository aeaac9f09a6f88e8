package main

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/volfailover/volfailover/controller"
	"github.com/volfailover/volfailover/state"
)

func runEnv(vars map[string]string) adminEnv {
	return adminEnv{now: time.Now, who: "test", getenv: func(k string) (string, bool) { v, ok := vars[k]; return v, ok },
		environ: func() []string { return environOf(vars) }}
}

// identity flags so that no test reaches for IMDS or /etc/machine-id.
var identityArgs = []string{"--instance-id", "i-0123456789abcdef0", "--availability-zone", "us-east-1a",
	"--private-ip", "10.0.0.5", "--aws-region", "us-east-1", "--machine-id", "0123456789abcdef0123456789abcdef"}

func TestRunRejectsBadOptionsNamingTheField(t *testing.T) {
	for _, tt := range []struct {
		name  string
		args  []string
		env   map[string]string
		field string
	}{
		{"ttl not whole seconds", []string{"--session-ttl", "1500ms"}, nil, "session-ttl"},
		{"ttl below twice the round interval", []string{"--session-ttl", "2s", "--round-interval", "1s"}, nil, "session-ttl"},
		{"probe interval above the round interval", []string{"--probe-interval", "2s"}, nil, "probe-interval"},
		{"min unreachable negative", []string{"--min-unreachable", "-1s"}, nil, "min-unreachable"},
		{"min unreachable from env above a minute", nil, map[string]string{"VOLFAILOVER_MIN_UNREACHABLE": "2m"}, "min-unreachable"},
		{"fence policy", []string{"--fence-policy", "yolo"}, nil, "fence-policy"},
		{"threshold from env", nil, map[string]string{"VOLFAILOVER_FAILURE_THRESHOLD": "0"}, "failure-threshold"},
		{"device", []string{"--device", "/dev/nvme0n1"}, nil, "device"},
		{"unit template", []string{"--unit-template", "postgres.service"}, nil, "unit-template"},
		{"instance id", []string{"--instance-id", "host-1"}, nil, "instance-id"},
		{"log level", []string{"--log-level", "loud"}, nil, "log-level"},
		{"env not a number", nil, map[string]string{"VOLFAILOVER_WITNESSES": "three"}, "VOLFAILOVER_WITNESSES"},
		{"etcd user without password", []string{"--etcd-username", "vf"}, nil, "etcd-username"},
		{"stuck detaching zero", []string{"--stuck-detaching", "0s"}, nil, "stuck-detaching"},
		{"poll max below initial", []string{"--ec2-poll-initial", "2s", "--ec2-poll-max", "1s"}, nil, "ec2-poll-max"},
		{"budget share above one", []string{"--ec2-budget-share", "1.5"}, nil, "ec2-budget-share"},
		{"budget share zero", []string{"--ec2-budget-share", "0"}, nil, "ec2-budget-share"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cmd := newRunCmd(runEnv(tt.env))
			args := append(append([]string{}, identityArgs...), tt.args...)
			cmd.SetArgs(args)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			err := cmd.ExecuteContext(ctx)
			require.Error(t, err)
			require.Contains(t, err.Error(), tt.field, "error names the field: got %v", err)
			require.Equal(t, exitUsage, exitCode(err), "exit code for %v", err)
		})
	}
}

func TestRunOptionsFromFlagsAndEnv(t *testing.T) {
	env := runEnv(map[string]string{"VOLFAILOVER_COOLDOWN": "30m", "VOLFAILOVER_DRY_RUN": "true", "VOLFAILOVER_ETCD_PASSWORD": "pw"})
	f := &runFlags{o: controller.DefaultOptions()}
	cmd := runCommand(env, f)
	require.NoError(t, cmd.ParseFlags(append(identityArgs, "--fence-policy", "strict", "--witnesses", "5", "--etcd-username", "vf")))
	require.NoError(t, applyEnv(cmd, env))
	o, err := f.options(context.Background(), env, zerolog.Nop())
	require.NoError(t, err)
	require.Equal(t, 30*time.Minute, o.Cooldown, "cooldown from VOLFAILOVER_COOLDOWN")
	require.True(t, o.DryRun, "dry-run from VOLFAILOVER_DRY_RUN")
	require.Equal(t, 5, o.Witnesses, "witnesses from the flag")
	require.Equal(t, state.FenceStrict, o.FencePolicy)
	require.Equal(t, "pw", o.EtcdPassword, "password from VOLFAILOVER_ETCD_PASSWORD")
	require.Equal(t, "i-0123456789abcdef0", o.InstanceID)
	require.Equal(t, "/volfailover", o.KeyPrefix, "default prefix")
}

func TestRunPagingFlags(t *testing.T) {
	dir := t.TempDir()
	hdrs := dir + "/headers"
	require.NoError(t, os.WriteFile(hdrs, []byte("Authorization: Bearer s3cr3t\n"), 0o600))
	keyFile := dir + "/key"
	require.NoError(t, os.WriteFile(keyFile, []byte("R0ut1ngK3yS3cr3tR0ut1ngK3yS3cr3t\n"), 0o600))
	for _, tc := range []struct {
		name  string
		args  []string
		sinks int
		err   string
	}{
		{"webhook with headers", []string{"--webhook-url", "http://127.0.0.1:9/h", "--webhook-header", "X-Team: db", "--webhook-headers-file", hdrs}, 1, ""},
		{"both sinks, runbook and client url", []string{"--webhook-url", "http://127.0.0.1:9/h", "--pagerduty-routing-key-file", keyFile,
			"--pagerduty-client-url", "https://grafana.example/d/volfailover", "--runbook-url", "https://wiki.example/ops.md"}, 2, ""},
		{"no runbook link", []string{"--pagerduty-routing-key-file", keyFile, "--runbook-url", ""}, 1, ""},
		{"bad header", []string{"--webhook-url", "http://127.0.0.1:9/h", "--webhook-header", "Authorization Bearer s3cr3t"}, 0, "webhook-header"},
		{"header without webhook", []string{"--webhook-header", "X-Team: db"}, 0, "no --webhook-url"},
		{"client url without pagerduty", []string{"--pagerduty-client-url", "https://x.example"}, 0, "no PagerDuty routing key"},
		{"bad runbook url", []string{"--pagerduty-routing-key-file", keyFile, "--runbook-url", "runbook"}, 0, "runbook_url"},
		{"headers file missing", []string{"--webhook-url", "http://127.0.0.1:9/h", "--webhook-headers-file", dir + "/none"}, 0, "headers_file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newRunFlags()
			cmd := runCommand(runEnv(nil), f)
			require.NoError(t, cmd.ParseFlags(tc.args))
			sinks, err := f.sinks(runEnv(nil), zerolog.Nop())
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				require.NotContains(t, err.Error(), "s3cr3t", "no header value in errors")
				require.Equal(t, exitUsage, exitCode(err))
				return
			}
			require.NoError(t, err)
			require.Len(t, sinks, tc.sinks)
			for _, s := range sinks {
				require.NotContains(t, fmt.Sprintf("%v %+v", s, s), "s3cr3t", "a sink prints no credential")
			}
		})
	}
}

func TestWebhookSinkPrintsNoHeaderValue(t *testing.T) {
	f := newRunFlags()
	cmd := runCommand(runEnv(nil), f)
	require.NoError(t, cmd.ParseFlags([]string{"--webhook-url", "http://127.0.0.1:9/h/token", "--webhook-header", "Authorization: Bearer s3cr3t"}))
	sinks, err := f.sinks(runEnv(nil), zerolog.Nop())
	require.NoError(t, err)
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		out := fmt.Sprintf(verb, sinks[0])
		require.NotContains(t, out, "s3cr3t", "%s prints %s", verb, out)
		require.NotContains(t, out, "token", "%s prints %s", verb, out)
	}
}
