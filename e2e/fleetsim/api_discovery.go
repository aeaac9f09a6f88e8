package fleetsim

import (
	"errors"
	"net/http"
)

// discoveryDoc is a trimmed Google discovery document for fleet v1: enough
// for a client to find the resources and methods, with fleet's placeholder
// rootUrl.
var discoveryDoc = map[string]any{
	"kind":             "discovery#restDescription",
	"discoveryVersion": "v1",
	"id":               "fleet:v1",
	"name":             "fleet",
	"version":          "v1",
	"title":            "fleet API",
	"description":      "Manage units and machines of a fleet cluster (fleetsim emulation).",
	"protocol":         "rest",
	"rootUrl":          "$ENDPOINT/",
	"servicePath":      "fleet/v1/",
	"resources": map[string]any{
		"Machines": map[string]any{"methods": map[string]any{
			"List": map[string]any{"id": "fleet.Machine.List", "httpMethod": "GET", "path": "machines"},
		}},
		"Units": map[string]any{"methods": map[string]any{
			"List":   map[string]any{"id": "fleet.Unit.List", "httpMethod": "GET", "path": "units"},
			"Get":    map[string]any{"id": "fleet.Unit.Get", "httpMethod": "GET", "path": "units/{unitName}"},
			"Set":    map[string]any{"id": "fleet.Unit.Set", "httpMethod": "PUT", "path": "units/{unitName}"},
			"Delete": map[string]any{"id": "fleet.Unit.Delete", "httpMethod": "DELETE", "path": "units/{unitName}"},
		}},
		"UnitState": map[string]any{"methods": map[string]any{
			"List": map[string]any{"id": "fleet.UnitState.List", "httpMethod": "GET", "path": "state"},
			"Get":  map[string]any{"id": "fleet.UnitState.Get", "httpMethod": "GET", "path": "state/{unitName}"},
		}},
	},
}

type discoveryResource struct{}

func (discoveryResource) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		sendError(w, http.StatusBadRequest, errors.New("only HTTP GET supported against this resource"))
		return
	}
	sendJSON(w, http.StatusOK, discoveryDoc)
}
