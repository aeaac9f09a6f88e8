package state

import (
	"bytes"
	"encoding/json"
	"errors"
)

// decodeStrict decodes one JSON object, rejecting unknown fields and trailing
// data: a value an operator wrote by hand must mean exactly what it says.
func decodeStrict(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data after the JSON object")
	}
	return nil
}
