package fleet

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/volfailover/volfailover/e2e/fleetsim"
)

// Machine IDs of the emulated cluster, in fleet's sort order.
const (
	simM1 = "1111111111111111aaaaaaaaaaaaaaaa"
	simM2 = "2222222222222222bbbbbbbbbbbbbbbb"
	simM3 = "3333333333333333cccccccccccccccc"
	simM4 = "4444444444444444dddddddddddddddd"
)

// postgresTemplate is the unit file of the Postgres template, as operators write it.
const postgresTemplate = `[Unit]
Description=Postgres on volume %i

[Service]
ExecStart=/usr/bin/docker run --rm --name pg-%i \
    -v /mnt/%i:/var/lib/postgresql/data postgres:15
ExecStop=/usr/bin/docker stop pg-%i

[X-Fleet]
MachineMetadata=postgres=%i
Conflicts=postgres*
`

// startSim runs a fleetsim cluster of four machines with short intervals, set explicitly,
// and a page size of 2, so that listing the machines takes two full pages and a final empty one.
func startSim(t *testing.T) *fleetsim.Sim {
	t.Helper()
	o := fleetsim.DefaultOptions()
	o.MachineTTL = 2 * time.Second
	o.EngineInterval = 50 * time.Millisecond
	o.AgentInterval = 50 * time.Millisecond
	o.StatePollInterval = 20 * time.Millisecond
	// fleet's real watch sleep is 1 s; the client is not what is timed here.
	o.EngineWatchSleep = 20 * time.Millisecond
	o.AgentWatchSleep = 20 * time.Millisecond
	o.StateRemovalDelay = 50 * time.Millisecond
	o.TokenLimit = 2
	sim, err := fleetsim.New(o)
	require.NoError(t, err)
	t.Cleanup(sim.Close)
	for i, id := range []string{simM1, simM2, simM3, simM4} {
		meta := map[string]string{"az": "us-east-1a"}
		if i%2 == 1 {
			meta["az"] = "us-east-1b"
		}
		require.NoError(t, sim.AddMachine(id, "10.0.0."+string(rune('1'+i)), meta))
	}
	sim.Start()
	return sim
}

func TestAgainstFleetsim(t *testing.T) {
	sim := startSim(t)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	c := newTestClient(t, srv.URL)
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Second)
	defer cancel()

	// List machines across pages.
	machines, err := c.Machines(ctx)
	require.NoError(t, err)
	require.Equal(t, []Machine{
		{ID: simM1, PrimaryIP: "10.0.0.1", Metadata: map[string]string{"az": "us-east-1a"}},
		{ID: simM2, PrimaryIP: "10.0.0.2", Metadata: map[string]string{"az": "us-east-1b"}},
		{ID: simM3, PrimaryIP: "10.0.0.3", Metadata: map[string]string{"az": "us-east-1a"}},
		{ID: simM4, PrimaryIP: "10.0.0.4", Metadata: map[string]string{"az": "us-east-1b"}},
	}, machines)
	var machineGets int
	for _, r := range sim.Journal() {
		if r.Method == http.MethodGet && r.Path == "/fleet/v1/machines" {
			machineGets++
		}
	}
	require.Equal(t, 3, machineGets, "two full pages and a final empty one")

	// PATCH add and remove, then read back.
	require.NoError(t, c.PatchMetadata(ctx, []MetadataOp{
		{Op: OpAdd, MachineID: simM3, Key: "postgres", Value: "vol-123"},
		{Op: OpReplace, MachineID: simM1, Key: "role", Value: "standby"},
		{Op: OpRemove, MachineID: simM2, Key: "az"},
	}))
	require.Equal(t, map[string]map[string]string{
		simM1: {"az": "us-east-1a", "role": "standby"},
		simM2: {},
		simM3: {"az": "us-east-1a", "postgres": "vol-123"},
		simM4: {"az": "us-east-1b"},
	}, metadataByID(t, c, ctx))
	require.NoError(t, c.PatchMetadata(ctx, []MetadataOp{{Op: OpRemove, MachineID: simM1, Key: "role"}}))
	require.Equal(t, map[string]string{"az": "us-east-1a"}, metadataByID(t, c, ctx)[simM1])

	// Create the instance from unit file text and launch it.
	const name = "postgres@vol-123.service"
	opts, err := ParseUnitFile(postgresTemplate)
	require.NoError(t, err)
	require.NoError(t, c.CreateUnit(ctx, name, opts, StateLaunched))
	u, err := c.Unit(ctx, name)
	require.NoError(t, err)
	require.Equal(t, StateLaunched, u.DesiredState)
	require.ElementsMatch(t, opts, u.Options)

	owner := waitAssigned(t, c, ctx, name, "")
	require.Equal(t, simM3, owner, "the only machine carrying postgres=vol-123")
	require.NoError(t, c.WaitUnitActive(ctx, name, owner, 20*time.Millisecond))
	require.Equal(t, []string{simM3}, sim.Running(name))
	states, err := c.UnitStates(ctx, owner, name)
	require.NoError(t, err)
	require.Len(t, states, 1)
	require.Equal(t, "active", states[0].SystemdActiveState)
	require.Len(t, states[0].Hash, 40)

	// Move the metadata: the engine unschedules the unit from m3 and places it on m4.
	require.NoError(t, c.PatchMetadata(ctx, []MetadataOp{
		{Op: OpRemove, MachineID: simM3, Key: "postgres"},
		{Op: OpAdd, MachineID: simM4, Key: "postgres", Value: "vol-123"},
	}))
	require.NoError(t, c.WaitUnitStopped(ctx, name, simM3, 20*time.Millisecond))
	owner = waitAssigned(t, c, ctx, name, simM3)
	require.Equal(t, simM4, owner)
	require.NoError(t, c.WaitUnitActive(ctx, name, owner, 20*time.Millisecond))

	units, err := c.Units(ctx)
	require.NoError(t, err)
	require.Len(t, units, 1)
	require.Equal(t, name, units[0].Name)
	require.Equal(t, simM4, units[0].MachineID)

	// Set inactive: the unit stops on its machine.
	require.NoError(t, c.SetUnitTargetState(ctx, name, StateInactive))
	require.NoError(t, c.WaitUnitStopped(ctx, name, owner, 20*time.Millisecond))
	require.Empty(t, sim.Running(name))
	u, err = c.Unit(ctx, name)
	require.NoError(t, err)
	require.Equal(t, StateInactive, u.DesiredState)

	// Destroy it, twice.
	require.NoError(t, c.DestroyUnit(ctx, name))
	_, err = c.Unit(ctx, name)
	require.ErrorIs(t, err, ErrNotFound)
	require.ErrorIs(t, c.DestroyUnit(ctx, name), ErrNotFound)
	units, err = c.Units(ctx)
	require.NoError(t, err)
	require.Empty(t, units)
}

func TestFleetsimErrors(t *testing.T) {
	sim := startSim(t)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	c := newTestClient(t, srv.URL, func(cfg *Config) { cfg.RetryMax = 0 })
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()

	err := c.SetUnitTargetState(ctx, "missing.service", StateLaunched)
	require.ErrorIs(t, err, ErrConflict)
	var apiErr *APIError
	require.ErrorAs(t, err, &apiErr)
	require.Equal(t, "unit does not exist and options field empty", apiErr.Message)

	_, err = c.Unit(ctx, "missing.service")
	require.ErrorIs(t, err, ErrNotFound)
	require.ErrorAs(t, err, &apiErr)
	require.Equal(t, "unit does not exist", apiErr.Message)

	states, err := c.UnitStates(ctx, simM1, "")
	require.NoError(t, err)
	require.Empty(t, states)

	sim.SetEtcdCutOff(true)
	_, err = c.Machines(ctx)
	require.ErrorAs(t, err, &apiErr)
	require.Equal(t, http.StatusServiceUnavailable, apiErr.StatusCode)
	require.Equal(t, "fleet server unable to communicate with etcd", apiErr.Message)
	sim.SetEtcdCutOff(false)
	machines, err := c.Machines(ctx)
	require.NoError(t, err)
	require.Len(t, machines, 4)
}

func TestFleetsimOverUnixSocket(t *testing.T) {
	sim := startSim(t)
	sock := filepath.Join(t.TempDir(), "fleet.sock")
	l, err := net.Listen("unix", sock)
	require.NoError(t, err)
	srv := httptest.NewUnstartedServer(sim)
	require.NoError(t, srv.Listener.Close())
	srv.Listener = l
	srv.Start()
	t.Cleanup(srv.Close)

	c := newTestClient(t, "unix://"+sock)
	machines, err := c.Machines(t.Context())
	require.NoError(t, err)
	require.Len(t, machines, 4)
}

// metadataByID lists the machines and returns their metadata by machine ID.
func metadataByID(t *testing.T, c *Client, ctx context.Context) map[string]map[string]string {
	t.Helper()
	machines, err := c.Machines(ctx)
	require.NoError(t, err)
	out := map[string]map[string]string{}
	for _, m := range machines {
		out[m.ID] = m.Metadata
	}
	return out
}

// waitAssigned waits until fleet reports the unit scheduled on a machine other than not
// and returns that machine.
func waitAssigned(t *testing.T, c *Client, ctx context.Context, name, not string) string {
	t.Helper()
	var owner string
	require.EventuallyWithT(t, func(ct *assert.CollectT) {
		u, err := c.Unit(ctx, name)
		require.NoError(ct, err)
		require.NotEmpty(ct, u.MachineID, "unit %s not scheduled yet", name)
		require.NotEqual(ct, not, u.MachineID, "unit %s still on %s", name, not)
		owner = u.MachineID
	}, 10*time.Second, 20*time.Millisecond, "unit %s scheduled on a machine other than %q", name, not)
	return owner
}

// TestWaitUnitStoppedIsNoProofOfExit pins what fleet can and cannot say: when
// a unit is set inactive, fleet's agent triggers the stop without waiting and
// drops the unit's /state entry about a second later, so WaitUnitStopped
// returns while a slow process (here one that needs 30 s to exit, like a
// Postgres checkpoint or `docker stop -t 110`) still runs. A caller that must
// know the process has exited needs another proof.
func TestWaitUnitStoppedIsNoProofOfExit(t *testing.T) {
	sim := startSim(t)
	exec := sim.Executor().(*fleetsim.MemExecutor)
	exec.SetStopDelay("postgres@vol-9.service", 30*time.Second)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	c := newTestClient(t, srv.URL)
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Second)
	defer cancel()

	const name = "postgres@vol-9.service"
	require.NoError(t, c.PatchMetadata(ctx, []MetadataOp{{Op: OpAdd, MachineID: simM1, Key: "postgres", Value: "vol-9"}}))
	opts, err := ParseUnitFile(postgresTemplate)
	require.NoError(t, err)
	require.NoError(t, c.CreateUnit(ctx, name, opts, StateLaunched))
	require.NoError(t, c.WaitUnitActive(ctx, name, simM1, 20*time.Millisecond))

	require.NoError(t, c.SetUnitTargetState(ctx, name, StateInactive))
	require.NoError(t, c.WaitUnitStopped(ctx, name, simM1, 20*time.Millisecond))
	active, sub := exec.Status(simM1, name)
	require.Equal(t, []string{"deactivating", "stop-sigterm"}, []string{active, sub},
		"WaitUnitStopped returned while the process still runs: got %s/%s", active, sub)
}
