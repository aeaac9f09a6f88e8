package fleetsim

import (
	"net/http"
	"strings"
	"time"
)

// Request is one fleet API call as the sim received and answered it.
type Request struct {
	// Time is when the request arrived.
	Time time.Time `json:"time"`
	// Applied is when the handler had carried the request out (fleet applies
	// a request as it receives it, so this is Time plus the handler's own
	// work); zero when the sim refused it unseen, as a fleet cut off etcd does.
	Applied time.Time `json:"applied,omitzero"`
	Method  string    `json:"method"`
	Path    string    `json:"path"`
	Query   string    `json:"query,omitempty"`
	Body    string    `json:"body,omitempty"`
	Status  int       `json:"status"`
	// UserAgent names the caller, so tests can attribute a mutation to one controller.
	UserAgent string `json:"userAgent,omitempty"`
}

// Journal returns every fleet API request since the start or the last
// ResetJournal, oldest first.
func (s *Sim) Journal() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.journal...)
}

// ResetJournal empties the request journal.
func (s *Sim) ResetJournal() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.journal = nil
}

func (s *Sim) record(r Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.journal = append(s.journal, r)
}

// statusRecorder remembers the status a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (w *statusRecorder) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusRecorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Mutating reports whether the request could change fleet's state: every PUT, PATCH
// and DELETE, whatever its answer (a refused mutation was still attempted), except a
// PATCH whose body is an empty operation list ([] or null). That one changes nothing in
// any fleet version and is how a client probes for PATCH support, so a controller that
// sends it at startup is not acting.
func (r Request) Mutating() bool {
	switch r.Method {
	case "PUT", "DELETE":
		return true
	case "PATCH":
		b := strings.TrimSpace(r.Body)
		return b != "[]" && b != "null" && strings.Join(strings.Fields(b), "") != "[]"
	}
	return false
}
