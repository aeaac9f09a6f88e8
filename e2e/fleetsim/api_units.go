package fleetsim

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// schemaUnit is fleet's Unit entity on the wire.
type schemaUnit struct {
	CurrentState string              `json:"currentState,omitempty"`
	DesiredState string              `json:"desiredState,omitempty"`
	MachineID    string              `json:"machineID,omitempty"`
	Name         string              `json:"name,omitempty"`
	Options      []*schemaUnitOption `json:"options,omitempty"`
}

// schemaUnitOption is fleet's UnitOption entity on the wire.
type schemaUnitOption struct {
	Name    string `json:"name,omitempty"`
	Section string `json:"section,omitempty"`
	Value   string `json:"value,omitempty"`
}

type unitPage struct {
	Units         []*schemaUnit `json:"units,omitempty"`
	NextPageToken string        `json:"nextPageToken,omitempty"`
}

func toSchemaOptions(opts []UnitOption) []*schemaUnitOption {
	out := make([]*schemaUnitOption, 0, len(opts))
	for _, o := range opts {
		out = append(out, &schemaUnitOption{Name: o.Name, Section: o.Section, Value: o.Value})
	}
	return out
}

func fromSchemaOptions(opts []*schemaUnitOption) []UnitOption {
	out := make([]UnitOption, 0, len(opts))
	for _, o := range opts {
		if o == nil {
			continue
		}
		out = append(out, UnitOption{Section: o.Section, Name: o.Name, Value: o.Value})
	}
	return out
}

type unitsResource struct {
	s    *Sim
	base string
}

func (ur *unitsResource) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == ur.base {
		if r.Method != http.MethodGet {
			sendError(w, http.StatusMethodNotAllowed, errors.New("only GET supported against this resource"))
			return
		}
		ur.list(w, r)
		return
	}
	name, ok := itemName(ur.base, r.URL.Path)
	if !ok {
		sendError(w, http.StatusNotFound, nil)
		return
	}
	switch r.Method {
	case http.MethodGet:
		ur.get(w, name)
	case http.MethodPut:
		ur.set(w, r, name)
	case http.MethodDelete:
		ur.destroy(w, name)
	default:
		sendError(w, http.StatusMethodNotAllowed, errors.New("only GET, PUT and DELETE supported against this resource"))
	}
}

func (ur *unitsResource) list(w http.ResponseWriter, r *http.Request) {
	s := ur.s
	tok, err := pageFromQuery(r.URL.Query(), uint16(s.opts.TokenLimit))
	if err != nil {
		sendError(w, http.StatusBadRequest, err)
		return
	}
	s.mu.Lock()
	all := make([]*schemaUnit, 0, len(s.units))
	for _, n := range sortedKeys(s.units) {
		all = append(all, s.schemaUnitLocked(s.units[n], true))
	}
	s.mu.Unlock()
	items, next := cutPage(all, tok)
	sendJSON(w, http.StatusOK, unitPage{Units: items, NextPageToken: next})
}

func (ur *unitsResource) get(w http.ResponseWriter, name string) {
	s := ur.s
	s.mu.Lock()
	u, ok := s.units[name]
	var su *schemaUnit
	if ok {
		su = s.schemaUnitLocked(u, false)
	}
	s.mu.Unlock()
	if !ok {
		sendError(w, http.StatusNotFound, errors.New("unit does not exist"))
		return
	}
	sendJSON(w, http.StatusOK, su)
}

// schemaUnitLocked renders a unit; inList decides how global units look
// (the list shows currentState inactive, a single GET omits it).
func (s *Sim) schemaUnitLocked(u *unit, inList bool) *schemaUnit {
	su := &schemaUnit{Name: u.name, Options: toSchemaOptions(u.options), DesiredState: u.desired}
	if u.global {
		if inList {
			su.CurrentState = stateInactive
		}
		return su
	}
	su.MachineID = u.target
	su.CurrentState = s.currentStateLocked(u)
	return su
}

// currentStateLocked is fleet's determineJobState (spec §7.2).
func (s *Sim) currentStateLocked(u *unit) string {
	if u.target == "" {
		return stateInactive
	}
	now := s.clk.Now()
	e, ok := s.states[u.name][u.target]
	if !ok || !now.Before(e.expires) {
		return stateInactive
	}
	if hb, ok := s.heartbeats[u.name]; ok && hb.machine == u.target && now.Before(hb.expires) {
		return stateLaunched
	}
	return stateLoaded
}

func validateContentType(r *http.Request) error {
	values := r.Header.Values("Content-Type")
	if len(values) != 1 {
		return fmt.Errorf("expected 1 Content-Type, got %d", len(values))
	}
	mt := strings.TrimSpace(strings.SplitN(values[0], ";", 2)[0])
	if mt != "application/json" {
		return errors.New("only acceptable Content-Type is application/json")
	}
	return nil
}

// set is PUT /units/{name} with fleet's check order (spec §3.3).
func (ur *unitsResource) set(w http.ResponseWriter, r *http.Request, item string) {
	s := ur.s
	if err := validateContentType(r); err != nil {
		sendError(w, http.StatusUnsupportedMediaType, err)
		return
	}
	var su schemaUnit
	if err := json.NewDecoder(r.Body).Decode(&su); err != nil {
		sendError(w, http.StatusBadRequest, fmt.Errorf("unable to decode body: %v", fleetJSONError(err)))
		return
	}
	if su.Name == "" {
		su.Name = item
	}
	if su.Name != item {
		sendError(w, http.StatusBadRequest, fmt.Errorf("name in URL %q differs from unit name in request body %q", item, su.Name))
		return
	}
	if err := validateName(su.Name); err != nil {
		sendError(w, http.StatusBadRequest, err)
		return
	}
	opts := fromSchemaOptions(su.Options)

	s.mu.Lock()
	code, err := s.putUnitLocked(su.Name, opts, su.DesiredState)
	if err == nil && code < 400 && !s.opts.Instant {
		if code == http.StatusCreated {
			// registry/job.go CreateUnit writes the job's object, then its
			// target-state: every watch returns the object write, sleeps, and
			// misses the target-state, so only the timers see a new unit.
			s.notifyLocked(evOther, evTargetState)
		} else {
			// SetUnitTargetState is an unconditional etcd Set: writing the
			// state the unit already has is still an event, and every watch
			// wakes its reconciler one sleep later.
			s.notifyLocked(evTargetState)
		}
	}
	s.mu.Unlock()
	if err != nil || code >= 400 {
		sendError(w, code, err)
		return
	}
	if s.opts.Instant {
		s.kickEngine()
		s.kickAgents()
	}
	w.WriteHeader(code)
}

// putUnitLocked applies a validated-name PUT and returns the status fleet
// answers with, and the error message for a failure (nil = message "").
func (s *Sim) putUnitLocked(name string, opts []UnitOption, desired string) (int, error) {
	eu, exists := s.units[name]
	create := false
	switch {
	case !exists && len(opts) == 0:
		return http.StatusConflict, errors.New("unit does not exist and options field empty")
	case !exists:
		if err := validateOptions(opts); err != nil {
			return http.StatusBadRequest, err
		}
		create = true
	case len(opts) > 0:
		create = unitHash(opts) != eu.hash
	}
	if create {
		if desired == "" {
			desired = stateInactive
		}
		if !validState(desired) {
			// fleet's registry refuses the job state and the handler answers
			// 500 with an empty message; nothing is stored.
			return http.StatusInternalServerError, nil
		}
		nu := newUnit(name, opts, desired)
		if exists {
			nu.target = eu.target // the assignment survives a replace
		}
		s.units[name] = nu
		s.log.Info().Str("unit", name).Str("desired", desired).Bool("replaced", exists).Msg("unit stored")
		return http.StatusCreated, nil
	}
	if desired == "" {
		return http.StatusConflict, errors.New("must provide DesiredState to update existing unit")
	}
	if ni, _ := parseName(name); ni.template && desired != stateInactive {
		return http.StatusBadRequest, fmt.Errorf("cannot activate template %q", name)
	}
	if !validState(desired) {
		return http.StatusBadRequest, fmt.Errorf("invalid desiredState %q: want inactive, loaded or launched", desired)
	}
	eu.desired = desired
	s.log.Info().Str("unit", name).Str("desired", desired).Msg("unit desired state set")
	return http.StatusNoContent, nil
}

func newUnit(name string, opts []UnitOption, desired string) *unit {
	opts = normalizeOptions(opts)
	req := parseRequirements(name, opts)
	return &unit{name: name, options: opts, hash: unitHash(opts), desired: desired, req: req, global: req.global()}
}

func (ur *unitsResource) destroy(w http.ResponseWriter, name string) {
	s := ur.s
	s.mu.Lock()
	_, ok := s.units[name]
	if ok {
		delete(s.units, name)
		delete(s.heartbeats, name)
		// The recursive delete of job/<name> is an event on the job's own
		// key, which wakes nobody (registry/event.go parse): agents notice
		// on their timer.
		s.notifyLocked(evOther)
	}
	s.mu.Unlock()
	if !ok {
		sendError(w, http.StatusNotFound, errors.New("unit does not exist"))
		return
	}
	s.log.Info().Str("unit", name).Msg("unit destroyed")
	if s.opts.Instant {
		s.kickEngine()
	}
	w.WriteHeader(http.StatusNoContent)
}

// kickAgents wakes every agent at once (Instant mode).
func (s *Sim) kickAgents() {
	s.mu.Lock()
	agents := s.sortedAgentsLocked()
	s.mu.Unlock()
	for _, a := range agents {
		a.kick()
	}
}
