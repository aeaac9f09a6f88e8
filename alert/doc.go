// Package alert pages a human when volfailover acts, and makes the page durable.
//
// The controller hands an Event to an Outbox. Page writes it to etcd under
// <prefix>/outbox/ before anything is sent, optionally in a Txn guarded by the
// caller's leader key, so a deposed leader cannot enqueue and a leader that
// dies between deciding and sending loses nothing. Run, on the current
// leader, delivers every outbox entry to every configured Sink (PagerDuty
// Events API v2 and a generic JSON webhook), records which sinks have it,
// retries 429/5xx with backoff and drops 4xx with the reason. Dedup keys make
// a resend after a leader change harmless.
package alert
