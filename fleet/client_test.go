package fleet

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"
)

const twoMachines = `{"machines":[{"id":"m1","primaryIP":"10.0.0.1","metadata":{"az":"a"}},{"id":"m2","primaryIP":"10.0.0.2"}]}`

func TestRetries(t *testing.T) {
	tests := []struct {
		name         string
		responses    []response
		retryMax     int
		wantRequests int
		wantErr      string // "" = success
		wantIs       error
		wantStatus   int
	}{
		{
			name:         "5xx then success",
			responses:    []response{status(500, `{"error":{"code":500,"message":""}}`), status(502, "bad gateway"), ok(twoMachines)},
			retryMax:     3,
			wantRequests: 3,
		},
		{
			name:         "503 etcd unreachable then success",
			responses:    []response{status(503, `{"error":{"code":503,"message":"fleet server unable to communicate with etcd"}}`), ok(twoMachines)},
			retryMax:     3,
			wantRequests: 2,
		},
		{
			name:         "429 then success",
			responses:    []response{{status: 429, body: `{"error":{"code":429,"message":"slow down"}}`, headers: map[string]string{"Retry-After": "0"}}, ok(twoMachines)},
			retryMax:     3,
			wantRequests: 2,
		},
		{
			name:         "5xx exhausts retries",
			responses:    []response{status(503, `{"error":{"code":503,"message":"fleet server unable to communicate with etcd"}}`)},
			retryMax:     2,
			wantRequests: 3,
			wantErr:      "giving up after 3 attempt(s): fleet api: 503 Service Unavailable: fleet server unable to communicate with etcd",
			wantStatus:   503,
		},
		{
			name:         "no retries configured",
			responses:    []response{status(500, "")},
			retryMax:     0,
			wantRequests: 1,
			wantErr:      "giving up after 1 attempt(s): fleet api: 500 Internal Server Error",
			wantStatus:   500,
		},
		{
			name:         "400 never retried",
			responses:    []response{status(400, `{"error":{"code":400,"message":"token page must be greater than zero"}}`), ok(twoMachines)},
			retryMax:     3,
			wantRequests: 1,
			wantErr:      "GET /fleet/v1/machines: fleet api: 400 Bad Request: token page must be greater than zero",
			wantStatus:   400,
		},
		{
			name:         "404 never retried",
			responses:    []response{status(404, `{"error":{"code":404,"message":""}}`), ok(twoMachines)},
			retryMax:     3,
			wantRequests: 1,
			wantErr:      "fleet api: 404 Not Found",
			wantIs:       ErrNotFound,
			wantStatus:   404,
		},
		{
			name:         "409 never retried",
			responses:    []response{status(409, `{"error":{"code":409,"message":"conflict"}}`), ok(twoMachines)},
			retryMax:     3,
			wantRequests: 1,
			wantErr:      "fleet api: 409 Conflict: conflict",
			wantIs:       ErrConflict,
			wantStatus:   409,
		},
		{
			name:         "405 never retried",
			responses:    []response{status(405, `{"error":{"code":405,"message":"only GET and PATCH supported against this resource"}}`), ok(twoMachines)},
			retryMax:     3,
			wantRequests: 1,
			wantErr:      "405 Method Not Allowed: only GET and PATCH supported against this resource",
			wantStatus:   405,
		},
		{
			name:         "redirect is not followed",
			responses:    []response{{status: 307, headers: map[string]string{"Location": "/elsewhere"}}, ok(twoMachines)},
			retryMax:     3,
			wantRequests: 1,
			wantErr:      "GET /fleet/v1/machines: fleet api: 307 Temporary Redirect",
			wantStatus:   307,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec, srv := newRecorder(t, tt.responses...)
			c := newTestClient(t, srv.URL, func(cfg *Config) { cfg.RetryMax = tt.retryMax })
			machines, err := c.Machines(t.Context())
			require.Len(t, rec.seen(), tt.wantRequests, "requests sent: got %d want %d", len(rec.seen()), tt.wantRequests)
			if tt.wantErr == "" {
				require.NoError(t, err)
				require.Equal(t, []Machine{
					{ID: "m1", PrimaryIP: "10.0.0.1", Metadata: map[string]string{"az": "a"}},
					{ID: "m2", PrimaryIP: "10.0.0.2", Metadata: map[string]string{}},
				}, machines)
				return
			}
			require.Error(t, err)
			require.Contains(t, err.Error(), tt.wantErr)
			require.True(t, strings.HasPrefix(err.Error(), "list fleet machines: "), "error %q names the operation", err)
			if tt.wantIs != nil {
				require.ErrorIs(t, err, tt.wantIs)
			}
			if tt.wantStatus != 0 {
				var apiErr *APIError
				require.ErrorAs(t, err, &apiErr)
				require.Equal(t, tt.wantStatus, apiErr.StatusCode)
			}
			if tt.wantStatus != http.StatusNotFound {
				require.NotErrorIs(t, err, ErrNotFound, "only 404 is ErrNotFound")
			}
		})
	}
}

func TestRetryAfterIsHonoured(t *testing.T) {
	rec, srv := newRecorder(t,
		response{status: 429, headers: map[string]string{"Retry-After": "1"}},
		ok(`{}`))
	c := newTestClient(t, srv.URL)
	start := time.Now()
	machines, err := c.Machines(t.Context())
	require.NoError(t, err)
	require.Empty(t, machines)
	require.Len(t, rec.seen(), 2)
	require.GreaterOrEqual(t, time.Since(start), 900*time.Millisecond, "waited less than Retry-After")
}

func TestConnectionErrorsAreRetried(t *testing.T) {
	// A listener that is closed right away: every dial is refused.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())

	var buf bytes.Buffer
	c := newTestClient(t, "http://"+addr, func(cfg *Config) {
		cfg.RetryMax = 2
		cfg.Logger = zerolog.New(&buf).Level(zerolog.DebugLevel)
	})
	_, err = c.Machines(t.Context())
	require.Error(t, err)
	require.Contains(t, err.Error(), "GET /fleet/v1/machines: giving up after 3 attempt(s)")
	require.Contains(t, err.Error(), "connection refused")
	// retryablehttp's messages reach zerolog at debug level.
	logs := buf.String()
	require.Equal(t, 2, strings.Count(logs, `"message":"retrying request"`), "logs: %s", logs)
	require.Contains(t, logs, `"level":"debug"`)
	require.NotContains(t, logs, `"level":"error"`)
}

func TestLoggerSilentAboveDebug(t *testing.T) {
	var buf bytes.Buffer
	_, srv := newRecorder(t, status(500, ""), ok(`{}`))
	c := newTestClient(t, srv.URL, func(cfg *Config) { cfg.Logger = zerolog.New(&buf).Level(zerolog.InfoLevel) })
	_, err := c.Machines(t.Context())
	require.NoError(t, err)
	require.Empty(t, buf.String())
}

func TestContextCancelledMidRetry(t *testing.T) {
	tests := []struct {
		name   string
		cancel func(ctx context.Context) (context.Context, func())
		want   error
	}{
		{
			name: "cancel",
			cancel: func(ctx context.Context) (context.Context, func()) {
				ctx, cancel := context.WithCancel(ctx)
				return ctx, cancel
			},
			want: context.Canceled,
		},
		{
			name: "deadline",
			cancel: func(ctx context.Context) (context.Context, func()) {
				ctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
				return ctx, func() { defer cancel(); <-ctx.Done() }
			},
			want: context.DeadlineExceeded,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var hits atomic.Int32
			first := make(chan struct{})
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if hits.Add(1) == 1 {
					close(first)
				}
				w.WriteHeader(http.StatusServiceUnavailable)
			}))
			t.Cleanup(srv.Close)
			// Long backoff: without honouring the context the call would block for 10 s.
			c := newTestClient(t, srv.URL, func(cfg *Config) {
				cfg.RetryMax = 5
				cfg.RetryWaitMin = 10 * time.Second
				cfg.RetryWaitMax = 10 * time.Second
			})
			ctx, stop := tt.cancel(t.Context())
			done := make(chan error, 1)
			go func() {
				_, err := c.Machines(ctx)
				done <- err
			}()
			select {
			case <-first:
			case <-time.After(5 * time.Second):
				t.Fatal("server saw no request within 5s")
			}
			start := time.Now()
			stop()
			select {
			case err := <-done:
				require.ErrorIs(t, err, tt.want)
				require.Less(t, time.Since(start), time.Second, "returned %s after cancellation", time.Since(start))
			case <-time.After(5 * time.Second):
				t.Fatal("Machines did not return within 5s of cancellation")
			}
			require.Equal(t, int32(1), hits.Load(), "no retry after cancellation")
		})
	}
}

func TestContextAlreadyCancelledSendsNothing(t *testing.T) {
	rec, srv := newRecorder(t, ok(`{}`))
	c := newTestClient(t, srv.URL)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := c.Machines(ctx)
	require.ErrorIs(t, err, context.Canceled)
	require.Empty(t, rec.seen())
}

func TestBadResponses(t *testing.T) {
	tests := []struct {
		name    string
		call    func(c *Client) error
		resp    response
		wantErr string
	}{
		{
			name:    "machines not json",
			call:    func(c *Client) error { _, err := c.Machines(t.Context()); return err },
			resp:    ok(`<html>hello</html>`),
			wantErr: "list fleet machines: GET /fleet/v1/machines: decode page: invalid character '<'",
		},
		{
			name:    "machines empty body",
			call:    func(c *Client) error { _, err := c.Machines(t.Context()); return err },
			resp:    status(200, ""),
			wantErr: "GET /fleet/v1/machines: decode page: empty body",
		},
		{
			name:    "machines truncated",
			call:    func(c *Client) error { _, err := c.Machines(t.Context()); return err },
			resp:    ok(`{"machines":[{"id":"m1"`),
			wantErr: "GET /fleet/v1/machines: decode page: unexpected end of JSON input",
		},
		{
			name:    "machines wrong type",
			call:    func(c *Client) error { _, err := c.Machines(t.Context()); return err },
			resp:    ok(`{"machines":{"id":"m1"}}`),
			wantErr: "GET /fleet/v1/machines: decode page: json: cannot unmarshal object",
		},
		{
			name:    "machine without id",
			call:    func(c *Client) error { _, err := c.Machines(t.Context()); return err },
			resp:    ok(`{"machines":[{"primaryIP":"10.0.0.1"}]}`),
			wantErr: "GET /fleet/v1/machines: machine 0 of page: id is empty",
		},
		{
			name:    "unit list not json",
			call:    func(c *Client) error { _, err := c.Units(t.Context()); return err },
			resp:    ok(`[`),
			wantErr: "list fleet units: GET /fleet/v1/units: decode page",
		},
		{
			name:    "unit without name",
			call:    func(c *Client) error { _, err := c.Units(t.Context()); return err },
			resp:    ok(`{"units":[{"desiredState":"launched"}]}`),
			wantErr: "GET /fleet/v1/units: unit name is empty",
		},
		{
			name:    "unknown desired state",
			call:    func(c *Client) error { _, err := c.Units(t.Context()); return err },
			resp:    ok(`{"units":[{"name":"a.service","desiredState":"running"}]}`),
			wantErr: `unit "a.service": desiredState "running" is not inactive, loaded or launched`,
		},
		{
			name:    "missing desired state",
			call:    func(c *Client) error { _, err := c.Units(t.Context()); return err },
			resp:    ok(`{"units":[{"name":"a.service"}]}`),
			wantErr: `unit "a.service": desiredState "" is not inactive, loaded or launched`,
		},
		{
			name:    "unknown current state",
			call:    func(c *Client) error { _, err := c.Units(t.Context()); return err },
			resp:    ok(`{"units":[{"name":"a.service","desiredState":"launched","currentState":"started"}]}`),
			wantErr: `unit "a.service": currentState "started" is not inactive, loaded or launched`,
		},
		{
			name:    "option without name",
			call:    func(c *Client) error { _, err := c.Units(t.Context()); return err },
			resp:    ok(`{"units":[{"name":"a.service","desiredState":"launched","options":[{"section":"Service","value":"x"}]}]}`),
			wantErr: `unit "a.service": option 0 has section "Service" and name ""`,
		},
		{
			name:    "single unit not json",
			call:    func(c *Client) error { _, err := c.Unit(t.Context(), "a.service"); return err },
			resp:    ok(`not json`),
			wantErr: "get fleet unit a.service: GET /fleet/v1/units/a.service: decode unit: invalid character",
		},
		{
			name:    "single unit with another name",
			call:    func(c *Client) error { _, err := c.Unit(t.Context(), "a.service"); return err },
			resp:    ok(`{"name":"b.service","desiredState":"inactive"}`),
			wantErr: `answer names unit "b.service"`,
		},
		{
			name:    "state not json",
			call:    func(c *Client) error { _, err := c.UnitStates(t.Context(), "", ""); return err },
			resp:    ok(`{"states":"x"}`),
			wantErr: "GET /fleet/v1/state: decode page: json: cannot unmarshal string",
		},
		{
			name:    "state without machine",
			call:    func(c *Client) error { _, err := c.UnitStates(t.Context(), "", ""); return err },
			resp:    ok(`{"states":[{"name":"a.service","systemdActiveState":"active"}]}`),
			wantErr: `state of unit "a.service": machineID is empty`,
		},
		{
			name:    "state with bad hash",
			call:    func(c *Client) error { _, err := c.UnitStates(t.Context(), "", ""); return err },
			resp:    ok(`{"states":[{"name":"a.service","machineID":"m1","hash":"xyz"}]}`),
			wantErr: `state of unit "a.service" on m1: hash "xyz" is not 40 hex digits`,
		},
		{
			name:    "state ignoring the machine filter",
			call:    func(c *Client) error { _, err := c.UnitStates(t.Context(), "m1", ""); return err },
			resp:    ok(`{"states":[{"name":"a.service","machineID":"m2"}]}`),
			wantErr: `GET /fleet/v1/state?machineID=m1: state of unit "a.service": machineID "m2" does not match the filter "m1"`,
		},
		{
			name:    "state ignoring the unit filter",
			call:    func(c *Client) error { _, err := c.UnitStates(t.Context(), "", "a.service"); return err },
			resp:    ok(`{"states":[{"name":"b.service","machineID":"m2"}]}`),
			wantErr: `state of unit "b.service" on m2: name does not match the filter "a.service"`,
		},
		{
			name:    "error body that is not an entity",
			call:    func(c *Client) error { _, err := c.Machines(t.Context()); return err },
			resp:    status(403, "forbidden by proxy\n"),
			wantErr: "fleet api: 403 Forbidden: forbidden by proxy",
		},
		{
			name:    "repeated page token",
			call:    func(c *Client) error { _, err := c.Machines(t.Context()); return err },
			resp:    ok(`{"machines":[{"id":"m1"}],"nextPageToken":"ZAACAA=="}`),
			wantErr: `nextPageToken "ZAACAA==" returned twice`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec, srv := newRecorder(t, tt.resp)
			c := newTestClient(t, srv.URL)
			err := tt.call(c)
			require.Error(t, err)
			require.Contains(t, err.Error(), tt.wantErr)
			for _, r := range rec.seen()[1:] {
				require.Contains(t, r.RawQuery, "nextPageToken", "only page requests may follow the first: %+v", r)
			}
		})
	}
}

func TestAPIError(t *testing.T) {
	tests := []struct {
		name      string
		status    int
		body      string
		wantMsg   string
		wantError string
		notFound  bool
		conflict  bool
	}{
		{name: "entity", status: 404, body: `{"error":{"code":404,"message":"unit does not exist"}}`, wantMsg: "unit does not exist", wantError: "fleet api: 404 Not Found: unit does not exist", notFound: true},
		{name: "entity with empty message", status: 500, body: `{"error":{"code":500,"message":""}}`, wantMsg: "", wantError: "fleet api: 500 Internal Server Error"},
		{name: "conflict", status: 409, body: `{"error":{"code":409,"message":"must provide DesiredState to update existing unit"}}`, wantMsg: "must provide DesiredState to update existing unit", wantError: "fleet api: 409 Conflict: must provide DesiredState to update existing unit", conflict: true},
		{name: "plain text", status: 502, body: "  upstream gone \n", wantMsg: "upstream gone", wantError: "fleet api: 502 Bad Gateway: upstream gone"},
		{name: "other json", status: 400, body: `{"message":"x"}`, wantMsg: `{"message":"x"}`, wantError: `fleet api: 400 Bad Request: {"message":"x"}`},
		{name: "empty", status: 404, body: "", wantMsg: "", wantError: "fleet api: 404 Not Found", notFound: true},
		{name: "long text", status: 500, body: strings.Repeat("é", 600), wantMsg: strings.Repeat("é", 256) + "…", wantError: "fleet api: 500 Internal Server Error: " + strings.Repeat("é", 256) + "…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newAPIError(tt.status, []byte(tt.body))
			require.Equal(t, tt.status, e.StatusCode)
			require.Equal(t, tt.wantMsg, e.Message)
			require.Equal(t, tt.wantError, e.Error())
			wrapped := errors.Join(errors.New("context"), e)
			require.Equal(t, tt.notFound, errors.Is(wrapped, ErrNotFound))
			require.Equal(t, tt.conflict, errors.Is(wrapped, ErrConflict))
		})
	}
}

func TestPagination(t *testing.T) {
	tests := []struct {
		name  string
		path  string
		pages []string
		list  func(c *Client) (any, error)
		want  any
	}{
		{
			name: "machines across three pages with final empty page",
			path: "/fleet/v1/machines",
			pages: []string{
				`{"machines":[{"id":"m1","primaryIP":"10.0.0.1"},{"id":"m2","primaryIP":"10.0.0.2"}],"nextPageToken":"AgACAA=="}`,
				`{"machines":[{"id":"m3","primaryIP":"10.0.0.3"},{"id":"m4","primaryIP":"10.0.0.4","metadata":{"postgres":"vol-1"}}],"nextPageToken":"AgADAA=="}`,
				`{}`,
			},
			list: func(c *Client) (any, error) { return c.Machines(t.Context()) },
			want: []Machine{
				{ID: "m1", PrimaryIP: "10.0.0.1", Metadata: map[string]string{}},
				{ID: "m2", PrimaryIP: "10.0.0.2", Metadata: map[string]string{}},
				{ID: "m3", PrimaryIP: "10.0.0.3", Metadata: map[string]string{}},
				{ID: "m4", PrimaryIP: "10.0.0.4", Metadata: map[string]string{"postgres": "vol-1"}},
			},
		},
		{
			name: "machine shifted onto the next page is kept once",
			path: "/fleet/v1/machines",
			pages: []string{
				`{"machines":[{"id":"m1"},{"id":"m2"}],"nextPageToken":"AgACAA=="}`,
				`{"machines":[{"id":"m2","primaryIP":"10.0.0.9"},{"id":"m3"}],"nextPageToken":"AgADAA=="}`,
				`{}`,
			},
			list: func(c *Client) (any, error) { return c.Machines(t.Context()) },
			want: []Machine{
				{ID: "m1", Metadata: map[string]string{}},
				{ID: "m2", PrimaryIP: "10.0.0.9", Metadata: map[string]string{}},
				{ID: "m3", Metadata: map[string]string{}},
			},
		},
		{
			name: "units across three pages",
			path: "/fleet/v1/units",
			pages: []string{
				`{"units":[{"name":"a.service","desiredState":"launched","currentState":"launched","machineID":"m1","options":[{"name":"ExecStart","section":"Service","value":"/bin/true"}]}],"nextPageToken":"AQACAA=="}`,
				`{"units":[{"name":"b@.service","desiredState":"inactive","currentState":"inactive"}],"nextPageToken":"AQADAA=="}`,
				`{}`,
			},
			list: func(c *Client) (any, error) { return c.Units(t.Context()) },
			want: []Unit{
				{Name: "a.service", DesiredState: "launched", CurrentState: "launched", MachineID: "m1", Options: []UnitOption{{Section: "Service", Name: "ExecStart", Value: "/bin/true"}}},
				{Name: "b@.service", DesiredState: "inactive", CurrentState: "inactive"},
			},
		},
		{
			name: "states across three pages",
			path: "/fleet/v1/state",
			pages: []string{
				`{"states":[{"hash":"248b997d6becee1b835b7ec7d9c8e68d7dd24623","machineID":"m1","name":"a.service","systemdActiveState":"active","systemdLoadState":"loaded","systemdSubState":"running"}],"nextPageToken":"AQACAA=="}`,
				`{"states":[{"machineID":"m2","name":"a.service","systemdActiveState":"failed","systemdLoadState":"loaded","systemdSubState":"failed"}],"nextPageToken":"AQADAA=="}`,
				`{}`,
			},
			list: func(c *Client) (any, error) { return c.UnitStates(t.Context(), "", "") },
			want: []UnitState{
				{Name: "a.service", Hash: "248b997d6becee1b835b7ec7d9c8e68d7dd24623", MachineID: "m1", SystemdLoadState: "loaded", SystemdActiveState: "active", SystemdSubState: "running"},
				{Name: "a.service", MachineID: "m2", SystemdLoadState: "loaded", SystemdActiveState: "failed", SystemdSubState: "failed"},
			},
		},
		{
			name:  "empty list is {}",
			path:  "/fleet/v1/units",
			pages: []string{`{}`},
			list:  func(c *Client) (any, error) { return c.Units(t.Context()) },
			want:  []Unit(nil),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			responses := make([]response, len(tt.pages))
			for i, p := range tt.pages {
				responses[i] = ok(p)
			}
			rec, srv := newRecorder(t, responses...)
			c := newTestClient(t, srv.URL)
			got, err := tt.list(c)
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
			seen := rec.seen()
			require.Len(t, seen, len(tt.pages))
			for i, r := range seen {
				require.Equal(t, http.MethodGet, r.Method)
				require.Equal(t, tt.path, r.Path)
				if i == 0 {
					require.Empty(t, r.RawQuery)
					continue
				}
				// The token of the previous page is passed back as is.
				require.Contains(t, tt.pages[i-1], `"nextPageToken":"`+mustQuery(t, r.RawQuery, "nextPageToken")+`"`)
			}
		})
	}
}

func mustQuery(t *testing.T, raw, key string) string {
	t.Helper()
	for _, kv := range strings.Split(raw, "&") {
		k, v, _ := strings.Cut(kv, "=")
		if k == key {
			unescaped, err := urlUnescape(v)
			require.NoError(t, err)
			return unescaped
		}
	}
	t.Fatalf("query %q has no %s", raw, key)
	return ""
}

func TestUnixSocketEndpoint(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "fleet.sock")
	l, err := net.Listen("unix", sock)
	require.NoError(t, err)
	var host atomic.Value
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host.Store(r.Host + " " + r.URL.Path)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(twoMachines))
	}))
	require.NoError(t, srv.Listener.Close())
	srv.Listener = l
	srv.Start()
	t.Cleanup(srv.Close)

	c := newTestClient(t, "unix://"+sock)
	machines, err := c.Machines(t.Context())
	require.NoError(t, err)
	require.Len(t, machines, 2)
	require.Equal(t, "fleet /fleet/v1/machines", host.Load())
}

func TestUnixSocketMissing(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "absent.sock")
	c := newTestClient(t, "unix://"+sock, func(cfg *Config) { cfg.RetryMax = 1 })
	_, err := c.Machines(t.Context())
	require.Error(t, err)
	require.Contains(t, err.Error(), "giving up after 2 attempt(s)")
	require.Contains(t, err.Error(), sock)
}

func TestUserAgentNamesTheCaller(t *testing.T) {
	tests := []struct {
		name string
		set  string
		want string
	}{
		{name: "default", set: "", want: "volfailover"},
		{name: "per instance", set: "volfailover/i-0a1", want: "volfailover/i-0a1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := make(chan string, 1)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				got <- r.Header.Get("User-Agent")
				_, _ = w.Write([]byte(`{}`))
			}))
			defer srv.Close()
			c := newTestClient(t, srv.URL, func(cfg *Config) { cfg.UserAgent = tt.set })
			_, err := c.Machines(context.Background())
			require.NoError(t, err)
			require.Equal(t, tt.want, <-got, "User-Agent header: got … want")
		})
	}
}
