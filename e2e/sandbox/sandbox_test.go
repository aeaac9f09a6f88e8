package sandbox

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"
)

// startTestSandbox brings up a sandbox of n hosts for a test. The volfailover
// binary is built, unless $SANDBOX_VOLFAILOVER_BIN names a prebuilt one.
func startTestSandbox(t *testing.T, n int) *Sandbox {
	t.Helper()
	if _, err := os.Stat(filepath.Join(DefaultPostgresBin, "postgres")); err != nil {
		t.Skipf("PostgreSQL 15 is not installed at %s: %v", DefaultPostgresBin, err)
	}
	// Not t.TempDir: its parents are 0700, which the postgres user cannot traverse.
	dir, err := os.MkdirTemp("", "volfailover-sandbox-test-")
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, os.RemoveAll(dir)) })
	self, err := os.Executable()
	require.NoError(t, err)

	cfg := DefaultConfig(dir)
	cfg.Hosts, cfg.HostsB = n, 0
	cfg.Subnet = 2 + os.Getpid()%200 // away from a sandbox of the default subnet 1
	cfg.SandboxBin = self
	cfg.VolfailoverBin = os.Getenv("SANDBOX_VOLFAILOVER_BIN")
	cfg.Logger = zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	sb, err := Start(ctx, cfg)
	require.NoError(t, err, "start sandbox")
	t.Cleanup(func() { require.NoError(t, sb.Close()) })
	return sb
}

func TestSandboxServesPostgresOnCore1(t *testing.T) {
	sb := startTestSandbox(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	hosts := sb.Hosts()
	require.Len(t, hosts, 3)
	for i, h := range hosts {
		require.Equal(t, fmt.Sprintf("core%d", i+1), h.Name)
		require.Equal(t, ZoneA, h.AZ)
		require.Equal(t, "running", sb.EC2().InstanceState(h.InstanceID))
	}
	owner, err := sb.WaitPostgres(ctx, sb.Volume())
	require.NoError(t, err, "postgres on the volume's owner")
	require.Equal(t, "core1", owner.Name, "got owner %s want core1", owner.Name)
	require.NoError(t, QueryOK(ctx, owner))
	require.Equal(t, []Host{hosts[0]}, sb.PostgresHosts(sb.Volume()), "postgres must run on core1 only")
	require.Equal(t, []string{hosts[0].MachineID}, sb.Fleet().Running(PostgresUnit(sb.Volume())))
	require.FileExists(t, filepath.Join(sb.EC2().VolumeDir(sb.Volume()), "pgdata", "PG_VERSION"), "data directory lives on the volume")

	// Every host runs the global unit.
	require.Eventually(t, func() bool {
		return len(sb.Fleet().Running("volfailover.service")) == 3
	}, 20*time.Second, 50*time.Millisecond, "waiting for volfailover.service on all 3 hosts")
}

func TestSandboxHostFaults(t *testing.T) {
	sb := startTestSandbox(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	core2, _ := sb.Host("core2")
	core3, _ := sb.Host("core3")
	_, err := sb.WaitPostgres(ctx, sb.Volume())
	require.NoError(t, err)
	var pids []int
	for _, u := range sb.Units() {
		if u.PID != 0 {
			pids = append(pids, u.PID)
		}
	}

	// A stopping instance whose OS is still shutting down (a default or
	// Force stop, here one that hangs) keeps running its processes ...
	require.NoError(t, sb.EC2().SetInstanceState(core3.InstanceID, "stopping"))
	require.Never(t, func() bool { return sb.exec.Down(core3.MachineID) }, 10*watchInterval, watchInterval/5,
		"core3 was killed while its OS was still shutting down")
	// ... until a hard stop (Force and SkipOsShutdown) ends its guest: a
	// stopped instance runs nothing (the fence is physical) ...
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(url.Values{
		"Action": {"StopInstances"}, "Version": {"2016-11-15"}, "InstanceId.1": {core3.InstanceID},
		"Force": {"true"}, "SkipOsShutdown": {"true"},
	}.Encode())).WithContext(ctx)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	sb.EC2().ServeHTTP(rec, req)
	require.Equal(t, http.StatusOK, rec.Code, "hard stop: %s", rec.Body)
	require.Eventually(t, func() bool {
		active, _ := sb.exec.Status(core3.MachineID, "volfailover.service")
		return sb.exec.Down(core3.MachineID) && active != "active" && hasEvent(sb, "core3", "fenced")
	}, 10*time.Second, 20*time.Millisecond, "waiting for core3's processes to die with its instance and the fence event")
	// ... until it is revived.
	require.NoError(t, sb.ReviveHost(ctx, "core3"))
	require.Equal(t, "running", sb.EC2().InstanceState(core3.InstanceID))
	require.Eventually(t, func() bool {
		active, _ := sb.exec.Status(core3.MachineID, "volfailover.service")
		return active == "active"
	}, 20*time.Second, 50*time.Millisecond, "waiting for volfailover.service to start again on revived core3")
	require.ErrorContains(t, sb.ReviveHost(ctx, "core3"), "not down")

	// A partition cuts the host's address off; healing restores it.
	gw := fmt.Sprintf("%s:%d", core2.Addr, GatewayEtcdPort)
	require.NoError(t, dial(gw), "core2's etcd gateway before the partition")
	err = sb.PartitionHost(ctx, "core2")
	if errors.Is(err, ErrPartitionUnsupported) {
		t.Logf("partition not tested: %v", err)
	} else {
		require.NoError(t, err)
		require.Error(t, dial(gw), "core2's gateway must be unreachable while partitioned")
		require.NoError(t, sb.HealHost(ctx, "core2"))
		require.NoError(t, dial(gw), "core2's gateway after healing")

		// A pair cut is between two hosts only, a one-way cut in one
		// direction only, and a cut from etcd is of the etcd gateway only.
		core1, _ := sb.Host("core1")
		health3 := fmt.Sprintf("%s:%d", core3.Addr, HealthPort)
		health2 := fmt.Sprintf("%s:%d", core2.Addr, HealthPort)
		require.Eventually(t, func() bool { return dialFrom(core1.Addr, health2) == nil && dialFrom(core1.Addr, health3) == nil },
			20*time.Second, 50*time.Millisecond, "waiting for volfailover to listen on core2 and core3")
		require.NoError(t, sb.PartitionPair(ctx, "core2", "core3"))
		require.Error(t, dialFrom(core2.Addr, health3), "core2 must not reach core3")
		require.NoError(t, dialFrom(core1.Addr, health3), "core1 still reaches core3")
		require.NoError(t, sb.HealPair(ctx, "core2", "core3"))
		require.NoError(t, sb.PartitionOneWay(ctx, "core2", "core3"))
		require.Error(t, dialFrom(core2.Addr, health3), "core2 must not reach core3")
		require.NoError(t, dialFrom(core3.Addr, health2), "core3 still reaches core2")
		require.NoError(t, sb.HealOneWay(ctx, "core2", "core3"))
		require.NoError(t, dialFrom(core2.Addr, health3), "core2 reaches core3 after the heal")
		require.NoError(t, sb.PartitionFromEtcd(ctx, "core2"))
		require.Error(t, dial(gw), "core2's etcd gateway must be unreachable")
		require.NoError(t, dialFrom(core1.Addr, health2), "core2's /healthz stays reachable")
		require.Equal(t, []string{"any -> " + core2.Addr + ":22379/tcp", "any -> " + core2.Addr + ":2379/tcp", "any -> " + core2.Addr + ":32379/tcp"},
			sb.Status().Cuts, "one cut per etcd member's gateway")
		require.NoError(t, sb.HealFromEtcd(ctx, "core2"))
		require.NoError(t, dial(gw), "core2's etcd gateway after the heal")
		require.ErrorContains(t, sb.PartitionPair(ctx, "core2", "core2"), "given twice")

		require.NoError(t, sb.PartitionPair(ctx, "core1", "core3")) // left in place for Close to remove
		require.NoError(t, sb.PartitionHost(ctx, "core2"))          // left in place for Close to remove
	}

	// Close leaves no process and no firewall rule behind.
	require.NoError(t, sb.Close())
	for _, pid := range pids {
		require.ErrorIs(t, syscall.Kill(pid, 0), syscall.ESRCH, "process %d outlived the sandbox", pid)
	}
	if out, err := exec.Command("iptables", "-w", "-S", "INPUT").CombinedOutput(); err == nil {
		require.NotContains(t, string(out), sb.fw.tag, "got rules %s", out)
	}
}

func hasEvent(sb *Sandbox, host, word string) bool {
	for _, e := range sb.Events() {
		if e.Host == host && strings.Contains(e.What, word) {
			return true
		}
	}
	return false
}

func dial(addr string) error {
	c, err := net.DialTimeout("tcp", addr, 300*time.Millisecond)
	if err != nil {
		return err
	}
	return c.Close()
}
