// Package fleet is a client for fleet's HTTP API v1 (coreos/fleet), the scheduler that
// runs postgres@vol-….service on the host that carries the volume's machine metadata.
//
// It speaks the wire format of fleet's code rather than of its documentation where the
// two disagree (the PATCH value is an object, empty lists come back as {}, a final empty
// page may follow a full one), retries only what is safe to retry (connection errors, 429
// and 5xx), and validates every response before handing it on, because the failover
// controller acts on what it reads here.
package fleet
