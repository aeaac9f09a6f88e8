// Package bench measures volfailover where it matters to an operator: how long a
// volume's database is gone after its host dies (in the real-process sandbox),
// how long the cluster is leaderless after the leader's process is killed, how
// a real leader behaves with a thousand volumes and an AZ outage, and what an
// idle follower costs. The runner cmd/volfailover-bench writes the results as
// JSON and regenerates docs/benchmarks.md; the package's own tests only check
// that the harness works on a tiny size and never assert a timing.
package bench
