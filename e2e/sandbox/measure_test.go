package sandbox

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/volfailover/volfailover/awsops"
	"github.com/volfailover/volfailover/e2e/ec2sim"
	"github.com/volfailover/volfailover/fleet"
)

// TestMeasureReschedule measures, on the aws-typical sandbox (fleet v1.0.0's
// own timing), how long fleet takes from the metadata PATCH that names the
// new owner to postgres@vol active on it in /state, with and without the
// controller's "nudge" (a PUT of desiredState=launched right after the
// PATCH). The controllers are paused and the move is done by hand, in the
// controller's order: metadata off the owner, unit stopped, detach, attach,
// metadata on the target (+ nudge). It runs only when
// SANDBOX_MEASURE_RUNS=<runs per mode> is set, as it takes minutes.
func TestMeasureReschedule(t *testing.T) {
	runs, _ := strconv.Atoi(os.Getenv("SANDBOX_MEASURE_RUNS"))
	if runs <= 0 {
		t.Skip("set SANDBOX_MEASURE_RUNS=<runs per mode> to measure fleet's rescheduling on the sandbox")
	}
	dir, err := os.MkdirTemp("", "volfailover-measure-")
	require.NoError(t, err)
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	self, err := os.Executable()
	require.NoError(t, err)
	cfg := DefaultConfig(dir)
	cfg.Hosts, cfg.HostsB, cfg.Profile = 3, 0, ec2sim.ProfileAWSTypical
	cfg.Subnet = 2 + os.Getpid()%200
	cfg.SandboxBin, cfg.VolfailoverBin = self, os.Getenv("SANDBOX_VOLFAILOVER_BIN")
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(runs)*2*time.Minute+3*time.Minute)
	defer cancel()
	sb, err := Start(ctx, cfg)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, sb.Close()) })
	vol := sb.Volume()
	unit := PostgresUnit(vol)
	_, err = sb.WaitPostgres(ctx, vol)
	require.NoError(t, err)

	ep := sb.Endpoints()
	etcd, err := clientv3.New(clientv3.Config{Endpoints: []string{ep.Etcd}, DialTimeout: 5 * time.Second})
	require.NoError(t, err)
	defer etcd.Close()
	_, err = etcd.Put(ctx, "/volfailover/pause", `{"reason":"measuring fleet by hand"}`)
	require.NoError(t, err)

	fc := fleet.DefaultConfig()
	fc.Endpoint = ep.Fleet
	fl, err := fleet.NewClient(fc)
	require.NoError(t, err)
	ao := awsops.DefaultOptions()
	ao.Region, ao.Endpoint = Region, ep.EC2
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDMEASURE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	ec2c, err := awsops.New(ctx, ao)
	require.NoError(t, err)

	hosts := sb.Hosts()
	results := map[bool][]time.Duration{}
	procs := map[bool][]time.Duration{}
	for i := 0; i < 2*runs; i++ {
		nudge := i%2 == 1
		from, ok := sb.Owner(vol)
		require.True(t, ok)
		to := hosts[(slices.IndexFunc(hosts, func(h Host) bool { return h.Name == from.Name })+1)%len(hosts)]

		require.NoError(t, fl.PatchMetadata(ctx, []fleet.MetadataOp{{Op: fleet.OpRemove, MachineID: from.MachineID, Key: "postgres"}}))
		require.Eventually(t, func() bool {
			for _, u := range sb.Units() {
				if u.Unit == unit && u.Machine == from.MachineID && u.Active != "inactive" {
					return false
				}
			}
			return true
		}, time.Minute, 20*time.Millisecond, "postgres process gone from %s", from.Name)
		require.NoError(t, ec2c.DetachVolume(ctx, vol, from.InstanceID, false))
		_, err := ec2c.AttachVolume(ctx, vol, to.InstanceID, []string{Device})
		require.NoError(t, err)
		// Let fleet settle between runs, so each PATCH meets its timers at a
		// fresh, arbitrary phase, as a failover does.
		time.Sleep(time.Duration(1000+i*377%2000) * time.Millisecond)

		t0 := time.Now()
		require.NoError(t, fl.PatchMetadata(ctx, []fleet.MetadataOp{{Op: fleet.OpAdd, MachineID: to.MachineID, Key: "postgres", Value: vol}}))
		if nudge {
			require.NoError(t, fl.SetUnitTargetState(ctx, unit, fleet.StateLaunched))
		}
		var proc time.Duration
		require.Eventually(t, func() bool {
			if proc == 0 && slices.ContainsFunc(sb.PostgresHosts(vol), func(h Host) bool { return h.Name == to.Name }) {
				proc = time.Since(t0)
			}
			st, err := fl.UnitStates(ctx, to.MachineID, unit)
			return err == nil && len(st) == 1 && st[0].SystemdActiveState == "active"
		}, time.Minute, 10*time.Millisecond, "postgres active on %s", to.Name)
		d := time.Since(t0)
		results[nudge] = append(results[nudge], d)
		procs[nudge] = append(procs[nudge], proc)
		t.Logf("run %d nudge=%t %s -> %s: PATCH to process started %s, to /state active %s", i, nudge, from.Name, to.Name, proc.Round(time.Millisecond), d.Round(time.Millisecond))
	}
	for _, nudge := range []bool{false, true} {
		t.Logf("nudge=%t: /state active p50 %s (min %s, max %s); process started p50 %s; all %v",
			nudge, p50(results[nudge]), slices.Min(results[nudge]).Round(time.Millisecond), slices.Max(results[nudge]).Round(time.Millisecond),
			p50(procs[nudge]), roundAll(results[nudge]))
	}
}

func p50(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2].Round(time.Millisecond)
}

func roundAll(ds []time.Duration) string {
	out := ""
	for _, d := range ds {
		out += fmt.Sprintf(" %.2fs", d.Seconds())
	}
	return out
}
