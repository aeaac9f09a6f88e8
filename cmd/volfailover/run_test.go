package main

import (
	"context"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/volfailover/volfailover/controller"
	"github.com/volfailover/volfailover/state"
)

func runEnv(vars map[string]string) adminEnv {
	return adminEnv{now: time.Now, who: "test", getenv: func(k string) (string, bool) { v, ok := vars[k]; return v, ok }}
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
		{"ttl below twice the probe interval", []string{"--session-ttl", "2s", "--probe-interval", "1s"}, nil, "session-ttl"},
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
