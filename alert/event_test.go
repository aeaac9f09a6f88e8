package alert

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

func validEvent() Event {
	return Event{Kind: KindFailoverStarted, Action: ActionTrigger, Severity: SeverityCritical,
		DedupKey: "volfailover/vol-1/f-1", Summary: "failover of vol-1 from i-1 started"}
}

func TestEventValidate(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(*Event)
		wantErr string
	}{
		{"valid", func(*Event) {}, ""},
		{"resolve", func(e *Event) { e.Action = ActionResolve }, ""},
		{"unknown kind", func(e *Event) { e.Kind = "volcano" }, `kind "volcano"`},
		{"empty kind", func(e *Event) { e.Kind = "" }, `kind ""`},
		{"bad action", func(e *Event) { e.Action = "acknowledge" }, `action "acknowledge"`},
		{"bad severity", func(e *Event) { e.Severity = "fatal" }, `severity "fatal"`},
		{"empty dedup", func(e *Event) { e.DedupKey = " " }, "dedup_key"},
		{"dedup at limit", func(e *Event) { e.DedupKey = strings.Repeat("k", 255) }, ""},
		{"dedup over limit", func(e *Event) { e.DedupKey = strings.Repeat("k", 256) }, "256 bytes, limit 255"},
		{"empty summary", func(e *Event) { e.Summary = "\n" }, "summary"},
		{"long summary accepted", func(e *Event) { e.Summary = strings.Repeat("s", 5000) }, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ev := validEvent()
			tc.mutate(&ev)
			err := ev.Validate()
			if tc.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tc.wantErr)
		})
	}
}

func TestTruncateSummary(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		runes int
	}{
		{"short kept", "abc", 3},
		{"exactly at limit kept", strings.Repeat("a", MaxSummaryLen), MaxSummaryLen},
		{"long ascii cut", strings.Repeat("a", 3000), MaxSummaryLen},
		{"long multibyte cut on a rune", strings.Repeat("é", 2000), MaxSummaryLen},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := truncateSummary(tc.in)
			require.True(t, utf8.ValidString(got), "truncated summary is not valid UTF-8")
			require.Equal(t, tc.runes, utf8.RuneCountInString(got), "got %d characters, want %d", utf8.RuneCountInString(got), tc.runes)
			if tc.runes < utf8.RuneCountInString(tc.in) {
				require.True(t, strings.HasSuffix(got, "…"), "a cut summary ends with an ellipsis")
			} else {
				require.Equal(t, tc.in, got)
			}
		})
	}
}
