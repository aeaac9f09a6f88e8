package bench

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/volfailover/volfailover/health"
)

func TestStandInAnswersProbes(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	log := &ProbeLog{}
	s, err := ListenStandIn(ctx, "127.0.0.1:0", log)
	require.NoError(t, err)
	start := time.Now()
	require.NoError(t, health.ProbePostgres(ctx, s.Addr()), "SSLRequest probe")
	require.NoError(t, health.ProbePostgresReady(ctx, s.Addr()), "startup probe")
	n, last := log.Between(start, time.Now().Add(time.Second))
	require.Equal(t, 2, n, "probes recorded")
	end := time.Now().Add(time.Second)
	nth, ok := log.NthIn(start, end, "127.0.0.1", 2)
	require.True(t, ok)
	require.Equal(t, last, nth, "second probe is the last")
	nth, ok = log.NthIn(start, end, "127.0.0.1", 3)
	require.False(t, ok, "only two probes arrived")
	require.Equal(t, last, nth, "the last probe found when fewer arrived")
	_, ok = log.NthIn(start, end, "127.0.0.9", 1)
	require.False(t, ok, "no probe from another source")
	_, ok = log.NthIn(end, end.Add(time.Second), "127.0.0.1", 1)
	require.False(t, ok, "no probe after the interval")

	s.Close()
	require.Error(t, health.ProbePostgres(ctx, s.Addr()), "a closed stand-in is a dead host")
	s.Close() // idempotent
}
