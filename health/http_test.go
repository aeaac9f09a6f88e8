package health

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"
)

// healthServer answers /healthz with status and body, counting the requests.
func healthServer(t *testing.T, status int, body string) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if r.URL.Path != "/healthz" || r.Method != http.MethodGet {
			http.NotFound(w, r)
			return
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

// hangingServer never answers; each handler returns when its client goes away.
func hangingServer(t *testing.T) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		<-r.Context().Done()
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

func TestHTTPProberStatus(t *testing.T) {
	cases := []struct {
		name     string
		status   int
		body     string
		wantErr  []string
		attempts int32 // requests the server must have seen with RetryMax 1
	}{
		{name: "200", status: http.StatusOK, body: "ok", attempts: 1},
		{name: "204", status: http.StatusNoContent, attempts: 1},
		{name: "500 retried once", status: http.StatusInternalServerError, body: "etcd session lost",
			wantErr: []string{"status 500 Internal Server Error", `"etcd session lost"`}, attempts: 2},
		{name: "503 retried once", status: http.StatusServiceUnavailable, wantErr: []string{"status 503"}, attempts: 2},
		{name: "429 retried once", status: http.StatusTooManyRequests, wantErr: []string{"status 429"}, attempts: 2},
		{name: "404 not retried", status: http.StatusNotFound, wantErr: []string{"status 404 Not Found"}, attempts: 1},
		{name: "long body cut", status: http.StatusBadGateway, body: strings.Repeat("x", 10000),
			wantErr: []string{"status 502"}, attempts: 2},
	}
	p, err := NewHTTPProber(DefaultHTTPProberOptions())
	require.NoError(t, err)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv, hits := healthServer(t, tc.status, tc.body)
			err := p.Probe(t.Context(), srv.URL+"/healthz")
			if len(tc.wantErr) == 0 {
				require.NoError(t, err)
			} else {
				require.Error(t, err)
				require.Less(t, len(err.Error()), 600, "error should carry a bounded piece of the body")
				for _, w := range tc.wantErr {
					require.Contains(t, err.Error(), w)
				}
			}
			require.Equal(t, tc.attempts, hits.Load(), "requests seen by the server")
		})
	}
}

func TestHTTPProberZeroValueUsesDefaults(t *testing.T) {
	srv, hits := healthServer(t, http.StatusInternalServerError, "")
	var p HTTPProber
	require.ErrorContains(t, p.Probe(t.Context(), srv.URL+"/healthz"), "status 500")
	require.Equal(t, int32(DefaultHTTPRetryMax+1), hits.Load())
}

func TestHTTPProberHangTimesOut(t *testing.T) {
	srv, hits := hangingServer(t)
	o := DefaultHTTPProberOptions()
	o.Timeout = 200 * time.Millisecond
	p, err := NewHTTPProber(o)
	require.NoError(t, err)
	start := time.Now()
	err = p.Probe(t.Context(), srv.URL+"/healthz")
	elapsed := time.Since(start)
	require.Error(t, err)
	require.Contains(t, err.Error(), "Client.Timeout exceeded")
	require.Equal(t, int32(2), hits.Load(), "one attempt and one retry")
	// Two attempts of 200 ms and one wait of 50 ms.
	require.GreaterOrEqual(t, elapsed, 2*o.Timeout)
	require.Less(t, elapsed, 2*o.Timeout+o.RetryWaitMax+time.Second, "per-attempt timeout not honoured")
}

func TestHTTPProberContextCancel(t *testing.T) {
	srv, hits := hangingServer(t)
	o := DefaultHTTPProberOptions()
	o.Timeout = 5 * time.Second
	o.RetryMax = 3
	p, err := NewHTTPProber(o)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(t.Context())
	timer := time.AfterFunc(150*time.Millisecond, cancel)
	defer timer.Stop()
	start := time.Now()
	err = p.Probe(ctx, srv.URL+"/healthz")
	require.ErrorIs(t, err, context.Canceled)
	require.Less(t, time.Since(start), 2*time.Second, "cancel should end the probe long before the 5 s attempt timeout")
	require.Equal(t, int32(1), hits.Load(), "no retry after the caller cancelled")
}

func TestHTTPProberRefused(t *testing.T) {
	addr := closedPort(t)
	p, err := NewHTTPProber(DefaultHTTPProberOptions())
	require.NoError(t, err)
	err = p.Probe(t.Context(), "http://"+addr+"/healthz")
	require.ErrorContains(t, err, "connection refused")
}

func TestHTTPProberBadURL(t *testing.T) {
	var p HTTPProber
	for _, u := range []string{"", "localhost:8080/healthz", "ftp://127.0.0.1/healthz", "http:///healthz", "http://[::1"} {
		err := p.Probe(t.Context(), u)
		require.Error(t, err, "url %q", u)
		require.Contains(t, err.Error(), "probe health url")
	}
}

func TestHTTPProberLogsAtDebug(t *testing.T) {
	srv, _ := healthServer(t, http.StatusServiceUnavailable, "")
	var buf bytes.Buffer
	o := DefaultHTTPProberOptions()
	o.Logger = zerolog.New(&buf)
	p, err := NewHTTPProber(o)
	require.NoError(t, err)
	require.Error(t, p.Probe(t.Context(), srv.URL+"/healthz"))
	out := buf.String()
	require.Contains(t, out, `"level":"debug"`)
	require.Contains(t, out, `"message":"retrying request"`)
	require.Contains(t, out, `"remaining":1`)
	require.NotContains(t, out, `"level":"error"`)

	buf.Reset()
	o.Logger = zerolog.New(&buf).Level(zerolog.InfoLevel)
	p, err = NewHTTPProber(o)
	require.NoError(t, err)
	require.Error(t, p.Probe(t.Context(), srv.URL+"/healthz"))
	require.Empty(t, buf.String(), "retryablehttp's messages are debug only")
}

func TestHTTPProberOptionsValidate(t *testing.T) {
	cases := []struct {
		name string
		mod  func(*HTTPProberOptions)
		want string
	}{
		{name: "defaults", mod: func(*HTTPProberOptions) {}},
		{name: "no retries", mod: func(o *HTTPProberOptions) { o.RetryMax = 0 }},
		{name: "zero timeout", mod: func(o *HTTPProberOptions) { o.Timeout = 0 }, want: "timeout: must be positive, got 0s"},
		{name: "negative retries", mod: func(o *HTTPProberOptions) { o.RetryMax = -1 }, want: "retry max: must not be negative, got -1"},
		{name: "negative wait", mod: func(o *HTTPProberOptions) { o.RetryWaitMin = -time.Second }, want: "retry wait min: must not be negative"},
		{name: "max below min", mod: func(o *HTTPProberOptions) { o.RetryWaitMax = time.Millisecond },
			want: "retry wait max: must be at least retry wait min (50ms), got 1ms"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := DefaultHTTPProberOptions()
			tc.mod(&o)
			_, err := NewHTTPProber(o)
			if tc.want == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tc.want)
		})
	}
}

func TestProbeBackoff(t *testing.T) {
	minW, maxW := 50*time.Millisecond, 200*time.Millisecond
	want := []time.Duration{50, 100, 200, 200, 200}
	for i, w := range want {
		got := probeBackoff(minW, maxW, i, &http.Response{StatusCode: 503, Header: http.Header{"Retry-After": {"3600"}}})
		require.Equal(t, w*time.Millisecond, got, "attempt %d", i)
	}
}
