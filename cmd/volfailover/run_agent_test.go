package main

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/volfailover/volfailover/e2e/ec2sim"
	"github.com/volfailover/volfailover/e2e/fleetsim"
)

// freePort is a loopback port nothing listens on right now.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := l.Addr().(*net.TCPAddr).Port
	require.NoError(t, l.Close())
	return p
}

// TestRunServesStatusAndMetrics runs the agent as `volfailover run` does,
// against etcd, ec2sim and fleetsim, as the only host and owner of one
// volume, and reads its HTTP surface: /v1/status carries etcd's view as the
// admin package assembles it (the `status --json` document) next to the
// leader's verdicts, and /metrics holds the controller's and the outbox's
// series in one registry.
func TestRunServesStatusAndMetrics(t *testing.T) {
	const (
		self = "i-0123456789abcdef0"
		vol  = "vol-0ccccccccccccccc3"
		mid  = "0123456789abcdef0123456789abcdef"
		ip   = "127.0.0.1"
	)
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDTEST")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_CONFIG_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", t.TempDir()+"/none")

	sim, err := ec2sim.New(ec2sim.Options{})
	require.NoError(t, err)
	t.Cleanup(sim.Close)
	require.NoError(t, sim.Apply(&ec2sim.Seed{
		Instances: []ec2sim.SeedInstance{{ID: self, AZ: "us-east-1a", PrivateIP: ip, State: "running"}},
		Volumes: []ec2sim.SeedVolume{{ID: vol, AZ: "us-east-1a", Size: 10, Tags: map[string]string{"volfailover:managed": "true"},
			Attachment: &ec2sim.SeedAttachment{InstanceID: self, Device: "/dev/xvdb"}}},
	}))
	es := httptest.NewServer(sim)
	t.Cleanup(es.Close)
	fs, err := fleetsim.New(fleetsim.Options{})
	require.NoError(t, err)
	t.Cleanup(fs.Close)
	require.NoError(t, fs.AddMachine(mid, ip, map[string]string{"postgres": vol}))
	fsrv := httptest.NewServer(fs)
	t.Cleanup(fsrv.Close)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }))
	t.Cleanup(hook.Close)

	listen := "127.0.0.1:" + strconv.Itoa(freePort(t))
	cmd := newRunCmd(runEnv(nil))
	cmd.SetArgs([]string{"--instance-id", self, "--availability-zone", "us-east-1a", "--private-ip", ip,
		"--aws-region", "us-east-1", "--machine-id", mid,
		"--etcd-endpoints", testEtcd, "--key-prefix", "/runagent", "--ec2-endpoint", es.URL, "--fleet-endpoint", fsrv.URL,
		"--listen-address", listen, "--webhook-url", hook.URL, "--postgres-port", strconv.Itoa(freePort(t)),
		"--session-ttl", "2s", "--round-interval", "200ms", "--probe-interval", "100ms", "--probe-timeout", "100ms", "--witness-refresh", "500ms",
		"--log-level", "error"})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- cmd.ExecuteContext(ctx) }()
	defer func() {
		cancel()
		select {
		case err := <-done:
			require.NoError(t, err, "run returns nil when its context ends")
		case <-time.After(10 * time.Second):
			t.Fatal("volfailover run did not stop within 10s of its context")
		}
	}()

	base := "http://" + listen
	get := func(path string) (int, []byte, error) {
		resp, err := http.Get(base + path)
		if err != nil {
			return 0, nil, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp.StatusCode, b, err
	}
	var doc map[string]any
	require.Eventually(t, func() bool {
		code, b, err := get("/v1/status")
		if err != nil || code != http.StatusOK || json.Unmarshal(b, &doc) != nil {
			return false
		}
		vols, _ := doc["volumes"].([]any)
		if len(vols) != 1 {
			return false
		}
		v, _ := vols[0].(map[string]any)
		return doc["isLeader"] == true && v["verdict"] == "alive"
	}, 15*time.Second, 50*time.Millisecond, "waiting for /v1/status to show this instance leading and its volume's owner alive")

	v := doc["volumes"].([]any)[0].(map[string]any)
	require.Equal(t, vol, v["volume"])
	require.Equal(t, self, v["owner"])
	require.NotEmpty(t, v["signals"], "the verdict's signals")
	cluster, ok := doc["cluster"].(map[string]any)
	require.True(t, ok, "etcd's view in /v1/status: %v", doc["clusterError"])
	for _, k := range []string{"time", "prefix", "revision", "leader", "hosts", "volumes", "overrides", "inFlight", "lastMoves", "damping", "unreadable"} {
		require.Contains(t, cluster, k, "cluster has the `status --json` field %s", k)
	}
	require.Equal(t, "/runagent", cluster["prefix"])
	require.Equal(t, self, cluster["leader"].(map[string]any)["instance"])

	code, body, err := get("/metrics")
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, code)
	text := string(body)
	for _, want := range []string{
		"volfailover_leader 1",
		`volfailover_pages_total{result="delivered",sink="webhook"} 0`,
		`volfailover_owner_verdict{verdict="alive",volume="` + vol + `"} 1`,
		`volfailover_ec2_calls_total{kind="DescribeVolumes"}`,
		"go_goroutines ",
		"process_start_time_seconds ",
	} {
		require.True(t, strings.Contains(text, want), "/metrics has %q", want)
	}
	code, _, err = get("/readyz")
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, code)
}

// TestRunRefusesFleetWithoutMetadataPatch: against fleet 0.13 (no PATCH on
// /machines) `run` stops before it joins the election, with an error that
// names the fleet version it needs, and changes nothing anywhere.
func TestRunRefusesFleetWithoutMetadataPatch(t *testing.T) {
	const (
		self   = "i-0123456789abcdef0"
		mid    = "0123456789abcdef0123456789abcdef"
		prefix = "/runrefuse"
	)
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDTEST")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_CONFIG_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", t.TempDir()+"/none")
	sim, err := ec2sim.New(ec2sim.Options{})
	require.NoError(t, err)
	t.Cleanup(sim.Close)
	es := httptest.NewServer(sim)
	t.Cleanup(es.Close)
	fs, err := fleetsim.New(fleetsim.Options{Version: "0.13.0"})
	require.NoError(t, err)
	t.Cleanup(fs.Close)
	require.NoError(t, fs.AddMachine(mid, "127.0.0.1", nil))
	fsrv := httptest.NewServer(fs)
	t.Cleanup(fsrv.Close)

	cmd := newRunCmd(runEnv(nil))
	cmd.SetArgs([]string{"--instance-id", self, "--availability-zone", "us-east-1a", "--private-ip", "127.0.0.1",
		"--aws-region", "us-east-1", "--machine-id", mid,
		"--etcd-endpoints", testEtcd, "--key-prefix", prefix, "--ec2-endpoint", es.URL, "--fleet-endpoint", fsrv.URL,
		"--listen-address", "127.0.0.1:" + strconv.Itoa(freePort(t)), "--log-level", "error"})
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	start := time.Now()
	err = cmd.ExecuteContext(ctx)
	require.Error(t, err, "run must refuse a fleet without metadata PATCH")
	require.Less(t, time.Since(start), 10*time.Second, "run refused at once, not after its context")
	require.ErrorContains(t, err, "refusing to run")
	require.ErrorContains(t, err, "needs fleet v1.0.0 or later")
	require.ErrorContains(t, err, "fleetd/0.13.0")
	require.Equal(t, exitFailed, exitCode(err), "exit code for %v", err)

	for _, r := range fs.Journal() {
		require.False(t, r.Mutating(), "run changed fleet before refusing: %s %s %s", r.Method, r.Path, r.Body)
	}
	for _, c := range sim.Journal() {
		require.False(t, c.Mutating(), "run changed EC2 before refusing: %s", c.Action)
	}
	cli := newEtcdClient(t)
	resp, err := cli.Get(ctx, prefix, clientv3.WithPrefix(), clientv3.WithCountOnly())
	require.NoError(t, err)
	require.Zero(t, resp.Count, "run wrote to etcd before refusing")
}
