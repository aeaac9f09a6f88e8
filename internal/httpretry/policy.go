package httpretry

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net/http"
	"regexp"
	"strings"
)

// ErrNoResponse is what CheckRetry reports when an attempt yields neither a response nor
// an error. net/http never does that, so it means a broken RoundTripper, which a retry
// will not mend; stopping with an error also keeps a caller from reading a nil response.
var ErrNoResponse = errors.New("http attempt returned no response and no error")

// CheckRetry decides whether retryablehttp tries an attempt again. It is the policy of
// every HTTP client in volfailover:
//
//   - a finished context stops at once with ctx.Err(), so a cancelled or expired caller
//     is never kept waiting for a retry it no longer wants;
//   - a transport error is retried (refused, reset, timed out: the peer may be back a
//     moment later) unless Permanent says it can never succeed, in which case it stops
//     with that error;
//   - a response is retried when RetryableStatus says so (429 and 5xx but 501), and
//     otherwise handed to the caller as an answer, with a nil error so that the caller's
//     error handler still sees the body.
func CheckRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return false, ctxErr
	}
	if err != nil {
		if Permanent(err) {
			return false, err
		}
		return true, nil
	}
	if resp == nil {
		return false, ErrNoResponse
	}
	return RetryableStatus(resp.StatusCode), nil
}

// RetryableStatus reports whether an answer with this status may be different later:
// 429 (the server asks us to slow down) and 5xx (the server or something behind it is
// failing). 501 Not Implemented is the exception: the server does not support the
// method, and asking again will not change that. Every other status, 4xx above all, is
// the server's considered answer, and repeating the request would only repeat it.
func RetryableStatus(code int) bool {
	return code == http.StatusTooManyRequests || (code >= 500 && code != http.StatusNotImplemented)
}

// redirectsErrorRe matches net/http's default CheckRedirect giving up.
var redirectsErrorRe = regexp.MustCompile(`stopped after \d+ redirects`)

// permanentMessages are net/http's errors, without a type of their own, for a request
// that is malformed or aimed at a URL that cannot work: retrying sends the same request
// to the same place. "certificate is not trusted" is how macOS's verifier says it.
var permanentMessages = []string{
	"unsupported protocol scheme",
	"no Host in request URL",
	"invalid method",
	"invalid header",
	"certificate is not trusted",
}

// Permanent reports whether a transport error can never turn into success by trying
// again: the URL cannot work (bad scheme, no host), the request is malformed (invalid
// method or header), redirects loop, the server's certificate does not verify, or the
// server does not speak TLS on an https URL. These are configuration errors; retrying
// them only delays the report and, for the alert sinks, holds back a page. Every other
// transport error (refused, reset, timeout, DNS) is taken as transient.
func Permanent(err error) bool {
	if err == nil {
		return false
	}
	var (
		certErr      *tls.CertificateVerificationError
		unknownAuth  x509.UnknownAuthorityError
		hostnameErr  x509.HostnameError
		invalidCert  x509.CertificateInvalidError
		recordHeader tls.RecordHeaderError
	)
	switch {
	case errors.As(err, &certErr), errors.As(err, &unknownAuth), errors.As(err, &hostnameErr), errors.As(err, &invalidCert):
		return true
	case errors.Is(err, http.ErrSchemeMismatch), errors.As(err, &recordHeader):
		return true
	}
	msg := err.Error()
	if redirectsErrorRe.MatchString(msg) {
		return true
	}
	for _, m := range permanentMessages {
		if strings.Contains(msg, m) {
			return true
		}
	}
	return false
}
