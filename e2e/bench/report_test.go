package bench

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func sampleResults() *Results {
	return &Results{
		Generated: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC),
		Machine:   Machine{CPUModel: "Test CPU", Cores: 2, MemoryMiB: 1024, GoVersion: "go1.26.8", Kernel: "6.1", OS: "linux/amd64"},
		Recovery: []*RecoveryResult{
			{Profile: "instant", Recovery: Summary{N: 2, P50ms: 1500}, ControllerAdded: Summary{N: 2, P50ms: 450},
				Phases: map[string]Summary{"detection": {P50ms: 1000}}, JournalSteps: map[string]Summary{}},
			{Profile: "aws-typical", Recovery: Summary{N: 2, P50ms: 12000}, ControllerAdded: Summary{N: 2, P50ms: 4000},
				Phases: map[string]Summary{"detection": {P50ms: 2000}}, JournalSteps: map[string]Summary{}},
		},
		Takeover: []*TakeoverResult{{Profile: "instant", SessionTTLMs: 3000, TargetMs: 4000, FirstRound: Summary{N: 2, P50ms: 3300, P95ms: 3500}}},
		Scale: &ScaleResult{Volumes: 6, Hosts: 8, SimulatedHosts: 6, Profile: "instant", LeaderPeakRSSMiB: 120,
			Steady:   Steady{Rounds: 3, EC2CallsPerRound: 3, EC2MaxPerRound: 3, RoundDuration: Summary{N: 3, P95ms: 40}},
			Outage:   &Outage{Killed: 1, Throttle: true, Completed: true, Served: 1, AllServedMs: 20000},
			Profiles: []*CPUProfile{{Window: "steady state", Samples: 10, Top: []ProfileRow{{50, "main.work"}}}}},
	}
}

func TestRenderMarkdown(t *testing.T) {
	var b strings.Builder
	require.NoError(t, RenderMarkdown(&b, sampleResults(), ReportOptions{
		Commands: []string{"make bench"}, Chart: "benchmarks/recovery-timeline.png", Notes: "## Notes\n\nhand-written",
	}))
	md := b.String()
	for _, want := range []string{
		"| CPU | Test CPU |",
		"make bench",
		"| controller-added time, instant (p50) | 450 ms | ≤ 300 ms | **missed** |",
		"| recovery, aws-typical (p50) | 12.00 s | ≤ 30 s | met |",
		"| leader peak RSS | 120.0 MiB | ≤ 100 MB | **missed** |",
		"| AZ outage, 1 owners, every volume served again | 20.00 s | ≤ 90 s | met |",
		"![recovery timeline by step](benchmarks/recovery-timeline.png)",
		"Kubernetes",
		"`main.work`",
		"hand-written",
	} {
		require.Contains(t, md, want)
	}
}

func TestResultsRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "results.json")
	empty, err := LoadResults(path)
	require.NoError(t, err, "a missing file is empty results")
	require.Empty(t, empty.Recovery)

	r := sampleResults()
	r.SetRecovery(&RecoveryResult{Profile: "instant", Recovery: Summary{N: 9}})
	r.SetTakeover(&TakeoverResult{Profile: "aws-typical"})
	require.Len(t, r.Recovery, 2, "same profile replaced, not added")
	require.Equal(t, 9, r.Recovery[0].Recovery.N)
	require.Len(t, r.Takeover, 2)
	require.NoError(t, r.Save(path))
	back, err := LoadResults(path)
	require.NoError(t, err)
	require.Equal(t, r.Recovery[0].Recovery, back.Recovery[0].Recovery)
	require.Equal(t, r.Scale.Outage, back.Scale.Outage)
}
