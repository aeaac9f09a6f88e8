package alert

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// receiver is a small stateful stand-in for PagerDuty or a webhook endpoint:
// it records every request and answers with scripted statuses, then with final.
type receiver struct {
	mu      sync.Mutex
	bodies  [][]byte
	headers []http.Header
	script  []int
	final   int
	oks     int // requests answered 2xx
	srv     *httptest.Server
}

func newReceiver(t *testing.T, final int, script ...int) *receiver {
	t.Helper()
	r := &receiver{final: final, script: script}
	r.srv = httptest.NewServer(r)
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	b, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	r.bodies = append(r.bodies, b)
	r.headers = append(r.headers, req.Header.Clone())
	status := r.final
	if len(r.script) > 0 {
		status, r.script = r.script[0], r.script[1:]
	}
	if status/100 == 2 {
		r.oks++
	}
	r.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	switch {
	case status == http.StatusAccepted:
		var in struct {
			DedupKey string `json:"dedup_key"`
		}
		_ = json.Unmarshal(b, &in)
		_ = json.NewEncoder(w).Encode(map[string]string{"status": "success", "message": "Event processed", "dedup_key": in.DedupKey})
	case status == http.StatusBadRequest:
		_, _ = io.WriteString(w, `{"status":"invalid event","message":"Event object is invalid","errors":["'payload.severity' is invalid"]}`)
	case status == http.StatusTooManyRequests:
		_, _ = io.WriteString(w, `{"status":"throttle event","message":"Requests for this service are arriving too quickly."}`)
	case status >= 500:
		_, _ = io.WriteString(w, "upstream unavailable")
	}
}

// setFinal changes the answer once the script is used up (a sink coming back).
func (r *receiver) setFinal(status int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.final = status
}

func (r *receiver) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.bodies)
}

func (r *receiver) body(i int) []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return bytes.Clone(r.bodies[i])
}

func (r *receiver) header(i int) http.Header {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.headers[i].Clone()
}

// testHTTP keeps per-Send retries quick.
func testHTTP() HTTPOptions {
	return HTTPOptions{Timeout: 2 * time.Second, RetryMax: 3, RetryWaitMin: time.Millisecond, RetryWaitMax: 5 * time.Millisecond}
}

// delivered counts the requests answered 2xx.
func (r *receiver) delivered() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.oks
}
