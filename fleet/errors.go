package fleet

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"
)

var (
	// ErrNotFound matches an APIError with status 404 (unit or unit state does not exist).
	ErrNotFound = errors.New("fleet: not found")
	// ErrConflict matches an APIError with status 409 (for example a state change for a
	// unit that does not exist, or a create without options).
	ErrConflict = errors.New("fleet: conflict")
)

// APIError is a non-2xx answer from fleet: the HTTP status and the message of fleet's
// error entity {"error":{"code":…,"message":…}}, or the body text when the body was not
// such an entity (a proxy in between, a crashed handler).
type APIError struct {
	StatusCode int
	Message    string
	// Server is the answer's Server header (fleetd/<version>), kept because it names
	// the fleet version when an old fleet refuses a request a newer one accepts.
	Server string
}

// Error reads "fleet api: 404 Not Found: unit does not exist".
func (e *APIError) Error() string {
	status := fmt.Sprintf("%d %s", e.StatusCode, http.StatusText(e.StatusCode))
	if e.Message == "" {
		return "fleet api: " + strings.TrimSpace(status)
	}
	return "fleet api: " + strings.TrimSpace(status) + ": " + e.Message
}

// Is lets errors.Is(err, ErrNotFound) and errors.Is(err, ErrConflict) classify the status.
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrNotFound:
		return e.StatusCode == http.StatusNotFound
	case ErrConflict:
		return e.StatusCode == http.StatusConflict
	}
	return false
}

// maxErrorText bounds how much of a non-entity body goes into an APIError message.
const maxErrorText = 512

// errorEntity is fleet's error body (api/serialization.go).
type errorEntity struct {
	Error *struct {
		Code    int     `json:"code"`
		Message *string `json:"message"`
	} `json:"error"`
}

// newAPIError builds the APIError for a response with the given status and body.
func newAPIError(status int, body []byte) *APIError {
	var ent errorEntity
	if err := json.Unmarshal(body, &ent); err == nil && ent.Error != nil && ent.Error.Message != nil {
		return &APIError{StatusCode: status, Message: *ent.Error.Message}
	}
	text := strings.TrimSpace(string(body))
	if len(text) > maxErrorText {
		cut := maxErrorText
		for cut > 0 && !utf8.RuneStart(text[cut]) {
			cut--
		}
		text = text[:cut] + "…"
	}
	return &APIError{StatusCode: status, Message: text}
}
