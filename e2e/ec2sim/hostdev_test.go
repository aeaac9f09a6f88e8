package ec2sim

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// An attached volume shows up where the guest kernel would put it: under its
// xvd name on Xen, as an NVMe namespace linked by volume ID on Nitro.
func TestHostDevices(t *testing.T) {
	for _, tc := range []struct {
		typ string
		// node returns the path, relative to the host's dev directory, where
		// volume vol attached as device (nth NVMe namespace n) appears.
		node func(vol, device string, n int) string
		// absent is a path that must not exist for the first attachment.
		absent string
	}{
		{"m3.medium", func(_, device string, _ int) string { return xenName(device) }, "nvme1n1"},
		{"m6i.large", func(vol, _ string, _ int) string { return filepath.Join("disk", "by-id", NVMeByIDName(vol)) }, "xvdf"},
	} {
		t.Run(tc.typ, func(t *testing.T) {
			root := t.TempDir()
			seed := worldSeed()
			for i := range seed.Instances {
				seed.Instances[i].InstanceType = tc.typ
			}
			e := newEnv(t, seed, withRoot(root), withFakeClock(fixedLatencies))
			s := e.sim
			require.Equal(t, filepath.Join(root, "volumes", v2), s.VolumeDir(v2))
			require.Equal(t, filepath.Join(root, "hosts", i2), s.InstanceRoot(i2))
			for _, v := range []string{v1, v2, v3, v4} {
				require.DirExists(t, s.VolumeDir(v), "backing directory created on seed")
			}
			link := func(inst, vol, dev string) string {
				return filepath.Join(s.InstanceRoot(inst), "dev", tc.node(vol, dev, 1))
			}
			resolved := func(p string) string {
				t.Helper()
				got, err := filepath.EvalSymlinks(p)
				require.NoError(t, err, "%s must resolve", p)
				return got
			}
			want := func(vol string) string {
				got, err := filepath.EvalSymlinks(s.VolumeDir(vol))
				require.NoError(t, err)
				return got
			}
			require.Equal(t, want(v1), resolved(link(i1, v1, "/dev/xvdf")), "seeded attachment has its device")
			require.NoFileExists(t, filepath.Join(s.InstanceRoot(i1), "dev", tc.absent))

			require.NoError(t, os.WriteFile(filepath.Join(s.VolumeDir(v2), "PG_VERSION"), []byte("15\n"), 0o644))
			_, err := e.attach(v2, i2, "/dev/sdh")
			require.NoError(t, err)
			require.NoFileExists(t, link(i2, v2, "/dev/sdh"), "no device while attaching")
			e.clk.Step(2 * time.Second)
			data, err := os.ReadFile(filepath.Join(link(i2, v2, "/dev/sdh"), "PG_VERSION"))
			require.NoError(t, err, "volume data visible through the device once attached")
			require.Equal(t, "15\n", string(data))

			_, err = e.detach(v2, false)
			require.NoError(t, err)
			_, err = os.Lstat(link(i2, v2, "/dev/sdh"))
			require.NoError(t, err, "device stays while detaching")
			e.clk.Step(3 * time.Second)
			_, err = os.Lstat(link(i2, v2, "/dev/sdh"))
			require.True(t, os.IsNotExist(err), "device removed when the detach completes: %v", err)
			entries, err := os.ReadDir(filepath.Join(s.InstanceRoot(i2), "dev"))
			require.NoError(t, err)
			for _, en := range entries {
				require.True(t, en.IsDir(), "a device node of the detached volume is left: %s", en.Name())
			}
			require.FileExists(t, filepath.Join(s.VolumeDir(v2), "PG_VERSION"), "the volume keeps its data")

			// Failover path: force detach from i1, attach to i2.
			_, err = e.detach(v1, true)
			require.NoError(t, err)
			e.clk.Step(time.Second)
			_, err = os.Lstat(link(i1, v1, "/dev/xvdf"))
			require.True(t, os.IsNotExist(err), "old owner lost the device")
			_, err = e.attach(v1, i2, "/dev/sdf")
			require.NoError(t, err)
			e.clk.Step(2 * time.Second)
			require.Equal(t, want(v1), resolved(link(i2, v1, "/dev/sdf")))
		})
	}
}

// Instance store that is a block device takes /dev/sdb (/dev/xvdb to the
// Container Linux AMI) on the Xen types that have it; EC2 refuses an EBS
// attach there as it refuses a name another volume holds. Nitro types and
// Xen types without block instance store accept the name.
func TestInstanceStoreTakesSdb(t *testing.T) {
	for _, tc := range []struct {
		typ, device string
		refused     bool
	}{
		{"m3.medium", "/dev/xvdb", true},
		{"c3.large", "/dev/sdb", true},
		{"d2.xlarge", "/dev/xvdb", true},
		{"m3.medium", "/dev/sdf", false},
		{"t2.micro", "/dev/xvdb", false},
		{"m5.large", "/dev/xvdb", false},
	} {
		t.Run(tc.typ+" "+tc.device, func(t *testing.T) {
			seed := worldSeed()
			seed.Instances[1].InstanceType = tc.typ
			e := newEnv(t, seed)
			_, err := e.attach(v2, i2, tc.device)
			if !tc.refused {
				require.NoError(t, err)
				require.Equal(t, tc.typ, string(e.instance(i2).InstanceType))
				return
			}
			code, status := apiCode(t, err)
			require.Equal(t, "InvalidParameterValue", code)
			require.Equal(t, 400, status)
			require.ErrorContains(t, err, "Attachment point "+tc.device+" is already in use")
		})
	}
	seed := worldSeed()
	seed.Instances[0].InstanceType = "m3.medium"
	seed.Volumes[0].Attachment.Device = "/dev/xvdb"
	require.ErrorContains(t, seed.validate(nil), "taken by the instance store")
}

// The mount helper that postgres-volume@.service runs finds the volume in
// the device tree the Sim makes: by volume ID on Nitro, by the one
// unmounted name of the range on Xen; it waits (exit 1) while the volume is
// not attached, and refuses to guess (exit 2) between two Xen candidates.
func TestMountHelperFindsVolume(t *testing.T) {
	script, err := filepath.Abs(filepath.Join("..", "..", "docs", "deploy", "volfailover-ebs-device"))
	require.NoError(t, err)
	run := func(t *testing.T, s *Sim, inst, vol string) (string, int) {
		t.Helper()
		cmd := exec.Command("sh", script, vol)
		cmd.Env = append(os.Environ(), "DEV_ROOT="+s.InstanceRoot(inst), "DEVICE_TEST=-e", "MOUNTS=/dev/null")
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return stderr.String(), ee.ExitCode()
		}
		require.NoError(t, err)
		return strings.TrimSpace(string(out)), 0
	}
	for _, tc := range []struct {
		typ            string
		twoIsAmbiguous bool
	}{
		{"m6i.large", false},
		{"c4.large", true},
	} {
		t.Run(tc.typ, func(t *testing.T) {
			seed := worldSeed()
			seed.Instances[1].InstanceType = tc.typ
			e := newEnv(t, seed, withRoot(t.TempDir()))
			s := e.sim
			want := func(vol string) string {
				p, err := filepath.EvalSymlinks(s.VolumeDir(vol))
				require.NoError(t, err)
				return p
			}
			_, code := run(t, s, i2, v2)
			require.Equal(t, 1, code, "not attached yet: the helper keeps waiting")

			_, err := e.attach(v2, i2, "/dev/sdg")
			require.NoError(t, err)
			got, code := run(t, s, i2, v2)
			require.Equal(t, 0, code, got)
			require.Equal(t, want(v2), got)

			// A second volume in the range: Nitro still finds each by ID.
			_, err = e.detach(v1, true)
			require.NoError(t, err)
			_, err = e.attach(v1, i2, "/dev/sdf")
			require.NoError(t, err)
			got, code = run(t, s, i2, v2)
			if tc.twoIsAmbiguous {
				require.Equal(t, 2, code, "got %q", got)
				require.Contains(t, got, "several unmounted EBS devices")
				return
			}
			require.Equal(t, 0, code, got)
			require.Equal(t, want(v2), got)
			got, code = run(t, s, i2, v1)
			require.Equal(t, 0, code, got)
			require.Equal(t, want(v1), got)
		})
	}
}
