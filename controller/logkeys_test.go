package controller

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// dupKeyWriter passes log lines on and remembers every line that carries a
// JSON key twice: a reader (jq, Loki, CloudWatch) keeps one of them at
// random, so the line says less than it seems.
type dupKeyWriter struct {
	next io.Writer
	mu   sync.Mutex
	bad  []string
}

func (w *dupKeyWriter) Write(p []byte) (int, error) {
	if key, dup := duplicateKey(p); dup {
		w.mu.Lock()
		w.bad = append(w.bad, fmt.Sprintf("key %q twice in %s", key, bytes.TrimSpace(p)))
		w.mu.Unlock()
	}
	return w.next.Write(p)
}

func (w *dupKeyWriter) duplicates() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.bad...)
}

// duplicateKey reports the first top-level key a JSON object line repeats.
func duplicateKey(line []byte) (string, bool) {
	dec := json.NewDecoder(bytes.NewReader(line))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return "", false
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return "", false
		}
		key, _ := tok.(string)
		if seen[key] {
			return key, true
		}
		seen[key] = true
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return "", false
		}
	}
	return "", false
}

func TestDuplicateKey(t *testing.T) {
	for _, tt := range []struct {
		line string
		key  string
		dup  bool
	}{
		{`{"level":"info","self":"i-1","instance":"i-2"}`, "", false},
		{`{"level":"info","instance":"i-1","x":{"instance":"i-2"},"instance":"i-2"}`, "instance", true},
		{`{"a":1,"b":[1,{"a":2}]}`, "", false},
		{`not json`, "", false},
	} {
		key, dup := duplicateKey([]byte(tt.line))
		require.Equal(t, tt.dup, dup, "%s", tt.line)
		require.Equal(t, tt.key, key, "%s", tt.line)
	}
}
