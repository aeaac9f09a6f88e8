package alert

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"
)

// entryVersion is the outbox value format written by this package.
const entryVersion = 1

// maxEntryBytes bounds one outbox value, well under etcd's request limit.
const maxEntryBytes = 256 << 10

// Per-sink terminal states recorded in an entry.
const (
	stateDelivered = "delivered"
	stateFailed    = "failed"
)

// entry is the value stored under <prefix>/outbox/<seq>-<hash>: the event and
// which sinks are done with it, so a restarted deliverer skips them.
type entry struct {
	Version  int                   `json:"version"`
	Event    Event                 `json:"event"`
	Enqueued time.Time             `json:"enqueued"`
	Sinks    map[string]sinkRecord `json:"sinks,omitempty"`
}

// sinkRecord is one sink's terminal outcome for an entry.
type sinkRecord struct {
	State    string    `json:"state"` // delivered | failed
	At       time.Time `json:"at"`
	Attempts int       `json:"attempts"`
	Error    string    `json:"error,omitempty"`
}

// failedRecord is kept under <prefix>/outbox-failed/ for an entry dropped by
// at least one sink, or a value that could not be read.
type failedRecord struct {
	Key      string    `json:"key"`
	Reason   string    `json:"reason"`
	FailedAt time.Time `json:"failed_at"`
	Entry    *entry    `json:"entry,omitempty"`
	Raw      string    `json:"raw,omitempty"` // the unreadable value, truncated
}

// decodeEntry parses and checks an outbox value; any error means the value is moved aside.
func decodeEntry(b []byte) (*entry, error) {
	var e entry
	if err := json.Unmarshal(b, &e); err != nil {
		return nil, fmt.Errorf("decode outbox entry: %w", err)
	}
	if e.Version != entryVersion {
		return nil, fmt.Errorf("outbox entry version %d: want %d", e.Version, entryVersion)
	}
	if err := e.Event.Validate(); err != nil {
		return nil, fmt.Errorf("outbox entry: %w", err)
	}
	if e.Enqueued.IsZero() {
		return nil, fmt.Errorf("outbox entry enqueued %q: missing", e.Enqueued.Format(time.RFC3339))
	}
	for name, r := range e.Sinks {
		if r.State != stateDelivered && r.State != stateFailed {
			return nil, fmt.Errorf("outbox entry sinks[%s].state %q: want delivered or failed", name, r.State)
		}
	}
	if e.Sinks == nil {
		e.Sinks = map[string]sinkRecord{}
	}
	return &e, nil
}

// keyHash is a short, fixed-length name for a dedup key or an outbox key.
func keyHash(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:8])
}

// seqKey names an outbox or failure record: the sequence sorts by time.
func seqKey(dir string, seq int64, hashOf string) string {
	return fmt.Sprintf("%s%020d-%s", dir, seq, keyHash(hashOf))
}
