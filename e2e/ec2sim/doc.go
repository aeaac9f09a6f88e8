// Package ec2sim emulates the subset of the EC2 Query API that volfailover uses
// (DescribeVolumes, AttachVolume, DetachVolume, DescribeInstances,
// DescribeInstanceStatus, StopInstances, CreateTags), so that the real
// aws-sdk-go-v2 client can be tested against it over HTTP.
//
// The wire format, error codes, state machines and fault kinds follow
// /work/shared/specs/ec2-subset.md. The EC2 endpoint is served at "/"; a JSON
// test surface (seed, instance state, faults, journal, volumes) is served under
// "/_sim/" and mirrored by Go methods on *Sim.
//
// Transitions that AWS performs asynchronously (attach, detach, stop) complete
// on the injected clock after delays taken from a latency profile. With a zero
// delay (profile "instant") the mutation's own response still shows the
// intermediate state (attaching, detaching, stopping) and the transition is
// applied before the response leaves the server, so the next call sees it done.
package ec2sim
