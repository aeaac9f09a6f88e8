package fleet

import (
	"fmt"
	"time"

	"github.com/hashicorp/go-retryablehttp"
	"github.com/rs/zerolog"
)

// retryLogger hands retryablehttp's messages to zerolog. Every message goes out at debug
// level: a failed attempt that is retried is routine, and the final failure reaches the
// caller as an error, which the caller logs with its own context.
type retryLogger struct {
	log zerolog.Logger
}

var _ retryablehttp.LeveledLogger = retryLogger{}

// Error logs retryablehttp's error messages (a failed attempt) at debug level.
func (l retryLogger) Error(msg string, kv ...any) { l.emit("error", msg, kv) }

// Info logs retryablehttp's info messages at debug level.
func (l retryLogger) Info(msg string, kv ...any) { l.emit("info", msg, kv) }

// Debug logs retryablehttp's debug messages (each request, each retry) at debug level.
func (l retryLogger) Debug(msg string, kv ...any) { l.emit("debug", msg, kv) }

// Warn logs retryablehttp's warnings at debug level.
func (l retryLogger) Warn(msg string, kv ...any) { l.emit("warn", msg, kv) }

func (l retryLogger) emit(level, msg string, kv []any) {
	ev := l.log.Debug()
	if ev == nil {
		return
	}
	for i := 0; i < len(kv); i += 2 {
		if i+1 == len(kv) {
			ev = ev.Interface("extra", kv[i])
			break
		}
		key := fmt.Sprint(kv[i])
		switch v := kv[i+1].(type) {
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
	ev.Str("component", "retryablehttp").Str("origin_level", level).Msg(msg)
}
