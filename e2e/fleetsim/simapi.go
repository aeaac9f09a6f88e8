package fleetsim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
)

// The test surface under /_sim/ (JSON in and out, errors as fleet's error
// entity):
//
//	POST   /_sim/machines                      {"id","primaryIP","metadata"} → 201
//	POST   /_sim/machines/{id}/kill|revive|partition|heal                   → 204
//	GET    /_sim/journal                       → 200 [Request…]
//	DELETE /_sim/journal                       → 204
//	POST   /_sim/engine                        → 204 (one engine pass now)
//	POST   /_sim/etcd                          {"cutOff":bool} → 204
//	GET    /_sim/running/{unit}                → 200 {"machines":[…]}
func newSimMux(s *Sim) *http.ServeMux {
	m := http.NewServeMux()
	m.HandleFunc("POST /_sim/machines", s.simAddMachine)
	m.HandleFunc("POST /_sim/machines/{id}/{action}", s.simMachineAction)
	m.HandleFunc("GET /_sim/journal", func(w http.ResponseWriter, _ *http.Request) {
		j := s.Journal()
		if j == nil {
			j = []Request{}
		}
		sendJSON(w, http.StatusOK, j)
	})
	m.HandleFunc("DELETE /_sim/journal", func(w http.ResponseWriter, _ *http.Request) {
		s.ResetJournal()
		w.WriteHeader(http.StatusNoContent)
	})
	m.HandleFunc("POST /_sim/engine", func(w http.ResponseWriter, _ *http.Request) {
		s.RunEngine()
		w.WriteHeader(http.StatusNoContent)
	})
	m.HandleFunc("POST /_sim/etcd", s.simEtcd)
	m.HandleFunc("GET /_sim/running/{unit}", func(w http.ResponseWriter, r *http.Request) {
		ids := s.Running(r.PathValue("unit"))
		if ids == nil {
			ids = []string{}
		}
		sendJSON(w, http.StatusOK, map[string][]string{"machines": ids})
	})
	m.HandleFunc("/_sim/", func(w http.ResponseWriter, _ *http.Request) {
		sendError(w, http.StatusNotFound, errors.New("no such sim route"))
	})
	return m
}

// decodeStrict decodes one JSON object, rejecting unknown fields and
// trailing data.
func decodeStrict(r *http.Request, v any) error {
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxBody))
	if err != nil {
		return fmt.Errorf("read body: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("decode body: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("decode body: trailing data after the JSON object")
	}
	return nil
}

func (s *Sim) simAddMachine(w http.ResponseWriter, r *http.Request) {
	var m SeedMachine
	if err := decodeStrict(r, &m); err != nil {
		sendError(w, http.StatusBadRequest, err)
		return
	}
	if err := s.AddMachine(m.ID, m.PrimaryIP, m.Metadata); err != nil {
		code := http.StatusBadRequest
		if validateMachine(m.ID, m.PrimaryIP, m.Metadata) == nil {
			code = http.StatusConflict
		}
		sendError(w, code, err)
		return
	}
	w.WriteHeader(http.StatusCreated)
}

func (s *Sim) simMachineAction(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	actions := map[string]func(string) error{
		"kill": s.KillMachine, "revive": s.ReviveMachine,
		"partition": s.PartitionMachine, "heal": s.HealMachine,
	}
	act, ok := actions[r.PathValue("action")]
	if !ok {
		sendError(w, http.StatusNotFound, fmt.Errorf("unknown machine action %q: want kill, revive, partition or heal", r.PathValue("action")))
		return
	}
	if err := act(id); err != nil {
		code := http.StatusConflict
		if errors.Is(err, errNoMachine) {
			code = http.StatusNotFound
		}
		sendError(w, code, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Sim) simEtcd(w http.ResponseWriter, r *http.Request) {
	var body struct {
		CutOff *bool `json:"cutOff"`
	}
	if err := decodeStrict(r, &body); err != nil {
		sendError(w, http.StatusBadRequest, err)
		return
	}
	if body.CutOff == nil {
		sendError(w, http.StatusBadRequest, errors.New("field cutOff is required"))
		return
	}
	s.SetEtcdCutOff(*body.CutOff)
	w.WriteHeader(http.StatusNoContent)
}
