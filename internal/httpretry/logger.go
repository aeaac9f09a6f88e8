package httpretry

import (
	"fmt"
	"time"

	"github.com/hashicorp/go-retryablehttp"
	"github.com/rs/zerolog"
)

// Logger hands retryablehttp's messages to zerolog. Every message goes out at debug
// level, whatever level retryablehttp gives it: its "request failed" is an attempt that
// is retried, routine for a probe that runs every second, and the last failure reaches
// the caller as an error, which the caller logs with its own context and level.
//
// Logger writes retryablehttp's key-value pairs and nothing of its own: the caller's
// logger already says who is talking (component, instance, sink), and a second
// "component" would put the key twice in one JSON line. A key retryablehttp repeats in
// one message is written once, the first time.
type Logger struct {
	log zerolog.Logger
}

var _ retryablehttp.LeveledLogger = Logger{}

// NewLogger returns an adapter that writes to log, with the fields log already carries.
func NewLogger(log zerolog.Logger) Logger {
	return Logger{log: log}
}

// Error logs a failed attempt at debug level: see Logger for why not error.
func (l Logger) Error(msg string, kv ...any) { l.emit(msg, kv) }

// Warn logs retryablehttp's warnings at debug level.
func (l Logger) Warn(msg string, kv ...any) { l.emit(msg, kv) }

// Info logs retryablehttp's info messages at debug level.
func (l Logger) Info(msg string, kv ...any) { l.emit(msg, kv) }

// Debug logs retryablehttp's debug messages (each request, each retry) at debug level.
func (l Logger) Debug(msg string, kv ...any) { l.emit(msg, kv) }

// extraKey holds the last value of an odd-length key-value list, which has no key.
const extraKey = "extra"

func (l Logger) emit(msg string, kv []any) {
	ev := l.log.Debug()
	if ev == nil {
		return
	}
	seen := make(map[string]bool, len(kv)/2+1)
	for i := 0; i < len(kv); i += 2 {
		key, val := extraKey, kv[i]
		if i+1 < len(kv) {
			key, val = fmt.Sprint(kv[i]), kv[i+1]
		}
		if seen[key] {
			continue
		}
		seen[key] = true
		switch v := val.(type) {
		case error:
			ev = ev.AnErr(key, v)
		case time.Duration:
			ev = ev.Dur(key, v)
		case string:
			ev = ev.Str(key, v)
		case int:
			ev = ev.Int(key, v)
		default:
			ev = ev.Interface(key, v)
		}
	}
	ev.Msg(msg)
}
