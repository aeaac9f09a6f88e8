package fleetsim

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

const pgName = "postgres@vol-1.service"

func (e *env) unit(name string) schemaUnit {
	e.t.Helper()
	var u schemaUnit
	require.NoError(e.t, json.Unmarshal([]byte(e.must(200, "GET", "/fleet/v1/units/"+name, "")), &u))
	return u
}

func (e *env) states(query string) []*schemaUnitState {
	e.t.Helper()
	var p unitStatePage
	require.NoError(e.t, json.Unmarshal([]byte(e.must(200, "GET", "/fleet/v1/state"+query, "")), &p))
	return p.States
}

func (e *env) putUnit(name, execStart string, xfleet ...string) {
	e.t.Helper()
	opts := fmt.Sprintf(`{"section":"Service","name":"ExecStart","value":%q}`, execStart)
	for i := 0; i+1 < len(xfleet); i += 2 {
		opts += fmt.Sprintf(`,{"section":"X-Fleet","name":%q,"value":%q}`, xfleet[i], xfleet[i+1])
	}
	e.must(201, "PUT", "/fleet/v1/units/"+name, `{"desiredState":"launched","options":[`+opts+`]}`)
}

// expire advances the clock past the TTL of a machine that stopped
// heartbeating and waits until the engine has dropped it.
func (e *env) expire(id string) {
	e.t.Helper()
	e.step(testTTL)
	e.eventually(func() bool {
		e.sim.mu.Lock()
		defer e.sim.mu.Unlock()
		for _, m := range e.sim.liveMachinesLocked() {
			if m.id == id {
				return false
			}
		}
		return true
	}, "machine %s dropped out of the machine list", id)
}

// §9.1: pinned by MachineMetadata=postgres=%i the unit waits unscheduled when
// its host dies, and starts on a peer within one engine pass of the PATCH.
func TestPinnedUnitWaitsForMetadata(t *testing.T) {
	e := newEnv(t)
	for _, id := range []string{idA, idB, idC} {
		e.addMachine(id, nil)
	}
	e.must(204, "PATCH", "/fleet/v1/machines", patchBody("add", idA, "postgres", "vol-1"))
	e.sim.Start()
	e.must(201, "PUT", "/fleet/v1/units/"+pgName, pgUnit)
	e.waitRunning(pgName, idA)
	e.eventually(func() bool { return e.unit(pgName).CurrentState == "launched" }, "currentState launched")
	st := e.states("?machineID=" + idA + "&unitName=" + pgName)
	require.Len(t, st, 1)
	require.Equal(t, "active", st[0].SystemdActiveState)
	require.Equal(t, "running", st[0].SystemdSubState)
	require.Equal(t, "loaded", st[0].SystemdLoadState)
	require.Equal(t, e.sim.units[pgName].hash, st[0].Hash)

	require.NoError(t, e.sim.KillMachine(idA))
	require.Empty(t, e.sim.Running(pgName), "the dead host's processes died with it")
	e.sim.RunEngine()
	require.Equal(t, idA, e.unit(pgName).MachineID, "machineID names the dead host until its presence expires")

	e.expire(idA)
	e.waitAssigned(pgName, "")
	u := e.unit(pgName)
	require.Equal(t, "launched", u.DesiredState)
	require.Equal(t, "inactive", u.CurrentState)
	require.Empty(t, u.MachineID)
	e.sim.RunEngine()
	got, _ := e.sim.Assignment(pgName)
	require.Empty(t, got, "no other machine carries postgres=vol-1: the unit must wait")

	e.must(204, "PATCH", "/fleet/v1/machines", patchBody("add", idC, "postgres", "vol-1"))
	e.step(testEngine) // one engine pass
	e.waitRunning(pgName, idC)
	require.Equal(t, idC, e.unit(pgName).MachineID)
}

// §9.1 contrast: with plain constraints the unit moves by itself.
func TestUnconstrainedUnitMovesOnDeath(t *testing.T) {
	e := newEnv(t)
	e.addMachine(idA, nil)
	e.addMachine(idB, nil)
	e.sim.Start()
	e.putUnit("web.service", "/bin/web")
	e.waitRunning("web.service", idA)
	require.NoError(t, e.sim.KillMachine(idA))
	e.expire(idA)
	e.waitRunning("web.service", idB)
	// The dead machine's state entry is gone with its TTL; only B's remains.
	e.eventually(func() bool {
		st := e.states("?unitName=web.service")
		return len(st) == 1 && st[0].MachineID == idB
	}, "one /state entry, on %s", idB)
}

// §9.2: removing the metadata from a live owner unschedules the unit on the
// next engine pass; the owner's agent stops it.
func TestMetadataRemovalUnschedules(t *testing.T) {
	e := newEnv(t)
	e.addMachine(idA, map[string]string{"postgres": "vol-1"})
	e.addMachine(idB, nil)
	e.sim.Start()
	e.must(201, "PUT", "/fleet/v1/units/"+pgName, pgUnit)
	e.waitRunning(pgName, idA)

	e.must(204, "PATCH", "/fleet/v1/machines", patchBody("remove", idA, "postgres", ""))
	got, _ := e.sim.Assignment(pgName)
	require.Equal(t, idA, got, "fleet does not react to PATCH before the next engine tick")
	e.step(testEngine)
	e.waitAssigned(pgName, "")
	e.waitRunning(pgName)

	// Moving the key in one PATCH places it in the same pass that unschedules.
	e.must(204, "PATCH", "/fleet/v1/machines", patchBody("add", idA, "postgres", "vol-1"))
	e.step(testEngine)
	e.waitRunning(pgName, idA)
	e.must(204, "PATCH", "/fleet/v1/machines", `[`+
		`{"op":"remove","path":"/`+idA+`/metadata/postgres"},`+
		`{"op":"add","path":"/`+idB+`/metadata/postgres","value":{"value":"vol-1"}}]`)
	e.sim.mu.Lock()
	changed := e.sim.enginePassLocked()
	e.sim.mu.Unlock()
	require.Equal(t, map[string]bool{idA: true, idB: true}, changed)
	require.Equal(t, idB, e.sim.units[pgName].target)
	e.sim.kickAgents()
	e.waitRunning(pgName, idB)
}

// §9.3: dynamic metadata of a dead machine persists and applies again when
// the same ID rejoins.
func TestDeadMachineMetadataPersists(t *testing.T) {
	e := newEnv(t)
	e.addMachine(idA, nil)
	e.addMachine(idB, nil)
	e.must(204, "PATCH", "/fleet/v1/machines", patchBody("add", idA, "postgres", "vol-1"))
	e.sim.Start()
	e.must(201, "PUT", "/fleet/v1/units/"+pgName, pgUnit)
	e.waitRunning(pgName, idA)
	require.NoError(t, e.sim.KillMachine(idA))
	e.expire(idA)
	e.waitAssigned(pgName, "")
	require.NotContains(t, e.must(200, "GET", "/fleet/v1/machines", ""), idA)

	require.NoError(t, e.sim.ReviveMachine(idA))
	require.Contains(t, e.must(200, "GET", "/fleet/v1/machines", ""), `"metadata":{"postgres":"vol-1"}`)
	e.step(testEngine)
	e.waitRunning(pgName, idA)
}

// §9.4: remove is a tombstone that also hides config metadata.
func TestRemoveHidesConfigMetadata(t *testing.T) {
	e := newEnv(t)
	e.addMachine(idA, map[string]string{"postgres": "vol-1"})
	e.must(201, "PUT", "/fleet/v1/units/"+pgName, pgUnit)
	e.sim.RunEngine()
	require.Equal(t, idA, e.sim.units[pgName].target)
	e.must(204, "PATCH", "/fleet/v1/machines", patchBody("remove", idA, "postgres", ""))
	e.sim.RunEngine()
	require.Empty(t, e.sim.units[pgName].target)
	require.NotContains(t, e.must(200, "GET", "/fleet/v1/machines", ""), "postgres")
}

// §6.4 / §9.6 / §9.7 eligibility and placement, one engine pass each.
func TestPlacement(t *testing.T) {
	type unitSpec struct {
		name   string
		xfleet []string
	}
	tests := []struct {
		name     string
		machines map[string]map[string]string
		units    []unitSpec
		want     map[string]string // unit -> machine ("" = unscheduled)
	}{
		{
			name:     "fewest units then lowest ID, counting this pass",
			machines: map[string]map[string]string{idC: nil, idB: nil, idA: nil},
			units:    []unitSpec{{"u1.service", nil}, {"u2.service", nil}, {"u3.service", nil}, {"u4.service", nil}},
			want:     map[string]string{"u1.service": idA, "u2.service": idB, "u3.service": idC, "u4.service": idA},
		},
		{
			name:     "conflicts keep postgres units apart",
			machines: map[string]map[string]string{idA: nil, idB: nil},
			units: []unitSpec{
				{"postgres@vol-1.service", []string{"Conflicts", "postgres*"}},
				{"postgres@vol-2.service", []string{"Conflicts", "postgres*"}},
				{"postgres@vol-3.service", []string{"Conflicts", "postgres*"}},
			},
			want: map[string]string{"postgres@vol-1.service": idA, "postgres@vol-2.service": idB, "postgres@vol-3.service": ""},
		},
		{
			name:     "conflict in the other direction",
			machines: map[string]map[string]string{idA: nil},
			units:    []unitSpec{{"a.service", []string{"Conflicts", "postgres*"}}, {"postgres-exporter.service", nil}},
			want:     map[string]string{"a.service": idA, "postgres-exporter.service": ""},
		},
		{
			name:     "metadata AND across keys, OR within a key",
			machines: map[string]map[string]string{idA: {"az": "a"}, idB: {"az": "b", "disk": "ssd"}, idC: {"az": "c", "disk": "ssd"}},
			units:    []unitSpec{{"m.service", []string{"MachineMetadata", `"az=c" "az=b"`, "MachineMetadata", "disk=ssd"}}},
			want:     map[string]string{"m.service": idB},
		},
		{
			name:     "malformed metadata is ignored, negation never matches",
			machines: map[string]map[string]string{idA: {"role": "web"}},
			units:    []unitSpec{{"m.service", []string{"MachineMetadata", "a=1 b=2"}}, {"n.service", []string{"MachineMetadata", "role!=db"}}},
			want:     map[string]string{"m.service": idA, "n.service": ""},
		},
		{
			name:     "machine ID full and short",
			machines: map[string]map[string]string{idA: nil, idB: nil},
			units:    []unitSpec{{"f.service", []string{"MachineID", idB}}, {"s.service", []string{"MachineID", idB[:8]}}},
			want:     map[string]string{"f.service": idB, "s.service": idB},
		},
		{
			name:     "machine of a peer",
			machines: map[string]map[string]string{idA: nil, idB: nil},
			units:    []unitSpec{{"db.service", nil}, {"side.service", nil}, {"x.service", []string{"MachineOf", "side.service"}}},
			want:     map[string]string{"db.service": idA, "side.service": idB, "x.service": idB},
		},
		{
			name:     "specifiers %p %N %n",
			machines: map[string]map[string]string{idA: {"p": "app", "n": "app@1"}, idB: {"p": "app", "n": "app@1", "full": "app@1.service"}},
			units:    []unitSpec{{"app@1.service", []string{"MachineMetadata", "p=%p", "MachineMetadata", "n=%N", "MachineMetadata", "full=%n"}}},
			want:     map[string]string{"app@1.service": idB},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			for _, id := range sortedKeys(tc.machines) {
				e.addMachine(id, tc.machines[id])
			}
			for _, u := range tc.units {
				e.putUnit(u.name, "/bin/true", u.xfleet...)
			}
			e.sim.RunEngine()
			for name, want := range tc.want {
				got, ok := e.sim.Assignment(name)
				require.True(t, ok)
				require.Equal(t, want, got, "assignment of %s", name)
			}
		})
	}
}

// §9.6: no rebalancing once placed.
func TestNoRebalancing(t *testing.T) {
	e := newEnv(t)
	e.addMachine(idB, nil)
	for i := 1; i <= 3; i++ {
		e.putUnit(fmt.Sprintf("u%d.service", i), "/bin/true")
	}
	e.sim.RunEngine()
	e.addMachine(idA, nil)
	e.sim.RunEngine()
	for i := 1; i <= 3; i++ {
		got, _ := e.sim.Assignment(fmt.Sprintf("u%d.service", i))
		require.Equal(t, idB, got)
	}
	e.putUnit("u4.service", "/bin/true")
	e.sim.RunEngine()
	got, _ := e.sim.Assignment("u4.service")
	require.Equal(t, idA, got, "new work goes to the least-loaded machine")
}

// §6.6: global units run on every matching machine; metadata changes start
// and stop them within an agent pass.
func TestGlobalUnits(t *testing.T) {
	e := newEnv(t)
	e.addMachine(idA, map[string]string{"role": "db"})
	e.addMachine(idB, map[string]string{"role": "db"})
	e.addMachine(idC, map[string]string{"role": "web"})
	e.sim.Start()
	e.putUnit("agent.service", "/bin/agent", "Global", "true", "MachineMetadata", "role=db")
	e.waitRunning("agent.service", idA, idB)
	u := e.unit("agent.service")
	require.Empty(t, u.CurrentState, "a single GET of a global unit has no currentState")
	require.Empty(t, u.MachineID)
	require.Contains(t, e.must(200, "GET", "/fleet/v1/units", ""), `"currentState":"inactive","desiredState":"launched","name":"agent.service"`)
	require.Len(t, e.states("?unitName=agent.service"), 2)

	e.must(204, "PATCH", "/fleet/v1/machines", patchBody("replace", idC, "role", "db"))
	e.step(testAgent)
	e.waitRunning("agent.service", idA, idB, idC)
	e.must(204, "PATCH", "/fleet/v1/machines", patchBody("remove", idA, "role", ""))
	e.step(testAgent)
	e.waitRunning("agent.service", idB, idC)
}

// §8 partition: units keep running, the engine moves them after the TTL so
// two copies run; on heal the old agent stops its copy.
func TestPartitionAndHeal(t *testing.T) {
	e := newEnv(t)
	e.addMachine(idA, nil)
	e.addMachine(idB, nil)
	e.sim.Start()
	e.putUnit("web.service", "/bin/web")
	e.waitRunning("web.service", idA)
	require.NoError(t, e.sim.PartitionMachine(idA))
	e.expire(idA)
	e.waitRunning("web.service", idA, idB)
	require.NoError(t, e.sim.HealMachine(idA))
	e.waitRunning("web.service", idB)
}

// Desired state transitions and DELETE go through the agents.
func TestDesiredStatesAndDestroy(t *testing.T) {
	e := newEnv(t)
	e.addMachine(idA, nil)
	e.sim.Start()
	e.putUnit("web.service", "/bin/web")
	e.waitRunning("web.service", idA)

	e.must(204, "PUT", "/fleet/v1/units/web.service", `{"desiredState":"loaded"}`)
	e.waitRunning("web.service")
	e.eventually(func() bool {
		st := e.states("?unitName=web.service")
		return len(st) == 1 && st[0].SystemdActiveState == "inactive" && st[0].SystemdSubState == "dead"
	}, "loaded unit published as loaded/inactive/dead")
	require.Equal(t, "loaded", e.unit("web.service").CurrentState)

	e.must(204, "PUT", "/fleet/v1/units/web.service", `{"desiredState":"launched"}`)
	e.waitRunning("web.service", idA)
	e.must(204, "PUT", "/fleet/v1/units/web.service", `{"desiredState":"inactive"}`)
	e.waitAssigned("web.service", "")
	e.waitRunning("web.service")

	e.must(204, "PUT", "/fleet/v1/units/web.service", `{"desiredState":"launched"}`)
	e.waitRunning("web.service", idA)
	e.must(204, "DELETE", "/fleet/v1/units/web.service", "")
	require.Equal(t, []string{idA}, e.sim.Running("web.service"), "a delete fires no watch: the agent stops it on its tick")
	e.step(testAgent)
	e.waitRunning("web.service")
}

func TestFailingAndSlowStarts(t *testing.T) {
	e := newEnv(t)
	e.addMachine(idA, nil)
	e.exec.FailStarts("bad.service", true)
	e.exec.SetStartDelay("slow.service", 3*testEngine)
	e.sim.Start()
	e.putUnit("bad.service", "/bin/false")
	e.putUnit("slow.service", "/bin/slow")
	e.eventually(func() bool {
		st := e.states("?unitName=bad.service")
		return len(st) == 1 && st[0].SystemdActiveState == "failed" && st[0].SystemdSubState == "failed"
	}, "failed start published as failed/failed")
	e.eventually(func() bool {
		st := e.states("?unitName=slow.service")
		return len(st) == 1 && st[0].SystemdActiveState == "activating"
	}, "slow start published as activating")
	e.step(3 * testEngine)
	e.eventually(func() bool {
		st := e.states("?unitName=slow.service")
		return len(st) == 1 && st[0].SystemdActiveState == "active"
	}, "slow start becomes active after its delay")
}
