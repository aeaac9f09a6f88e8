package awsops

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestTagVolume(t *testing.T) {
	e := newEnv(t, pairSeed(), nil, nil)
	ctx := testCtx(t, 5*time.Second)
	tags := map[string]string{"volfailover:epoch": "7", "volfailover:owner": iid(2)}
	require.NoError(t, e.c.TagVolume(ctx, vid(1), tags))
	got, err := e.c.Volumes(ctx, []string{vid(1)})
	require.NoError(t, err)
	for k, v := range tags {
		require.Equal(t, v, got[vid(1)].Tags[k], "tag %s", k)
	}
	require.Equal(t, "true", got[vid(1)].Tags[DefaultManagedTagKey], "other tags kept")

	// Repeating is a no-op: no second CreateTags.
	require.NoError(t, e.c.TagVolume(ctx, vid(1), tags))
	require.Len(t, calls(e.sim.Journal(), "CreateTags"), 1)

	// A changed value is written, and only it.
	require.NoError(t, e.c.TagVolume(ctx, vid(1), map[string]string{"volfailover:epoch": "8", "volfailover:owner": iid(2)}))
	ct := calls(e.sim.Journal(), "CreateTags")
	require.Len(t, ct, 2)
	require.Equal(t, "8", ct[1].Params.Get("Tag.1.Value"))
	require.Empty(t, ct[1].Params.Get("Tag.2.Key"))

	require.ErrorIs(t, e.c.TagVolume(ctx, vid(99), tags), ErrVolumeNotFound)
	require.ErrorIs(t, e.c.TagVolume(ctx, vid(1), nil), ErrInvalidParameter)
	require.ErrorIs(t, e.c.TagVolume(ctx, vid(1), map[string]string{"": "x"}), ErrInvalidParameter)
}
