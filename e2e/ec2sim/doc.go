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
//
// Where real EC2 differs from a naive emulator in ways volfailover can see,
// the Sim follows EC2, and docs/sandbox.md ("What the EC2 emulator models,
// and from which source") lists each behaviour with its source:
//
//   - instance types (SeedInstance.InstanceType, default m6i.large): a Xen
//     type shows an attached volume under its xvd name, a Nitro type as an
//     NVMe namespace linked by volume ID under dev/disk/by-id (AWS "Device
//     names for volumes on Amazon EC2 instances", "Amazon EBS and NVMe"); Xen
//     types with block instance store hold /dev/sdb and /dev/xvdb, and an
//     attach there answers "already in use" (same device-names page,
//     "Instance store volumes for EC2 instances");
//   - the four stop methods (AWS "Methods for stopping an instance";
//     aws-sdk-go-v2 service/ec2 StopInstancesInput.Force and SkipOsShutdown):
//     a default or Force stop keeps the guest running (GuestRunning) for the
//     stop time, SkipOsShutdown ends it at once and stops sooner, also when
//     sent to an instance already stopping; stop protection (DisableAPIStop)
//     refuses with OperationNotPermitted (AWS's message as recorded in
//     cloud-custodian/cloud-custodian#8007);
//   - eventual consistency (AWS "Eventual consistency in the Amazon EC2
//     API"): describes answer with the state of Latencies.DescribeLag ago;
//   - request throttling (AWS "Request throttling for the Amazon EC2 API"):
//     a token bucket per action with AWS's published sizes, on by default
//     in aws-typical, with an optional background load (buckets.go);
//   - a request is applied once received: a latency fault delays only the
//     answer, and a client that gives up leaves the call applied (AWS
//     "Ensuring idempotency in Amazon EC2 API requests").
package ec2sim
