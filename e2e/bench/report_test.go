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
		"| AZ outage within EC2's request limits (token buckets, 50 % background load) | not measured in this run |",
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

func TestRenderBudgetAndRunDates(t *testing.T) {
	r := sampleResults()
	r.Recovery[1].Run = RunInfo{Date: time.Date(2026, 11, 30, 12, 5, 0, 0, time.UTC), Commit: "abc123def456"}
	r.Scale.Run = RunInfo{Date: time.Date(2026, 11, 30, 13, 0, 0, 0, time.UTC), Commit: "abc123def456-dirty", Short: true}
	r.Scale.Steady.Budget = []BucketUse{
		{Bucket: "DescribeVolumes", Calls: 60, PerSecond: 2, RefillPerSecond: 20, Share: 0.1},
		{Bucket: "DescribeInstances/unfiltered", Calls: 60, PerSecond: 2, RefillPerSecond: 10, Share: 0.2},
	}
	r.Scale.Outage = &Outage{Killed: 300, Completed: true, Served: 300, AllServedMs: 150000, Buckets: true, BackgroundLoad: 0.5,
		Floor: NewPaperFloor(300, 0.5, "aws-typical"), FloorNoLoad: NewPaperFloor(300, 0, "aws-typical"), MostThrottlesPerCall: 3, CallsThrottledOverTwice: 4}
	var b strings.Builder
	require.NoError(t, RenderMarkdown(&b, r, ReportOptions{OutageChart: "benchmarks/outage.png", TokensChart: "benchmarks/tokens.png"}))
	md := b.String()
	for _, want := range []string{
		"*Measured 2026-11-30 12:05 UTC at commit `abc123def456`.*",
		"*Measured 2026-11-30 13:00 UTC at commit `abc123def456-dirty` (smoke run, `-short`).*",
		"*Measured before the page dated each section: at 2026-11-25 12:00 UTC at the latest, commit not recorded.*",
		"| steady state, 6 volumes: busiest non-mutating bucket's share of its refill (`DescribeInstances/unfiltered`) | 20 % | ≤ 10 % | **missed** |",
		"| AZ outage, 300 owners, every volume served again (buckets on, 50 % background load) | 150.00 s | ≤ 2 × paper floor = 224.00 s | met |",
		"| AZ outage: most throttles of one call (all its attempts) | 3 | ≤ 2 | **missed** |",
		"| 0 % | 50 / 5 per s | 50.00 s | 2.00 s | 52.00 s | — | — |",
		"| 50 % | 25 / 2.5 per s | 110.00 s | 2.00 s | 112.00 s | 150.00 s | 1.34 |",
		"| `DescribeVolumes` | 60 | 2.00 | 20 | 10 % | met |",
		"![volumes served over time against the paper floor](benchmarks/outage.png)",
		"![tokens left per EC2 request bucket during the outage](benchmarks/tokens.png)",
	} {
		require.Contains(t, md, want)
	}
}
