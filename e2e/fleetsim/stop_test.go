package fleetsim

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The agent unloads a unit by triggering its stop and not waiting
// (agent/agent.go unloadUnit, systemd/manager.go TriggerStop); the unit's
// /state entry goes about a second later (unit/generator.go), while the
// process, here one that takes 60 s to exit, still runs. Only its
// TimeoutStopSec ends it early. An empty /state is therefore no proof that
// the process has exited.
func TestStateGoesBeforeProcessExits(t *testing.T) {
	tests := []struct {
		name     string
		timeout  string        // TimeoutStopSec= of the unit, "" = systemd's 90 s
		exitsIn  time.Duration // how long the process takes to exit
		killedAt time.Duration // when, after the trigger, it is gone
	}{
		{name: "exits by itself", exitsIn: 60 * time.Second, killedAt: 60 * time.Second},
		{name: "killed at TimeoutStopSec", timeout: "20", exitsIn: 60 * time.Second, killedAt: 20 * time.Second},
		{name: "default TimeoutStopSec is 90s", exitsIn: 5 * time.Minute, killedAt: 90 * time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.addMachine(idA, map[string]string{"postgres": "vol-1"})
			e.addMachine(idB, nil)
			e.exec.SetStopDelay(pgName, tc.exitsIn)
			body := pgUnit
			if tc.timeout != "" {
				body = `{"desiredState":"launched","options":[
 {"section":"Service","name":"ExecStart","value":"/usr/bin/postgres -D /data/%i"},
 {"section":"Service","name":"TimeoutStopSec","value":"` + tc.timeout + `"},
 {"section":"X-Fleet","name":"MachineMetadata","value":"postgres=%i"},
 {"section":"X-Fleet","name":"Conflicts","value":"postgres*"}]}`
			}
			e.must(201, "PUT", "/fleet/v1/units/"+pgName, body)
			e.sim.Start()
			e.eventually(func() bool {
				st := e.states("?unitName=" + pgName)
				return len(st) == 1 && st[0].SystemdActiveState == "active"
			}, "unit active in /state on %s", idA)

			// The switchover's first move: take the metadata off the owner.
			e.must(204, "PATCH", "/fleet/v1/machines", patchBody("remove", idA, "postgres", ""))
			e.eventually(func() bool { a, _ := e.exec.Status(idA, pgName); return a == "deactivating" }, "stop triggered on %s", idA)
			triggered := e.clk.Now()

			e.eventually(func() bool { return len(e.states("?unitName="+pgName)) == 0 }, "/state entry of %s removed", pgName)
			require.LessOrEqual(t, e.clk.Since(triggered), time.Second+advanceStep,
				"the entry goes within StateRemovalDelay of the trigger")
			a, sub := e.exec.Status(idA, pgName)
			require.Equal(t, []string{"deactivating", "stop-sigterm"}, []string{a, sub},
				"/state is empty while the process still runs")
			require.Equal(t, []string{pgName}, e.exec.Units(idA), "the executor still holds the process")

			e.eventually(func() bool { a, _ := e.exec.Status(idA, pgName); return a == "inactive" }, "process gone")
			gone := e.clk.Since(triggered)
			require.InDelta(t, tc.killedAt.Seconds(), gone.Seconds(), (2 * advanceStep).Seconds(),
				"process gone %s after the trigger, want %s", gone, tc.killedAt)
		})
	}
}

// A unit stopped to desired state "loaded" stays subscribed: /state shows it
// deactivating, then inactive, as its agent polls it.
func TestLoadedStopPublishesDeactivating(t *testing.T) {
	e := newEnv(t)
	e.addMachine(idA, nil)
	e.exec.SetStopDelay("web.service", 5*time.Second)
	e.putUnit("web.service", "/bin/web")
	e.sim.Start()
	e.eventually(func() bool { return equalIDs(e.sim.Running("web.service"), []string{idA}) }, "running")
	e.must(204, "PUT", "/fleet/v1/units/web.service", `{"desiredState":"loaded"}`)
	e.eventually(func() bool {
		st := e.states("?unitName=web.service")
		return len(st) == 1 && st[0].SystemdActiveState == "deactivating"
	}, "/state shows the stop in progress")
	e.eventually(func() bool {
		st := e.states("?unitName=web.service")
		return len(st) == 1 && st[0].SystemdActiveState == "inactive"
	}, "/state shows the unit stopped")
}

func TestTimeoutStopSec(t *testing.T) {
	tests := []struct {
		values []string
		want   time.Duration
		err    string
	}{
		{values: nil, want: 90 * time.Second},
		{values: []string{"15"}, want: 15 * time.Second},
		{values: []string{"1.5"}, want: 1500 * time.Millisecond},
		{values: []string{"500ms"}, want: 500 * time.Millisecond},
		{values: []string{"1min 30s"}, want: 90 * time.Second},
		{values: []string{"2min30s"}, want: 150 * time.Second},
		{values: []string{"1h"}, want: time.Hour},
		{values: []string{"10", "20"}, want: 20 * time.Second},
		{values: []string{"infinity"}, want: 0},
		{values: []string{"0"}, want: 0},
		{values: []string{"5 fortnights"}, err: `unknown unit "fortnights"`},
		{values: []string{"s"}, err: "want a number"},
		{values: []string{""}, err: "empty time span"},
	}
	for _, tc := range tests {
		t.Run(tc.want.String()+tc.err, func(t *testing.T) {
			u := UnitFile{Name: "x.service"}
			for _, v := range tc.values {
				u.Options = append(u.Options, UnitOption{Section: "Service", Name: "TimeoutStopSec", Value: v})
			}
			got, err := TimeoutStopSec(u)
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got, "TimeoutStopSec of %q: got %s want %s", tc.values, got, tc.want)
		})
	}
}
