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
// Besides the fleet routes under /fleet/v1 and /v1-alpha, a Sim serves a test
// surface under /_sim/ and offers the same controls as Go methods: add, kill,
// revive, partition and heal machines, run an engine pass, read the request
// journal and cut the API off from "etcd".
package fleetsim
