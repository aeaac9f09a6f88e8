package main

import (
	"net"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/volfailover/volfailover/e2e/ec2sim"
	"github.com/volfailover/volfailover/e2e/fleetsim"
)

// checkDeps are a real ec2sim and fleetsim behind httptest servers.
type checkDeps struct {
	ec2              *ec2sim.Sim
	ec2URL, fleetURL string
}

func newCheckDeps(t *testing.T) *checkDeps {
	t.Helper()
	// The SDK's default chain must find credentials in the environment and
	// never try the instance metadata service.
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDTEST")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_CONFIG_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", t.TempDir()+"/none")

	sim, err := ec2sim.New(ec2sim.Options{})
	require.NoError(t, err)
	t.Cleanup(sim.Close)
	require.NoError(t, sim.Apply(&ec2sim.Seed{
		Instances: []ec2sim.SeedInstance{{ID: hostA, AZ: azA, PrivateIP: "10.0.0.1", State: "running"}},
		Volumes: []ec2sim.SeedVolume{{ID: volB, AZ: azA, Size: 10, Tags: map[string]string{"volfailover:managed": "true"},
			Attachment: &ec2sim.SeedAttachment{InstanceID: hostA, Device: "/dev/xvdb"}}},
	}))
	es := httptest.NewServer(sim)
	t.Cleanup(es.Close)

	fs, err := fleetsim.New(fleetsim.Options{})
	require.NoError(t, err)
	t.Cleanup(fs.Close)
	require.NoError(t, fs.AddMachine(machine(1), "10.0.0.1", map[string]string{"postgres": volB}))
	require.NoError(t, fs.AddMachine(machine(2), "10.0.0.2", nil))
	fsrv := httptest.NewServer(fs)
	t.Cleanup(fsrv.Close)
	return &checkDeps{ec2: sim, ec2URL: es.URL, fleetURL: fsrv.URL}
}

// oldFleetURL serves a fleetsim that behaves as fleet 0.13: no PATCH on /machines.
func oldFleetURL(t *testing.T) string {
	t.Helper()
	fs, err := fleetsim.New(fleetsim.Options{Version: "0.13.0"})
	require.NoError(t, err)
	t.Cleanup(fs.Close)
	require.NoError(t, fs.AddMachine(machine(1), "10.0.0.1", map[string]string{"postgres": volB}))
	srv := httptest.NewServer(fs)
	t.Cleanup(srv.Close)
	return srv.URL
}

// closedURL is a loopback URL nothing listens on.
func closedURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return "http://" + addr
}

// checkLine finds the output line of one check.
func checkLine(t *testing.T, out, name string) string {
	t.Helper()
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		if len(f) >= 2 && strings.HasPrefix(strings.Join(f[1:], " "), name+" ") {
			return l
		}
	}
	require.Failf(t, "check line missing", "no line for %q in:\n%s", name, out)
	return ""
}

func TestCheck(t *testing.T) {
	cli := newEtcdClient(t)
	tests := []struct {
		name   string
		deny   string // EC2 action to deny
		fleet  func(d *checkDeps) string
		extra  []string
		code   int
		failed []string // checks that must FAIL
	}{
		{name: "all pass", code: exitOK},
		{name: "StopInstances denied", deny: "StopInstances", code: exitFailed, failed: []string{"ec2 permission StopInstances"}},
		{name: "fleet unreachable", fleet: func(*checkDeps) string { return closedURL(t) }, code: exitUnreachable, failed: []string{"fleet", "fleet metadata PATCH"}},
		{name: "fleet 0.13 has no metadata PATCH", fleet: func(*checkDeps) string { return oldFleetURL(t) }, code: exitFailed, failed: []string{"fleet metadata PATCH"}},
		{name: "bad region", extra: []string{"--region", "mars"}, code: exitUsage, failed: []string{"config ec2", "ec2"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := newCheckDeps(t)
			prefix := testPrefix(t)
			seedCluster(t, cli, prefix)
			if tc.deny != "" {
				d.ec2.Arm(ec2sim.Fault{Kind: ec2sim.FaultUnauthorized, Action: tc.deny, Sticky: true})
			}
			fleetURL := d.fleetURL
			if tc.fleet != nil {
				fleetURL = tc.fleet(d)
			}
			args := cmdArgs(prefix, "check", "--region", "us-east-1", "--ec2-endpoint", d.ec2URL, "--fleet-endpoint", fleetURL)
			r := runCLI(t, cliEnv(nil), append(args, tc.extra...)...)
			t.Log("\n" + r.stdout)
			require.Equal(t, tc.code, r.code, "exit: stdout\n%s\nstderr %s", r.stdout, r.stderr)

			failed := map[string]bool{}
			for _, n := range tc.failed {
				failed[n] = true
				require.True(t, strings.HasPrefix(checkLine(t, r.stdout, n), "FAIL"), "%s should fail:\n%s", n, r.stdout)
			}
			for _, n := range []string{"config etcd", "config fleet", "etcd", "fleet", "fleet metadata PATCH", "ec2"} {
				if !failed[n] && !(failed["ec2"] && n == "ec2") {
					require.True(t, strings.HasPrefix(checkLine(t, r.stdout, n), "ok"), "%s should pass:\n%s", n, r.stdout)
				}
			}
			if tc.code == exitUsage {
				return
			}
			require.Contains(t, checkLine(t, r.stdout, "etcd"), "leader "+hostA)
			require.Contains(t, r.stdout, "1 managed volumes")
			for _, action := range []string{"AttachVolume", "DetachVolume", "StopInstances", "CreateTags", "DescribeVolumes", "DescribeInstances", "DescribeInstanceStatus"} {
				line := checkLine(t, r.stdout, "ec2 permission "+action)
				if action == tc.deny {
					require.Contains(t, line, "DENIED")
					require.Contains(t, line, "unauthorized")
				} else {
					require.True(t, strings.HasPrefix(line, "ok"), "%s should be allowed:\n%s", action, r.stdout)
				}
			}
			if tc.fleet == nil {
				require.Contains(t, checkLine(t, r.stdout, "fleet"), "2 machines")
				require.Contains(t, checkLine(t, r.stdout, "fleet metadata PATCH"), "fleet v1.0.0 or later")
			}
			if failed["fleet metadata PATCH"] && tc.code == exitFailed {
				line := checkLine(t, r.stdout, "fleet metadata PATCH")
				require.Contains(t, line, "needs fleet v1.0.0 or later")
				require.Contains(t, line, "fleetd/0.13.0")
			}
		})
	}
}

func TestCheckEtcdUnreachable(t *testing.T) {
	d := newCheckDeps(t)
	r := runCLI(t, cliEnv(nil), "check", "--etcd-endpoints", closedURL(t), "--timeout", "500ms",
		"--region", "us-east-1", "--ec2-endpoint", d.ec2URL, "--fleet-endpoint", d.fleetURL)
	require.Equal(t, exitUnreachable, r.code, "stdout:\n%s", r.stdout)
	require.True(t, strings.HasPrefix(checkLine(t, r.stdout, "etcd"), "FAIL"))
	require.True(t, strings.HasPrefix(checkLine(t, r.stdout, "fleet"), "ok"))
}
