package fleetsim

import (
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
)

// schemaMachine is fleet's Machine entity on the wire.
type schemaMachine struct {
	ID        string            `json:"id,omitempty"`
	Metadata  map[string]string `json:"metadata,omitempty"`
	PrimaryIP string            `json:"primaryIP,omitempty"`
}

type machinePage struct {
	Machines      []*schemaMachine `json:"machines,omitempty"`
	NextPageToken string           `json:"nextPageToken,omitempty"`
}

// machineMetadataOp has the shape fleet decodes PATCH operations into; the
// value is an object {"value": "..."} (spec §3.8).
type machineMetadataOp struct {
	Operation string `json:"op"`
	Path      string `json:"path"`
	Value     struct {
		Value string `json:"value"`
	}
}

var metadataPathRe = regexp.MustCompile(`^/([^/]+)/metadata/([A-Za-z0-9_.-]+)$`)

type machinesResource struct{ s *Sim }

func (mr *machinesResource) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !mr.s.opts.dynamicMetadata() {
		// fleet v0.11.0 to v0.13.0 (api/machines.go at tag v0.13.0): GET only,
		// and anything else is a 400, not a 405.
		if r.Method != http.MethodGet {
			sendError(w, http.StatusBadRequest, errors.New("only HTTP GET supported against this resource"))
			return
		}
		mr.list(w, r)
		return
	}
	switch r.Method {
	case http.MethodGet:
		mr.list(w, r)
	case http.MethodPatch:
		mr.patch(w, r)
	default:
		sendError(w, http.StatusMethodNotAllowed, errors.New("only GET and PATCH supported against this resource"))
	}
}

func (mr *machinesResource) list(w http.ResponseWriter, r *http.Request) {
	s := mr.s
	tok, err := pageFromQuery(r.URL.Query(), uint16(s.opts.TokenLimit))
	if err != nil {
		sendError(w, http.StatusBadRequest, err)
		return
	}
	s.mu.Lock()
	var all []*schemaMachine
	for _, m := range s.liveMachinesLocked() {
		all = append(all, &schemaMachine{ID: m.id, PrimaryIP: m.primaryIP, Metadata: s.metadataLocked(m)})
	}
	s.mu.Unlock()
	items, next := cutPage(all, tok)
	sendJSON(w, http.StatusOK, machinePage{Machines: items, NextPageToken: next})
}

// patch validates every operation before applying any; add and replace are
// the same upsert, remove writes the tombstone. Machine IDs are not checked.
func (mr *machinesResource) patch(w http.ResponseWriter, r *http.Request) {
	var ops []machineMetadataOp
	if err := json.NewDecoder(r.Body).Decode(&ops); err != nil {
		sendError(w, http.StatusBadRequest, fleetJSONError(err))
		return
	}
	for _, op := range ops {
		if op.Operation != "add" && op.Operation != "remove" && op.Operation != "replace" {
			sendError(w, http.StatusBadRequest, errors.New("invalid op: expect add, remove, or replace"))
			return
		}
		if metadataPathRe.FindStringSubmatch(op.Path) == nil {
			sendError(w, http.StatusBadRequest, errors.New("machine metadata path invalid"))
			return
		}
		if op.Operation != "remove" && op.Value.Value == "" {
			sendError(w, http.StatusBadRequest, errors.New("invalid value: add and replace require a value"))
			return
		}
	}
	s := mr.s
	s.mu.Lock()
	for _, op := range ops {
		m := metadataPathRe.FindStringSubmatch(op.Path)
		value := op.Value.Value
		if op.Operation == "remove" {
			value = ""
		}
		s.setDynamicLocked(m[1], m[2], value)
		s.log.Info().Str("machine", m[1]).Str("key", m[2]).Str("value", value).Str("op", op.Operation).Msg("machine metadata patched")
	}
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusNoContent)
}
