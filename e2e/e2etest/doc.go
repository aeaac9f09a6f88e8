// Package e2etest holds volfailover's end-to-end and chaos tests: each
// scenario drives a sandbox of real processes (etcd, the EC2 and fleet
// emulators, the volfailover binary on every host, PostgreSQL 15) while a
// Monitor watches the design's five safety invariants and fails the test on
// the first violation, saying which invariant broke, when, and what led to it.
//
// The tests carry the build tag e2e and run with `make e2e`
// (go test -race -count=1 -timeout 15m -tags e2e ./e2e/e2etest/). They need
// PostgreSQL 15 at /usr/lib/postgresql/15/bin; the partition scenarios (whole
// host, pairwise, one-way) also need root and iptables and are skipped
// without them. Environment:
//
//   - SANDBOX_VOLFAILOVER_BIN: a prebuilt volfailover binary (default: built
//     once from this tree by TestMain);
//   - E2E_CHAOS_DURATION: how long the chaos run injects faults (default 2m);
//   - E2E_CHAOS_SEED: replay the chaos run's sequence of faults (the seed is
//     printed at its start and with every failure).
package e2etest
