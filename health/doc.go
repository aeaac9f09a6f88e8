// Package health decides whether the host that owns a volume is alive, suspect or dead.
//
// A false failover is an outage volfailover caused itself, so the package keeps two
// things apart. The probes (ProbePostgres, ProbePostgresReady, HTTPProber) gather
// evidence and leave no trace on the probed host: the Postgres probes need no
// credentials and write nothing to the server log. The verdict (Policy.Decide) is pure
// code over an Observation, so every rule can be table-tested on an injected time and
// every Result says which signals produced it.
package health
