package main

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http/httptest"
	"os"
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

// newCheckDeps seeds hostA owning volB and its AZ peer hostB (the failover
// target seedCluster registers); mod may change the seed.
func newCheckDeps(t *testing.T, mod func(*ec2sim.Seed)) *checkDeps {
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
	seed := &ec2sim.Seed{
		Instances: []ec2sim.SeedInstance{
			{ID: hostA, AZ: azA, PrivateIP: "10.0.0.1", State: "running"},
			{ID: hostB, AZ: azA, PrivateIP: "10.0.0.2", State: "running"},
		},
		Volumes: []ec2sim.SeedVolume{{ID: volB, AZ: azA, Size: 10, Tags: map[string]string{"volfailover:managed": "true"},
			Attachment: &ec2sim.SeedAttachment{InstanceID: hostA, Device: "/dev/xvdb"}}},
	}
	if mod != nil {
		mod(seed)
	}
	require.NoError(t, sim.Apply(seed))
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

// hostAIdentity is hostA's identity, so check needs no IMDS.
var hostAIdentity = []string{"--instance-id", hostA, "--availability-zone", azA, "--private-ip", "10.0.0.1", "--machine-id", machine(1)}

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

// policyTagKeys are the tag keys the shipped IAM policy lets CreateTags write.
func policyTagKeys(t *testing.T) []string {
	t.Helper()
	raw, err := os.ReadFile("../../" + policyFile("aws"))
	require.NoError(t, err)
	var doc struct {
		Statement []struct {
			Action    any
			Condition map[string]map[string]any
		}
	}
	require.NoError(t, json.Unmarshal(raw, &doc))
	for _, s := range doc.Statement {
		if s.Action == "ec2:CreateTags" {
			var keys []string
			for _, k := range s.Condition["ForAllValues:StringEquals"]["aws:TagKeys"].([]any) {
				keys = append(keys, k.(string))
			}
			return keys
		}
	}
	require.Fail(t, "the policy has no CreateTags statement")
	return nil
}

func TestCheck(t *testing.T) {
	cli := newEtcdClient(t)
	const key = "arn:aws:kms:us-east-1:123456789012:key/0a1b2c3d-0000-4000-8000-000000000001"
	tests := []struct {
		name   string
		seed   func(*ec2sim.Seed)
		deny   string // EC2 action to deny
		fleet  func(d *checkDeps) string
		env    map[string]string
		args   []string // replaces "--aws-region us-east-1"
		code   int
		failed []string          // checks that must FAIL
		lines  map[string]string // check line -> text it must contain
	}{
		{name: "all pass", code: exitOK, lines: map[string]string{
			"config partition": "aws for region us-east-1: IAM policy from volfailover iam-policy --partition aws, or docs/deploy/iam-policy.json",
			"volume " + volB:   "owner " + hostA + " as /dev/xvdb in " + azA + "; failover target " + hostB,
		}},
		{name: "region from VOLFAILOVER_AWS_REGION, as run reads it", env: map[string]string{"VOLFAILOVER_AWS_REGION": "us-east-1"}, args: []string{}, code: exitOK},
		{name: "China partition", args: []string{"--aws-region", "cn-north-1"}, code: exitOK,
			lines: map[string]string{"config partition": "aws-cn for region cn-north-1: IAM policy from volfailover iam-policy --partition aws-cn, or docs/deploy/iam-policy-aws-cn.json"}},
		{name: "GovCloud partition", args: []string{"--aws-region", "us-gov-west-1"}, code: exitOK,
			lines: map[string]string{"config partition": "aws-us-gov for region us-gov-west-1: IAM policy from volfailover iam-policy --partition aws-us-gov, or docs/deploy/iam-policy-aws-us-gov.json"}},
		{name: "StopInstances denied", deny: "StopInstances", code: exitFailed, failed: []string{"ec2 permission StopInstances"}},
		{name: "ModifyInstanceAttribute denied", deny: "ModifyInstanceAttribute", code: exitFailed, failed: []string{"ec2 permission ModifyInstanceAttribute"}},
		{name: "fleet unreachable", fleet: func(*checkDeps) string { return closedURL(t) }, code: exitUnreachable, failed: []string{"fleet", "fleet metadata PATCH"}},
		{name: "fleet 0.13 has no metadata PATCH", fleet: func(*checkDeps) string { return oldFleetURL(t) }, code: exitFailed, failed: []string{"fleet metadata PATCH"}},
		{name: "bad region", args: []string{"--aws-region", "mars"}, code: exitUsage, failed: []string{"config ec2", "ec2"}},
		{name: "region in no partition", args: []string{"--aws-region", "zz-nowhere-1"}, code: exitOK,
			lines: map[string]string{"config partition": "WARN"}},
		{name: "run's controller options", args: []string{"--aws-region", "us-east-1", "--session-ttl", "1500ms"}, code: exitUsage,
			failed: []string{"config controller", "etcd"}, lines: map[string]string{"config controller": "session-ttl"}},
		{name: "run's EC2 wait options", args: []string{"--aws-region", "us-east-1", "--stuck-detaching", "0s"}, code: exitUsage,
			failed: []string{"config ec2", "ec2"}, lines: map[string]string{"config ec2": "stuck-detaching"}},
		{name: "run's alert options", args: []string{"--aws-region", "us-east-1", "--webhook-url", "ftp://example.com/hook"}, code: exitUsage,
			failed: []string{"config alert"}, lines: map[string]string{"config alert": "webhook-url"}},
		{name: "DeleteOnTermination warned", seed: func(s *ec2sim.Seed) { s.Volumes[0].Attachment.DeleteOnTermination = true }, code: exitOK,
			lines: map[string]string{"volume " + volB + " delete-on-termination": "WARN"}},
		{name: "KMS key named with its grants", seed: func(s *ec2sim.Seed) { s.Volumes[0].KMSKeyID = key }, code: exitOK,
			lines: map[string]string{"volume " + volB + " kms": key + ": if it is a customer-managed key, its key policy and this role must allow kms:CreateGrant, kms:Decrypt, kms:DescribeKey, kms:GenerateDataKeyWithoutPlaintext, kms:ReEncrypt*"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := newCheckDeps(t, tc.seed)
			prefix := testPrefix(t)
			seedCluster(t, cli, prefix)
			if tc.deny != "" {
				d.ec2.Arm(ec2sim.Fault{Kind: ec2sim.FaultUnauthorized, Action: tc.deny, Sticky: true})
			}
			fleetURL := d.fleetURL
			if tc.fleet != nil {
				fleetURL = tc.fleet(d)
			}
			args := append([]string{"check", "--ec2-endpoint", d.ec2URL, "--fleet-endpoint", fleetURL}, hostAIdentity...)
			if tc.args == nil {
				args = append(args, "--aws-region", "us-east-1")
			}
			r := runCLI(t, cliEnv(tc.env), cmdArgs(prefix, append(args, tc.args...)...)...)
			t.Log("\n" + r.stdout)
			require.Equal(t, tc.code, r.code, "exit: stdout\n%s\nstderr %s", r.stdout, r.stderr)

			failed := map[string]bool{}
			for _, n := range tc.failed {
				failed[n] = true
				require.True(t, strings.HasPrefix(checkLine(t, r.stdout, n), "FAIL"), "%s should fail:\n%s", n, r.stdout)
			}
			for n, want := range tc.lines {
				require.Contains(t, checkLine(t, r.stdout, n), want)
			}
			for _, n := range []string{"config controller", "config ec2", "config fleet", "config alert", "etcd", "fleet", "fleet metadata PATCH", "ec2"} {
				if !failed[n] {
					line := checkLine(t, r.stdout, n)
					require.True(t, strings.HasPrefix(line, "ok") || strings.HasPrefix(line, "WARN"), "%s should pass:\n%s", n, r.stdout)
				}
			}
			if tc.code == exitUsage {
				return
			}
			require.Contains(t, checkLine(t, r.stdout, "etcd"), "leader "+hostA)
			require.Contains(t, r.stdout, "1 managed volumes")
			for _, action := range []string{"StopInstances", "DetachVolume", "AttachVolume", "CreateTags", "ModifyInstanceAttribute", "DescribeVolumes", "DescribeInstances", "DescribeInstanceStatus"} {
				line := checkLine(t, r.stdout, "ec2 permission "+action)
				if action == tc.deny {
					require.Contains(t, line, "DENIED")
					require.Contains(t, line, "unauthorized")
				} else {
					require.True(t, strings.HasPrefix(line, "ok"), "%s should be allowed:\n%s", action, r.stdout)
				}
			}

			// The dry runs named the real volume, owner and target, and the
			// tag keys the shipped policy allows; EC2 resolved every ID.
			j := d.ec2.Journal()
			for _, c := range j {
				if c.DryRun && c.Action != tc.deny {
					require.Equal(t, "DryRunOperation", c.Code, "%s %v: got %s", c.Action, c.Params, c.Code)
				}
				require.False(t, c.Mutating(), "check changed the world: %s", c.Action)
			}
			pick := func(action string) ec2sim.Call {
				for _, c := range j {
					if c.Action == action && c.DryRun {
						return c
					}
				}
				require.Failf(t, "no dry run", "of %s", action)
				return ec2sim.Call{}
			}
			att := pick("AttachVolume").Params
			require.Equal(t, []string{volB, hostB, "/dev/sdf"}, []string{att.Get("VolumeId"), att.Get("InstanceId"), att.Get("Device")}, "attach the volume to a peer")
			require.Equal(t, hostA, pick("StopInstances").Params.Get("InstanceId.1"), "fence the owner")
			require.Equal(t, hostA, pick("DetachVolume").Params.Get("InstanceId"), "detach from the owner")
			ct := pick("CreateTags").Params
			require.Equal(t, volB, ct.Get("ResourceId.1"))
			allowed := policyTagKeys(t)
			for i := 1; ct.Get(fmt.Sprintf("Tag.%d.Key", i)) != ""; i++ {
				k := ct.Get(fmt.Sprintf("Tag.%d.Key", i))
				require.Contains(t, allowed, k, "CreateTags dry run used tag key %q, which the IAM policy does not allow", k)
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
	d := newCheckDeps(t, nil)
	args := append([]string{"check", "--etcd-endpoints", closedURL(t), "--timeout", "500ms",
		"--aws-region", "us-east-1", "--ec2-endpoint", d.ec2URL, "--fleet-endpoint", d.fleetURL}, hostAIdentity...)
	r := runCLI(t, cliEnv(nil), args...)
	require.Equal(t, exitUnreachable, r.code, "stdout:\n%s", r.stdout)
	require.True(t, strings.HasPrefix(checkLine(t, r.stdout, "etcd"), "FAIL"))
	require.True(t, strings.HasPrefix(checkLine(t, r.stdout, "fleet"), "ok"))
	// Without the registry there is no failover target to dry-run against.
	require.True(t, strings.HasPrefix(checkLine(t, r.stdout, "ec2 permission AttachVolume"), "FAIL"))
	require.Contains(t, checkLine(t, r.stdout, "ec2 permission AttachVolume"), "no failover target")
}
