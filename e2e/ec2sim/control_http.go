package ec2sim

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

// The test surface under /_sim/ (JSON in and out):
//
//	POST   /_sim/seed                   body: Seed            -> {"instances":n,"volumes":m}
//	POST   /_sim/instances/{id}/state   {"state":"stopped"}
//	POST   /_sim/instances/{id}/status  {"instanceStatus":"impaired","systemStatus":"ok"}
//	POST   /_sim/faults                 faultBody             -> 201 {"id":"fault-1"}
//	DELETE /_sim/faults/{id}
//	DELETE /_sim/faults
//	GET    /_sim/journal                -> [Call]
//	DELETE /_sim/journal
//	GET    /_sim/volumes                -> [VolumeInfo]
//	POST   /_sim/kms-keys               {"keyId":"…","usable":false} (kms.go)
//	GET    /_sim/buckets                -> bucketsBody (buckets.go)
//	GET    /_sim/buckets/tokens         -> [TokenSample]
//
// Bodies are decoded strictly; errors are {"error":"..."} with status 400
// (bad body) or 404 (unknown instance, fault, path or method).

// faultBody is Fault on the wire, with durations as Go duration strings.
type faultBody struct {
	Kind       FaultKind `json:"kind"`
	Action     string    `json:"action"`
	Resource   string    `json:"resource"`
	NthCall    int       `json:"nthCall"`
	Sticky     bool      `json:"sticky"`
	Latency    string    `json:"latency"`
	RetryAfter string    `json:"retryAfter"`
	Attempt    int       `json:"attempt"`
}

func (b faultBody) fault() (Fault, error) {
	f := Fault{Kind: b.Kind, Action: b.Action, Resource: b.Resource, NthCall: b.NthCall, Sticky: b.Sticky, Attempt: b.Attempt}
	var err error
	if b.Latency != "" {
		if f.Latency, err = time.ParseDuration(b.Latency); err != nil {
			return f, fmt.Errorf("latency: %q is not a duration", b.Latency)
		}
	}
	if b.RetryAfter != "" {
		if f.RetryAfter, err = time.ParseDuration(b.RetryAfter); err != nil {
			return f, fmt.Errorf("retryAfter: %q is not a duration", b.RetryAfter)
		}
	}
	return f, f.Validate()
}

// bucketsBody is the state of the request-token buckets on the wire.
type bucketsBody struct {
	Enabled        bool                   `json:"enabled"`
	BackgroundLoad float64                `json:"backgroundLoad"`
	Limits         map[string]BucketLimit `json:"limits"`
	Throttled      []ThrottledCall        `json:"throttled"`
}

func (s *Sim) controlMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /_sim/seed", func(w http.ResponseWriter, r *http.Request) {
		seed, err := LoadSeed(http.MaxBytesReader(w, r.Body, 64<<20))
		if err != nil {
			writeJSONError(w, http.StatusBadRequest, err)
			return
		}
		if err := s.Apply(seed); err != nil {
			writeJSONError(w, http.StatusBadRequest, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]int{"instances": len(seed.Instances), "volumes": len(seed.Volumes)})
	})
	mux.HandleFunc("POST /_sim/instances/{id}/state", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			State string `json:"state"`
		}
		if err := decodeStrict(r, &body); err != nil {
			writeJSONError(w, http.StatusBadRequest, err)
			return
		}
		id := r.PathValue("id")
		if s.InstanceState(id) == "" {
			writeJSONError(w, http.StatusNotFound, fmt.Errorf("instance %q does not exist", id))
			return
		}
		if err := s.SetInstanceState(id, body.State); err != nil {
			writeJSONError(w, http.StatusBadRequest, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"id": id, "state": s.InstanceState(id)})
	})
	mux.HandleFunc("POST /_sim/instances/{id}/status", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			InstanceStatus string `json:"instanceStatus"`
			SystemStatus   string `json:"systemStatus"`
		}
		if err := decodeStrict(r, &body); err != nil {
			writeJSONError(w, http.StatusBadRequest, err)
			return
		}
		id := r.PathValue("id")
		if s.InstanceState(id) == "" {
			writeJSONError(w, http.StatusNotFound, fmt.Errorf("instance %q does not exist", id))
			return
		}
		if err := s.SetInstanceStatus(id, body.InstanceStatus, body.SystemStatus); err != nil {
			writeJSONError(w, http.StatusBadRequest, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"id": id})
	})
	mux.HandleFunc("POST /_sim/faults", func(w http.ResponseWriter, r *http.Request) {
		var body faultBody
		if err := decodeStrict(r, &body); err != nil {
			writeJSONError(w, http.StatusBadRequest, err)
			return
		}
		f, err := body.fault()
		if err != nil {
			writeJSONError(w, http.StatusBadRequest, err)
			return
		}
		writeJSON(w, http.StatusCreated, map[string]string{"id": s.Arm(f)})
	})
	mux.HandleFunc("DELETE /_sim/faults/{id}", func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		ok := s.removeFault(r.PathValue("id"))
		s.mu.Unlock()
		if !ok {
			writeJSONError(w, http.StatusNotFound, fmt.Errorf("fault %q is not armed", r.PathValue("id")))
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("DELETE /_sim/faults", func(w http.ResponseWriter, r *http.Request) {
		s.ClearFaults()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /_sim/journal", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.Journal())
	})
	mux.HandleFunc("DELETE /_sim/journal", func(w http.ResponseWriter, r *http.Request) {
		s.ResetJournal()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /_sim/volumes", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.Volumes())
	})
	mux.HandleFunc("GET /_sim/buckets", func(w http.ResponseWriter, r *http.Request) {
		t := s.ThrottlingConfig()
		writeJSON(w, http.StatusOK, bucketsBody{Enabled: t.Enabled, BackgroundLoad: t.BackgroundLoad,
			Limits: s.BucketLimits(), Throttled: s.Throttled()})
	})
	mux.HandleFunc("GET /_sim/buckets/tokens", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.TokenSamples())
	})
	s.registerKMSControl(mux)
	mux.HandleFunc("/_sim/", func(w http.ResponseWriter, r *http.Request) {
		writeJSONError(w, http.StatusNotFound, fmt.Errorf("no test endpoint %s %s", r.Method, r.URL.Path))
	})
	return mux
}

func (s *Sim) serveControl(w http.ResponseWriter, r *http.Request) {
	s.ctl.ServeHTTP(w, r)
}

// decodeStrict decodes one JSON object, rejecting unknown fields and trailing data.
func decodeStrict(r *http.Request, v any) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("decode body: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("decode body: trailing data after the JSON object")
	}
	return nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // a client that went away is not our error
}

func writeJSONError(w http.ResponseWriter, status int, err error) {
	writeJSON(w, status, map[string]string{"error": err.Error()})
}
