package bench

import (
	"math"
	"sort"
	"time"
)

// Summary is the distribution of one measured quantity over the runs, in
// milliseconds so that the JSON reads without unit conversions.
type Summary struct {
	N     int     `json:"n"`
	P50ms float64 `json:"p50Ms"`
	P95ms float64 `json:"p95Ms"`
	MaxMs float64 `json:"maxMs"`
	MinMs float64 `json:"minMs"`
}

// Summarize computes the nearest-rank percentiles of ds; an empty input gives
// the zero Summary.
func Summarize(ds []time.Duration) Summary {
	if len(ds) == 0 {
		return Summary{}
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return Summary{
		N:     len(s),
		P50ms: ms(percentile(s, 50)),
		P95ms: ms(percentile(s, 95)),
		MaxMs: ms(s[len(s)-1]),
		MinMs: ms(s[0]),
	}
}

// percentile is the nearest-rank percentile of a sorted, non-empty slice.
func percentile(sorted []time.Duration, p float64) time.Duration {
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	if rank < 1 {
		rank = 1
	}
	return sorted[rank-1]
}

// ms converts a duration to milliseconds rounded to 0.1 ms.
func ms(d time.Duration) float64 { return math.Round(float64(d)/float64(time.Millisecond)*10) / 10 }

func sortStrings(s []string) { sort.Strings(s) }
