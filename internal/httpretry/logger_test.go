package httpretry

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"
)

// jsonKeys returns the top-level keys of one JSON object in order, repeats included,
// which a map would hide.
func jsonKeys(t *testing.T, line string) []string {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(line))
	tok, err := dec.Token()
	require.NoError(t, err)
	require.Equal(t, json.Delim('{'), tok, "got %q want a JSON object", line)
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		require.NoError(t, err)
		keys = append(keys, tok.(string))
		var skip json.RawMessage
		require.NoError(t, dec.Decode(&skip))
	}
	return keys
}

func TestLoggerKeysOnce(t *testing.T) {
	cases := []struct {
		name string
		msg  string
		kv   []any
		want map[string]any
	}{
		{
			name: "performing request",
			msg:  "performing request",
			kv:   []any{"method", "GET", "url", "http://127.0.0.1/fleet/v1/machines"},
			want: map[string]any{"method": "GET", "url": "http://127.0.0.1/fleet/v1/machines"},
		},
		{
			name: "retrying request",
			msg:  "retrying request",
			kv:   []any{"request", "GET http://x (status: 503)", "timeout", 250 * time.Millisecond, "remaining", 2},
			want: map[string]any{"request": "GET http://x (status: 503)", "timeout": 250.0, "remaining": 2.0},
		},
		{
			name: "request failed",
			msg:  "request failed",
			kv:   []any{"error", errors.New("connection refused"), "method", "PUT"},
			want: map[string]any{"error": "connection refused", "method": "PUT"},
		},
		{
			name: "a key repeated by the caller of the adapter",
			msg:  "m",
			kv:   []any{"method", "GET", "method", "PUT"},
			want: map[string]any{"method": "GET"},
		},
		{
			name: "odd list",
			msg:  "m",
			kv:   []any{"method", "GET", "dangling"},
			want: map[string]any{"method": "GET", "extra": "dangling"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			// The caller's logger carries its own component, as volfailover's does.
			log := zerolog.New(&buf).With().Str("component", "volfailover").Str("instance", "i-1").Logger()
			NewLogger(log).Error(tc.msg, tc.kv...)
			line := strings.TrimSpace(buf.String())
			require.NotContains(t, line, "\n", "one message, one line")

			keys := jsonKeys(t, line)
			count := map[string]int{}
			for _, k := range keys {
				count[k]++
			}
			for k, n := range count {
				require.Equal(t, 1, n, "key %q: got %d times want once in %s", k, n, line)
			}

			var got map[string]any
			require.NoError(t, json.Unmarshal([]byte(line), &got))
			require.Equal(t, "volfailover", got["component"], "the caller's component stays")
			require.Equal(t, "i-1", got["instance"])
			require.Equal(t, tc.msg, got["message"])
			for k, v := range tc.want {
				require.Equal(t, v, got[k], "field %q: got %v want %v", k, got[k], v)
			}
			require.Len(t, keys, len(tc.want)+4, "keys %v: want the caller's two, level, message and %v", keys, tc.want)
		})
	}
}

func TestLoggerLevels(t *testing.T) {
	type method func(Logger, string, ...any)
	methods := map[string]method{
		"Error": Logger.Error,
		"Warn":  Logger.Warn,
		"Info":  Logger.Info,
		"Debug": Logger.Debug,
	}
	cases := []struct {
		name      string
		level     zerolog.Level
		wantLevel string // "" means nothing is written
	}{
		{name: "debug logger", level: zerolog.DebugLevel, wantLevel: "debug"},
		{name: "trace logger", level: zerolog.TraceLevel, wantLevel: "debug"},
		{name: "info logger", level: zerolog.InfoLevel},
		{name: "disabled logger", level: zerolog.Disabled},
	}
	for _, tc := range cases {
		for name, m := range methods {
			t.Run(tc.name+"/"+name, func(t *testing.T) {
				var buf bytes.Buffer
				m(NewLogger(zerolog.New(&buf).Level(tc.level)), "request failed", "method", "GET")
				if tc.wantLevel == "" {
					require.Empty(t, buf.String(), "retryablehttp's %s: got output want none below debug", name)
					return
				}
				var got map[string]any
				require.NoError(t, json.Unmarshal(buf.Bytes(), &got))
				require.Equal(t, tc.wantLevel, got["level"], "retryablehttp's %s: got level %v want %s", name, got["level"], tc.wantLevel)
			})
		}
	}
}

// TestLoggerZeroValue: the zero Logger, which NewClient gets from a Config without a
// Logger, has no writer and must drop messages rather than fail.
func TestLoggerZeroValue(t *testing.T) {
	require.NotPanics(t, func() {
		var l Logger
		l.Error("request failed", "error", io.EOF)
		NewLogger(zerolog.Logger{}).Debug("performing request", "method", "GET")
	})
}
