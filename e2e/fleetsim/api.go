package fleetsim

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"strings"
)

// maxBody bounds every request body the sim reads.
const maxBody = 1 << 20

// routes holds the fleet API mux (mounted twice, as fleetd does) and the
// test surface.
type routes struct {
	fleet *http.ServeMux
	sim   *http.ServeMux
}

func newRoutes(s *Sim) *routes {
	fm := http.NewServeMux()
	for _, prefix := range []string{"/v1-alpha", "/fleet/v1"} {
		fm.Handle(prefix+"/discovery", &discoveryResource{})
		fm.Handle(prefix+"/machines", &machinesResource{s})
		sr := &stateResource{s, prefix + "/state"}
		fm.Handle(prefix+"/state", sr)
		fm.Handle(prefix+"/state/", sr)
		ur := &unitsResource{s, prefix + "/units"}
		fm.Handle(prefix+"/units", ur)
		fm.Handle(prefix+"/units/", ur)
		fm.HandleFunc(prefix, func(w http.ResponseWriter, _ *http.Request) {
			sendError(w, http.StatusMethodNotAllowed, nil)
		})
	}
	fm.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/" {
			sendError(w, http.StatusMethodNotAllowed, nil)
			return
		}
		sendError(w, http.StatusNotFound, nil)
	})
	return &routes{fleet: fm, sim: newSimMux(s)}
}

// ServeHTTP serves the fleet API under /fleet/v1 and /v1-alpha and the test
// surface under /_sim/. Every fleet API request is journaled.
func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Server", "fleetd/"+s.opts.Version)
	if r.URL.Path == "/_sim" || strings.HasPrefix(r.URL.Path, "/_sim/") {
		s.mux.sim.ServeHTTP(w, r)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			sendError(w, http.StatusRequestEntityTooLarge, err)
		} else {
			sendError(w, http.StatusBadRequest, err)
		}
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	rec := &statusRecorder{ResponseWriter: w}
	entry := Request{Time: s.clk.Now(), Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Body: string(body), UserAgent: r.UserAgent()}
	defer func() {
		entry.Status = rec.status
		if entry.Status == 0 {
			entry.Status = http.StatusOK
		}
		s.record(entry)
	}()
	s.mu.Lock()
	cut := s.cutOff
	s.mu.Unlock()
	if cut {
		sendError(rec, http.StatusServiceUnavailable, errors.New("fleet server unable to communicate with etcd"))
		return
	}
	s.mux.fleet.ServeHTTP(rec, r)
	entry.Applied = s.clk.Now()
}

// itemName returns the last path element when p is base/<one element>, as
// fleet's isItemPath does with path.Match.
func itemName(base, p string) (string, bool) {
	rest, ok := strings.CutPrefix(p, base+"/")
	if !ok || rest == "" || strings.Contains(rest, "/") {
		return "", false
	}
	return rest, true
}
