package alert

import (
	"fmt"
	"os"
	"strings"
)

const redacted = "[redacted]"

// Secret holds a credential (the PagerDuty routing key). Every way of printing
// it (fmt verbs, JSON, zerolog) shows "[redacted]", so it cannot reach a log
// by accident.
type Secret string

// String returns a placeholder, never the secret.
func (Secret) String() string { return redacted }

// GoString returns a placeholder, never the secret.
func (Secret) GoString() string { return redacted }

// Format prints a placeholder for every verb, so %d or %x cannot leak it either.
func (Secret) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(redacted)) }

// MarshalJSON encodes a placeholder, never the secret.
func (Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }

// MarshalText encodes a placeholder, never the secret.
func (Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }

// reveal returns the secret itself; only the request body builder calls it.
func (s Secret) reveal() string { return string(s) }

// loadSecret reads a credential given directly, from a file, or from an
// environment variable; exactly one source must be set. Errors name the
// source, never the content.
func loadSecret(field string, direct Secret, file, env string) (Secret, error) {
	n := 0
	for _, set := range []bool{direct != "", file != "", env != ""} {
		if set {
			n++
		}
	}
	if n != 1 {
		return "", fmt.Errorf("%s: set exactly one of the key, its file or its environment variable (got %d)", field, n)
	}
	var v, from string
	switch {
	case direct != "":
		v, from = direct.reveal(), "the configured value"
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("%s: read file %q: %w", field, file, err)
		}
		v, from = string(b), fmt.Sprintf("file %q", file)
	default:
		var ok bool
		v, ok = os.LookupEnv(env)
		if !ok {
			return "", fmt.Errorf("%s: environment variable %q is not set", field, env)
		}
		from = fmt.Sprintf("environment variable %q", env)
	}
	v = strings.TrimSpace(v)
	if v == "" {
		return "", fmt.Errorf("%s: %s is empty", field, from)
	}
	if len(v) > 256 {
		return "", fmt.Errorf("%s: %s holds %d bytes, limit 256", field, from, len(v))
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; c <= ' ' || c >= 0x7f {
			return "", fmt.Errorf("%s: %s holds a space, control or non-ASCII byte at offset %d", field, from, i)
		}
	}
	return Secret(v), nil
}
