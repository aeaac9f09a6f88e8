package admin

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/volfailover/volfailover/state"
)

// TestRenderHistoryShowsReplannedAndAbandonedMoves: a move whose first target
// died before the attach, and one given up after it, read as such.
func TestRenderHistoryShowsReplannedAndAbandonedMoves(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	rec := func(id, to string) state.Record {
		return state.Record{ID: id, Kind: state.KindFailover, Volume: "vol-0123456789abcdef0", AZ: "us-east-1a",
			From: state.Endpoint{Instance: "i-0aaaaaaaaaaaaaaa1"}, To: state.Endpoint{Instance: to},
			Reason: "owner dead", Created: t0, Finished: t0.Add(3 * time.Second)}
	}
	replanned := rec("20260301T120000.000Z-00000001", "i-0ccccccccccccccc3")
	replanned.Step = state.StepDone
	replanned.PreviousTargets = []string{"i-0bbbbbbbbbbbbbbb2"}
	replanned.Timeline = []state.StepRecord{{Step: state.StepAttached, Start: t0, End: t0.Add(time.Second), Attempts: 2,
		Note: "target i-0bbbbbbbbbbbbbbb2: EC2 state stopped; new target i-0ccccccccccccccc3."}}
	abandoned := rec("20260301T120100.000Z-00000002", "i-0bbbbbbbbbbbbbbb2")
	abandoned.Step = state.StepAttached
	abandoned.Abandoned = "target i-0bbbbbbbbbbbbbbb2: EC2 state stopped before step metadata-moved, with the volume attached to it"

	var b strings.Builder
	require.NoError(t, RenderHistory(&b, &History{Records: []state.Record{replanned, abandoned}}, true))
	out := b.String()
	for _, want := range []string{
		"failover (ABANDONED)",
		"ABANDONED: target i-0bbbbbbbbbbbbbbb2: EC2 state stopped before step metadata-moved",
		"previous targets: i-0bbbbbbbbbbbbbbb2",
		"new target i-0ccccccccccccccc3.",
	} {
		require.Contains(t, out, want, "history output:\n%s", out)
	}
	require.Equal(t, 1, strings.Count(out, "(ABANDONED)"), "only the abandoned record is marked:\n%s", out)
}
