package fleetsim

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
)

var errNoMachine = errors.New("no such machine")

// errorEntity is fleet's error body: {"error":{"code":N,"message":"…"}}.
type errorEntity struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

type errorResponse struct {
	Error errorEntity `json:"error"`
}

// sendJSON writes a JSON body the way fleet's sendResponse does.
func sendJSON(w http.ResponseWriter, code int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write(body)
}

// sendError writes fleet's error entity; a nil error gives message "".
func sendError(w http.ResponseWriter, code int, err error) {
	resp := errorResponse{Error: errorEntity{Code: code}}
	if err != nil {
		resp.Error.Message = err.Error()
	}
	sendJSON(w, code, resp)
}

// fleetJSONError rewrites Go type names in a decoder error so the message
// reads as fleet's does (its types live in packages schema and api).
func fleetJSONError(err error) error {
	msg := err.Error()
	msg = strings.ReplaceAll(msg, "fleetsim.schemaUnit", "schema.Unit")
	msg = strings.ReplaceAll(msg, "schemaUnit.", "Unit.")
	msg = strings.ReplaceAll(msg, "fleetsim.", "api.")
	return errors.New(msg)
}
