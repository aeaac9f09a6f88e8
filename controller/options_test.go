package controller

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/volfailover/volfailover/state"
)

func validOptions() Options {
	o := DefaultOptions()
	o.EtcdEndpoints = []string{"http://127.0.0.1:2379"}
	return o
}

func TestDefaultOptionsValid(t *testing.T) {
	require.NoError(t, validOptions().Validate())
	o := DefaultOptions()
	require.Equal(t, "/volfailover", o.KeyPrefix)
	require.Equal(t, 10*time.Second, o.SessionTTL)
	require.Equal(t, time.Second, o.RoundInterval)
	require.Equal(t, 250*time.Millisecond, o.ProbeInterval)
	require.Equal(t, 200*time.Millisecond, o.ProbeTimeout)
	require.Equal(t, 3, o.FailureThreshold)
	require.Equal(t, 2500*time.Millisecond, o.MinUnreachable)
	require.Equal(t, 3, o.Witnesses)
	require.Equal(t, "postgres@%s.service", o.UnitTemplate)
	require.Equal(t, "postgres", o.MetadataKey)
	require.Equal(t, "/dev/sdf", o.Device)
	require.Equal(t, 5432, o.PostgresPort)
	require.Equal(t, state.FenceStopThenDetach, o.FencePolicy)
}

func TestOptionsValidateNamesTheField(t *testing.T) {
	for _, tt := range []struct {
		name   string
		mutate func(*Options)
		field  string
	}{
		{"no endpoints", func(o *Options) { o.EtcdEndpoints = nil }, "etcd-endpoints"},
		{"endpoint scheme", func(o *Options) { o.EtcdEndpoints = []string{"127.0.0.1:2379"} }, "etcd-endpoints"},
		{"cert without key", func(o *Options) { o.EtcdCertFile = "c.pem" }, "etcd-key-file"},
		{"user without password", func(o *Options) { o.EtcdUsername = "vf" }, "etcd-password"},
		{"prefix slash", func(o *Options) { o.KeyPrefix = "volfailover/" }, "key-prefix"},
		{"ttl fraction", func(o *Options) { o.SessionTTL = 2500 * time.Millisecond }, "session-ttl"},
		{"ttl vs round", func(o *Options) { o.SessionTTL = 2 * time.Second; o.RoundInterval = time.Second }, "2 × round-interval"},
		{"round interval", func(o *Options) { o.RoundInterval = 0 }, "round-interval"},
		{"probe above round", func(o *Options) { o.ProbeInterval = 2 * time.Second }, "probe-interval"},
		{"probe interval zero", func(o *Options) { o.ProbeInterval = 0 }, "probe-interval"},
		{"probe timeout", func(o *Options) { o.ProbeTimeout = 300 * time.Millisecond }, "probe-timeout"},
		{"min unreachable negative", func(o *Options) { o.MinUnreachable = -time.Millisecond }, "min-unreachable"},
		{"min unreachable above a minute", func(o *Options) { o.MinUnreachable = time.Minute + time.Millisecond }, "min-unreachable"},
		{"threshold", func(o *Options) { o.FailureThreshold = 0 }, "failure-threshold"},
		{"witnesses", func(o *Options) { o.Witnesses = 0 }, "witnesses"},
		{"witness refresh", func(o *Options) { o.WitnessRefresh = time.Millisecond }, "witness-refresh"},
		{"tag key", func(o *Options) { o.ManagedTagKey = "aws:managed" }, "managed-tag-key"},
		{"unit template", func(o *Options) { o.UnitTemplate = "postgres-%s.service" }, "unit-template"},
		{"metadata key", func(o *Options) { o.MetadataKey = "pg=x" }, "metadata-key"},
		{"device", func(o *Options) { o.Device = "/dev/nvme1n1" }, "device"},
		{"device instance store", func(o *Options) { o.Device = "/dev/xvdb" }, "instance store"},
		{"port", func(o *Options) { o.PostgresPort = 70000 }, "postgres-port"},
		{"fence policy", func(o *Options) { o.FencePolicy = "none" }, "fence-policy"},
		{"deadline", func(o *Options) { o.Deadlines.Attach = 0 }, "deadline-attach"},
		{"retry", func(o *Options) { o.RetryMax = time.Millisecond }, "retry-max"},
		{"cooldown", func(o *Options) { o.Cooldown = -time.Second }, "cooldown"},
		{"max failovers", func(o *Options) { o.MaxFailovers = 0 }, "max-failovers"},
		{"window", func(o *Options) { o.FailoverWindow = 0 }, "failover-window"},
		{"history", func(o *Options) { o.HistoryLimit = 0 }, "history-limit"},
		{"listen", func(o *Options) { o.ListenAddr = "9437" }, "listen-address"},
		{"instance id", func(o *Options) { o.InstanceID = "web-1" }, "instance-id"},
		{"private ip", func(o *Options) { o.PrivateIP = "10.0.0" }, "private-ip"},
		{"machine id", func(o *Options) { o.MachineID = "abc" }, "machine-id"},
		{"az", func(o *Options) { o.AvailabilityZone = "east" }, "availability-zone"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			o := validOptions()
			tt.mutate(&o)
			err := o.Validate()
			require.Error(t, err)
			require.Contains(t, err.Error(), tt.field, "got %v", err)
		})
	}
}
