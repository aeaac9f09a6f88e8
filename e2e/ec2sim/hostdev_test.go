package ec2sim

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestHostDevices(t *testing.T) {
	root := t.TempDir()
	e := newEnv(t, worldSeed(), withRoot(root), withFakeClock(fixedLatencies))
	s := e.sim
	require.Equal(t, filepath.Join(root, "volumes", v2), s.VolumeDir(v2))
	require.Equal(t, filepath.Join(root, "hosts", i2), s.InstanceRoot(i2))
	for _, v := range []string{v1, v2, v3, v4} {
		require.DirExists(t, s.VolumeDir(v), "backing directory created on seed")
	}
	link := func(inst, dev string) string { return filepath.Join(s.InstanceRoot(inst), "dev", dev) }
	target, err := os.Readlink(link(i1, "xvdf"))
	require.NoError(t, err, "seeded attachment has its device")
	require.Equal(t, s.VolumeDir(v1), target)

	require.NoError(t, os.WriteFile(filepath.Join(s.VolumeDir(v2), "PG_VERSION"), []byte("15\n"), 0o644))
	_, err = e.attach(v2, i2, "/dev/xvdh")
	require.NoError(t, err)
	require.NoFileExists(t, link(i2, "xvdh"), "no device while attaching")
	e.clk.Step(2 * time.Second)
	data, err := os.ReadFile(filepath.Join(link(i2, "xvdh"), "PG_VERSION"))
	require.NoError(t, err, "volume data visible through the device once attached")
	require.Equal(t, "15\n", string(data))

	_, err = e.detach(v2, false)
	require.NoError(t, err)
	_, err = os.Lstat(link(i2, "xvdh"))
	require.NoError(t, err, "device stays while detaching")
	e.clk.Step(3 * time.Second)
	_, err = os.Lstat(link(i2, "xvdh"))
	require.True(t, os.IsNotExist(err), "device removed when the detach completes: %v", err)
	require.FileExists(t, filepath.Join(s.VolumeDir(v2), "PG_VERSION"), "the volume keeps its data")

	// Failover path: force detach from i1, attach to i2 as the same device.
	_, err = e.detach(v1, true)
	require.NoError(t, err)
	e.clk.Step(time.Second)
	_, err = os.Lstat(link(i1, "xvdf"))
	require.True(t, os.IsNotExist(err), "old owner lost the device")
	_, err = e.attach(v1, i2, "/dev/xvdf")
	require.NoError(t, err)
	e.clk.Step(2 * time.Second)
	target, err = os.Readlink(link(i2, "xvdf"))
	require.NoError(t, err)
	require.Equal(t, s.VolumeDir(v1), target)
}

func TestNoRootNoDevices(t *testing.T) {
	e := newEnv(t, worldSeed())
	require.Equal(t, "", e.sim.VolumeDir(v1))
	require.Equal(t, "", e.sim.InstanceRoot(i1))
}
