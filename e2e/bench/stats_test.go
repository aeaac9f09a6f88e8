package bench

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestSummarize(t *testing.T) {
	msd := func(v ...int) []time.Duration {
		out := make([]time.Duration, len(v))
		for i, x := range v {
			out[i] = time.Duration(x) * time.Millisecond
		}
		return out
	}
	tests := []struct {
		name string
		in   []time.Duration
		want Summary
	}{
		{"empty", nil, Summary{}},
		{"one", msd(7), Summary{N: 1, P50ms: 7, P95ms: 7, MaxMs: 7, MinMs: 7}},
		{"unsorted ten", msd(10, 1, 9, 2, 8, 3, 7, 4, 6, 5), Summary{N: 10, P50ms: 5, P95ms: 10, MaxMs: 10, MinMs: 1}},
		{"twenty", msd(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20), Summary{N: 20, P50ms: 10, P95ms: 19, MaxMs: 20, MinMs: 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, Summarize(tc.in))
		})
	}
}

func TestProcAndMachine(t *testing.T) {
	a, err := ReadProc(1)
	if err != nil {
		t.Skipf("/proc of pid 1 not readable here: %v", err)
	}
	self, err := ReadProc(selfPID())
	require.NoError(t, err)
	require.Positive(t, self.RSSKiB, "VmRSS of this process")
	require.GreaterOrEqual(t, self.PeakKiB, self.RSSKiB, "VmHWM is the peak of VmRSS")
	u := UsageBetween(ProcSample{At: a.At, CPU: 0}, ProcSample{At: a.At.Add(2 * time.Second), CPU: time.Second, RSSKiB: 2048, PeakKiB: 4096})
	require.Equal(t, Usage{WindowS: 2, CPUPercent: 50, RSSMiB: 2, PeakRSSMiB: 4}, u)

	m, err := DescribeMachine()
	require.NoError(t, err)
	require.NotEmpty(t, m.CPUModel, "cpu model")
	require.Positive(t, m.Cores)
	require.Positive(t, m.MemoryMiB)
	require.NotEmpty(t, m.Kernel)
}
