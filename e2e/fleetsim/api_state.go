package fleetsim

import (
	"errors"
	"net/http"
)

// schemaUnitState is fleet's UnitState entity on the wire.
type schemaUnitState struct {
	Hash               string `json:"hash,omitempty"`
	MachineID          string `json:"machineID,omitempty"`
	Name               string `json:"name,omitempty"`
	SystemdActiveState string `json:"systemdActiveState,omitempty"`
	SystemdLoadState   string `json:"systemdLoadState,omitempty"`
	SystemdSubState    string `json:"systemdSubState,omitempty"`
}

type unitStatePage struct {
	States        []*schemaUnitState `json:"states,omitempty"`
	NextPageToken string             `json:"nextPageToken,omitempty"`
}

type stateResource struct {
	s    *Sim
	base string
}

func (sr *stateResource) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name, isItem := itemName(sr.base, r.URL.Path)
	if r.URL.Path != sr.base && !isItem {
		sendError(w, http.StatusNotFound, nil)
		return
	}
	if r.Method != http.MethodGet {
		sendError(w, http.StatusMethodNotAllowed, errors.New("only GET supported against this resource"))
		return
	}
	if isItem {
		sr.get(w, name)
		return
	}
	sr.list(w, r)
}

// statesLocked returns every unexpired state sorted by unit then machine.
func (s *Sim) statesLocked() []*schemaUnitState {
	now := s.clk.Now()
	var out []*schemaUnitState
	for _, n := range sortedKeys(s.states) {
		byMachine := s.states[n]
		for _, id := range sortedKeys(byMachine) {
			e := byMachine[id]
			if !now.Before(e.expires) {
				continue
			}
			out = append(out, &schemaUnitState{
				Hash: e.hash, MachineID: id, Name: n,
				SystemdLoadState: e.load, SystemdActiveState: e.active, SystemdSubState: e.sub,
			})
		}
	}
	return out
}

func (sr *stateResource) list(w http.ResponseWriter, r *http.Request) {
	s := sr.s
	q := r.URL.Query()
	tok, err := pageFromQuery(q, uint16(s.opts.TokenLimit))
	if err != nil {
		sendError(w, http.StatusBadRequest, err)
		return
	}
	machineID, unitName := q.Get("machineID"), q.Get("unitName")
	s.mu.Lock()
	all := s.statesLocked()
	s.mu.Unlock()
	var filtered []*schemaUnitState
	for _, st := range all {
		if (machineID == "" || st.MachineID == machineID) && (unitName == "" || st.Name == unitName) {
			filtered = append(filtered, st)
		}
	}
	items, next := cutPage(filtered, tok)
	sendJSON(w, http.StatusOK, unitStatePage{States: items, NextPageToken: next})
}

func (sr *stateResource) get(w http.ResponseWriter, name string) {
	s := sr.s
	s.mu.Lock()
	all := s.statesLocked()
	s.mu.Unlock()
	for _, st := range all {
		if st.Name == name {
			sendJSON(w, http.StatusOK, st)
			return
		}
	}
	sendError(w, http.StatusNotFound, errors.New("unit state does not exist"))
}
