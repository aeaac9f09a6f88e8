// Package fleet is a client for fleet's HTTP API v1 (coreos/fleet), the scheduler that
// runs postgres@vol-….service on the host that carries the volume's machine metadata.
//
// It speaks the wire format of fleet's code rather than of its documentation where the
// two disagree (the PATCH value is an object, empty lists come back as {}, a final empty
// page may follow a full one), retries only what is safe to retry (connection errors, 429
// and 5xx), and validates every response before handing it on, because the failover
// controller acts on what it reads here.
//
// The failover needs fleet v1.0.0 or later: machine metadata PATCH does not exist in fleet
// 0.11 to 0.13, which refuse it with a 400. CheckMetadataPatch finds that out with a
// harmless empty PATCH before anything is fenced.
package fleet
