package e2etest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestSpans(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }

	var spans []span
	spans = toggle(spans, true, at(100), at(0))
	spans = toggle(spans, true, at(200), at(100)) // still on: no new span
	spans = toggle(spans, false, at(300), at(200))
	require.Equal(t, []span{{From: at(100), To: at(200)}}, spans, "closed at the earlier bound")
	spans = toggle(spans, true, at(400), at(300))
	require.Len(t, spans, 2)
	require.True(t, spans[1].To.IsZero(), "an open span has no end")

	for _, tc := range []struct {
		name          string
		t             time.Time
		before, after time.Duration
		want          bool
	}{
		{"inside", at(150), 0, 0, true},
		{"before", at(50), 0, 0, false},
		{"before within slack", at(50), 60 * time.Millisecond, 0, true},
		{"after", at(250), 0, 0, false},
		{"after within slack", at(250), 0, 60 * time.Millisecond, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, spans[0].covers(tc.t, tc.before, tc.after))
		})
	}
	require.True(t, spans[1].covers(at(10_000), 0, 0), "an open span covers the future")
}
