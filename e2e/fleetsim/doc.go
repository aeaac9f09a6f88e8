// Package fleetsim emulates fleet's HTTP API v1 together with fleet's
// scheduler: the engine that assigns units to machines and one agent per
// machine that starts and stops them through a pluggable Executor.
//
// It exists because the ordering hazards of a failover (a unit rescheduled
// before its volume is attached, metadata left on a dead machine, two copies
// running during a partition) live in fleet's scheduler, not in its API, so a
// plain HTTP stub cannot exercise them. Behaviour follows
// shared/specs/fleet-api-v1.md, which was checked against fleet's code.
//
// # Timing, by default fleet v1.0.0's own
//
// The paths below are in github.com/coreos/fleet at tag v1.0.0.
//
//   - Engine and agents are periodic reconcilers whose timer restarts from
//     every pass, and which pass once when they start (pkg/reconcile.go):
//     the engine every engine_reconcile_interval, 2 s (Options.EngineInterval),
//     each agent every 5 s (agent/reconcile.go, Options.AgentInterval).
//   - Each of them also has a registry watch on the job keys
//     (registry/event.go, wired in server/server.go). A watch returns the first
//     write, sleeps 1 s (Options.EngineWatchSleep, AgentWatchSleep), then wakes
//     its reconciler only if the write was a job's target or target-state;
//     writes made while it sleeps are lost to it. So: a PUT of desiredState
//     wakes the engine and every agent 1 s later; a PUT of the state a unit
//     already has does too, because registry/job.go SetUnitTargetState is an
//     unconditional etcd Set and etcd v2 notifies watchers of every Set; a
//     create wakes nobody, because CreateUnit writes the job's object first;
//     DELETE wakes nobody (a recursive delete); an agent's heartbeat write
//     (job-state) puts every watch to sleep without waking anyone; a metadata
//     PATCH is not under the job keys and is seen only by the timers.
//   - Unit states reach /state only on the agent's 1 s unit-state generator
//     tick (unit/generator.go, agent/unit_state.go; Options.StatePollInterval).
//   - Unloading a unit triggers its stop without waiting (agent/agent.go
//     unloadUnit, systemd/manager.go TriggerStop); the generator then drops
//     the unsubscribed unit and its /state entries for every machine go
//     (registry/unit_state.go RemoveUnitState) about 1 s after the trigger
//     (Options.StateRemovalDelay), while the process may still run until it
//     exits or its TimeoutStopSec (systemd's default 90 s) ends. Executors
//     model that: Executor.Stop only triggers, and reports "deactivating"
//     until the process is gone.
//
// Options.Instant drops the watches and runs the engine at once on every PUT,
// for tests of the scheduling rules; no fleet behaves so.
//
// # Versions
//
// Options.Version below 1.0.0 (e.g. "0.13.0") serves a fleet without dynamic
// machine metadata: PATCH /fleet/v1/machines answers 400 "only HTTP GET
// supported against this resource", as api/machines.go does at tags v0.11.0
// to v0.13.0; the PATCH arrived in v1.0.0 (commit 6a82e03c).
//
// # Test surface
//
// Besides the fleet routes under /fleet/v1 and /v1-alpha, a Sim serves a test
// surface under /_sim/ and offers the same controls as Go methods: add, kill,
// revive, partition and heal machines, run an engine pass, read the request
// journal and cut the API off from "etcd".
package fleetsim
