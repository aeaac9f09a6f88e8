// Package httpretry holds the one retry policy and the one zerolog adapter that every
// retrying HTTP client in volfailover shares: the fleet client, the alert sinks and the
// peer health probe.
//
// They used to carry a policy each, and the three disagreed on connection errors: one
// retried every transport error, one asked retryablehttp which are permanent and one
// dropped retryablehttp's reason. A request that can never succeed (an untrusted
// certificate, an unsupported scheme) was retried by one and not by another. Here the
// rule is written once; a caller states only how it differs, such as its backoff or its
// error handler, after NewClient.
package httpretry
