package httpretry

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

// urlErr wraps err the way http.Client.Do does.
func urlErr(err error) error {
	return &url.Error{Op: "Get", URL: "http://127.0.0.1:1/healthz", Err: err}
}

func TestCheckRetry(t *testing.T) {
	done, cancel := context.WithCancel(t.Context())
	cancel()
	refused := urlErr(&net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)})
	reset := urlErr(&net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ECONNRESET)})
	untrusted := urlErr(&tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}})
	resp := func(code int) *http.Response { return &http.Response{StatusCode: code, Status: http.StatusText(code)} }

	cases := []struct {
		name      string
		ctx       context.Context
		resp      *http.Response
		err       error
		wantRetry bool
		wantErr   error // nil: no error
	}{
		{name: "ctx done beats a retryable status", ctx: done, resp: resp(503), wantErr: context.Canceled},
		{name: "ctx done beats a connection error", ctx: done, err: refused, wantErr: context.Canceled},
		{name: "connection refused", err: refused, wantRetry: true},
		{name: "connection reset", err: reset, wantRetry: true},
		{name: "untrusted certificate", err: untrusted, wantErr: untrusted},
		{name: "unsupported scheme", err: urlErr(errors.New(`unsupported protocol scheme "ftp"`)), wantErr: errAny},
		{name: "200", resp: resp(200)},
		{name: "400", resp: resp(400)},
		{name: "404", resp: resp(404)},
		{name: "409", resp: resp(409)},
		{name: "429", resp: resp(429), wantRetry: true},
		{name: "500", resp: resp(500), wantRetry: true},
		{name: "501", resp: resp(501)},
		{name: "502", resp: resp(502), wantRetry: true},
		{name: "503", resp: resp(503), wantRetry: true},
		{name: "nil resp and nil err", wantErr: ErrNoResponse},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := tc.ctx
			if ctx == nil {
				ctx = t.Context()
			}
			retry, err := CheckRetry(ctx, tc.resp, tc.err)
			require.Equal(t, tc.wantRetry, retry, "retry: got %v want %v", retry, tc.wantRetry)
			switch {
			case tc.wantErr == nil:
				require.NoError(t, err)
			case tc.wantErr == errAny:
				require.Error(t, err)
			default:
				require.ErrorIs(t, err, tc.wantErr)
			}
		})
	}
}

// errAny asks only that there be an error.
var errAny = errors.New("any error")

func TestRetryableStatus(t *testing.T) {
	cases := []struct {
		code int
		want bool
	}{
		{200, false}, {204, false}, {301, false}, {400, false}, {401, false}, {403, false},
		{404, false}, {409, false}, {422, false}, {429, true}, {500, true}, {501, false},
		{502, true}, {503, true}, {504, true}, {599, true},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprint(tc.code), func(t *testing.T) {
			require.Equal(t, tc.want, RetryableStatus(tc.code), "status %d: got %v want %v", tc.code, !tc.want, tc.want)
		})
	}
}

func TestPermanent(t *testing.T) {
	cases := []struct {
		name string
		err  error
		want bool
	}{
		{name: "nil", err: nil},
		{name: "connection refused", err: urlErr(&net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)})},
		{name: "timeout", err: urlErr(context.DeadlineExceeded)},
		{name: "dns", err: urlErr(&net.DNSError{Err: "no such host", Name: "fleet.invalid", IsNotFound: true})},
		{name: "cert verification", err: urlErr(&tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}), want: true},
		{name: "unknown authority unwrapped", err: urlErr(x509.UnknownAuthorityError{}), want: true},
		{name: "hostname mismatch", err: urlErr(x509.HostnameError{Host: "fleet"}), want: true},
		{name: "expired cert", err: urlErr(x509.CertificateInvalidError{Reason: x509.Expired}), want: true},
		{name: "macOS untrusted", err: urlErr(errors.New("x509: “fleet” certificate is not trusted")), want: true},
		{name: "http answer to https", err: urlErr(http.ErrSchemeMismatch), want: true},
		{name: "not tls at all", err: urlErr(tls.RecordHeaderError{Msg: "first record does not look like a TLS handshake"}), want: true},
		{name: "unsupported scheme", err: urlErr(errors.New(`unsupported protocol scheme "ftp"`)), want: true},
		{name: "no host", err: urlErr(errors.New("http: no Host in request URL")), want: true},
		{name: "invalid header", err: urlErr(errors.New(`net/http: invalid header field value for "X-Token"`)), want: true},
		{name: "redirect loop", err: urlErr(errors.New("stopped after 10 redirects")), want: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, Permanent(tc.err), "Permanent(%v): got %v want %v", tc.err, !tc.want, tc.want)
		})
	}
}

// TestCheckRetryRealServer drives a real client against real failures, so that the
// errors the policy sees are net/http's, not hand-built ones.
func TestCheckRetryRealServer(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closedAddr := l.Addr().String()
	require.NoError(t, l.Close())
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	tlsSrv := httptest.NewTLSServer(ok)
	t.Cleanup(tlsSrv.Close)
	plainSrv := httptest.NewServer(ok)
	t.Cleanup(plainSrv.Close)

	cases := []struct {
		name      string
		url       string
		wantRetry bool
	}{
		{name: "connection refused", url: "http://" + closedAddr + "/", wantRetry: true},
		{name: "unsupported scheme", url: "ftp://" + closedAddr + "/"},
		{name: "untrusted certificate", url: tlsSrv.URL + "/"},
		{name: "http answer to https", url: "https://" + plainSrv.Listener.Addr().String() + "/"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, tc.url, nil)
			require.NoError(t, err)
			c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
			resp, doErr := c.Do(req)
			if resp != nil {
				_ = resp.Body.Close()
			}
			require.Error(t, doErr)
			retry, _ := CheckRetry(t.Context(), resp, doErr)
			require.Equal(t, tc.wantRetry, retry, "retry after %v: got %v want %v", doErr, retry, tc.wantRetry)
		})
	}
}
