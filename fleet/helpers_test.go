package fleet

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// testConfig is a Config for endpoint with backoffs short enough for tests.
func testConfig(endpoint string) Config {
	cfg := DefaultConfig()
	cfg.Endpoint = endpoint
	cfg.Timeout = 5 * time.Second
	cfg.RetryMax = 3
	cfg.RetryWaitMin = time.Millisecond
	cfg.RetryWaitMax = 5 * time.Millisecond
	return cfg
}

// newTestClient builds a client for endpoint, letting mutate adjust the config.
func newTestClient(t *testing.T, endpoint string, mutate ...func(*Config)) *Client {
	t.Helper()
	cfg := testConfig(endpoint)
	for _, m := range mutate {
		m(&cfg)
	}
	c, err := NewClient(cfg)
	require.NoError(t, err)
	t.Cleanup(c.CloseIdleConnections)
	return c
}

// recorded is one request a test server saw.
type recorded struct {
	Method, Path, RawQuery, ContentType string
	Body                                string
}

// recorder is a test fleet server that records every request and answers each with the
// next scripted response; the last response repeats.
type recorder struct {
	t         *testing.T
	mu        sync.Mutex
	requests  []recorded
	responses []response
}

// response is a scripted answer.
type response struct {
	status  int
	body    string
	headers map[string]string
}

func newRecorder(t *testing.T, responses ...response) (*recorder, *httptest.Server) {
	rec := &recorder{t: t, responses: responses}
	srv := httptest.NewServer(rec)
	t.Cleanup(srv.Close)
	return rec, srv
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		r.t.Errorf("read request body: %v", err)
	}
	r.mu.Lock()
	r.requests = append(r.requests, recorded{
		Method: req.Method, Path: req.URL.EscapedPath(), RawQuery: req.URL.RawQuery,
		ContentType: req.Header.Get("Content-Type"), Body: string(body),
	})
	n := len(r.requests) - 1
	if n >= len(r.responses) {
		n = len(r.responses) - 1
	}
	resp := r.responses[n]
	r.mu.Unlock()
	for k, v := range resp.headers {
		w.Header().Set(k, v)
	}
	if resp.body != "" {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(resp.status)
	_, _ = io.WriteString(w, resp.body)
}

func (r *recorder) seen() []recorded {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]recorded(nil), r.requests...)
}

func ok(body string) response { return response{status: http.StatusOK, body: body} }

func status(code int, body string) response { return response{status: code, body: body} }

// urlUnescape decodes a query value.
func urlUnescape(s string) (string, error) { return url.QueryUnescape(s) }
