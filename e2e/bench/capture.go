package bench

import (
	"bytes"
	"encoding/json"
	"sync"
	"time"
)

// simEvent is one transition ec2sim logged, stamped when the line arrived
// (zerolog writes synchronously, so arrival is the moment of the transition).
type simEvent struct {
	At       time.Time
	Msg      string
	Volume   string
	Instance string
}

// simLog is the sandbox's logger output: it keeps ec2sim's transition lines
// so that the emulated cloud latency of every attach and detach is known.
type simLog struct {
	mu     sync.Mutex
	events []simEvent
}

// Write implements io.Writer for zerolog; each call is one JSON line.
func (l *simLog) Write(p []byte) (int, error) {
	if !bytes.Contains(p, []byte(`"component":"ec2sim"`)) {
		return len(p), nil
	}
	var line struct {
		Message  string `json:"message"`
		Volume   string `json:"volume"`
		Instance string `json:"instance"`
	}
	if json.Unmarshal(p, &line) == nil {
		l.mu.Lock()
		l.events = append(l.events, simEvent{At: time.Now(), Msg: line.Message, Volume: line.Volume, Instance: line.Instance})
		l.mu.Unlock()
	}
	return len(p), nil
}

// transitions returns, for one volume after t0, the time spent from each
// "from" line to the next "to" line (attaching→attached, detaching→detached).
func (l *simLog) spent(volume string, t0 time.Time, from, to string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	var total time.Duration
	var start time.Time
	for _, e := range l.events {
		if e.Volume != volume || e.At.Before(t0) {
			continue
		}
		switch e.Msg {
		case from:
			if start.IsZero() {
				start = e.At
			}
		case to:
			if !start.IsZero() {
				total += e.At.Sub(start)
				start = time.Time{}
			}
		}
	}
	return total
}
