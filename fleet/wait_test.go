package fleet

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	clocktesting "k8s.io/utils/clock/testing"
)

func stateBody(active, sub string) string {
	return `{"states":[{"hash":"248b997d6becee1b835b7ec7d9c8e68d7dd24623","machineID":"m1","name":"a.service","systemdLoadState":"loaded","systemdActiveState":"` + active + `","systemdSubState":"` + sub + `"}]}`
}

func TestWaitUnit(t *testing.T) {
	type waitFn func(c *Client, ctx context.Context) error
	active := func(c *Client, ctx context.Context) error {
		return c.WaitUnitActive(ctx, "a.service", "m1", 2*time.Millisecond)
	}
	stopped := func(c *Client, ctx context.Context) error {
		return c.WaitUnitStopped(ctx, "a.service", "m1", 2*time.Millisecond)
	}
	tests := []struct {
		name         string
		wait         waitFn
		responses    []response
		timeout      time.Duration
		wantRequests int // exact count when the wait succeeds or fails permanently
		wantErr      string
		wantDeadline bool
	}{
		{
			name:         "active after activating",
			wait:         active,
			responses:    []response{ok(`{}`), ok(stateBody("activating", "start")), ok(stateBody("active", "running"))},
			wantRequests: 3,
		},
		{
			name:         "active after a transient 5xx",
			wait:         active,
			responses:    []response{status(503, ""), ok(stateBody("active", "running"))},
			wantRequests: 2,
		},
		{
			name:         "stopped after deactivating",
			wait:         stopped,
			responses:    []response{ok(stateBody("active", "running")), ok(stateBody("deactivating", "stop-sigterm")), ok(stateBody("inactive", "dead"))},
			wantRequests: 3,
		},
		{
			name:         "stopped when the entry disappears",
			wait:         stopped,
			responses:    []response{ok(stateBody("active", "running")), ok(`{}`)},
			wantRequests: 2,
		},
		{
			name:         "failed counts as stopped",
			wait:         stopped,
			responses:    []response{ok(stateBody("failed", "failed"))},
			wantRequests: 1,
		},
		{
			name:         "active times out",
			wait:         active,
			responses:    []response{ok(stateBody("activating", "start"))},
			timeout:      60 * time.Millisecond,
			wantErr:      "wait for unit a.service active on machine m1: last seen loaded/activating/start after ",
			wantDeadline: true,
		},
		{
			name:         "active times out without any entry",
			wait:         active,
			responses:    []response{ok(`{}`)},
			timeout:      60 * time.Millisecond,
			wantErr:      "wait for unit a.service active on machine m1: last seen no state entry after ",
			wantDeadline: true,
		},
		{
			name:         "stopped times out",
			wait:         stopped,
			responses:    []response{ok(stateBody("active", "running"))},
			timeout:      60 * time.Millisecond,
			wantErr:      "wait for unit a.service stopped on machine m1: last seen loaded/active/running after ",
			wantDeadline: true,
		},
		{
			name:         "timeout reports the last error",
			wait:         active,
			responses:    []response{ok(`garbage`)},
			timeout:      60 * time.Millisecond,
			wantErr:      "last seen error: list fleet unit states",
			wantDeadline: true,
		},
		{
			name:         "4xx ends the wait at once",
			wait:         active,
			responses:    []response{status(400, `{"error":{"code":400,"message":"too many values for page token"}}`)},
			wantRequests: 1,
			wantErr:      "wait for unit a.service active on machine m1: list fleet unit states",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec, srv := newRecorder(t, tt.responses...)
			c := newTestClient(t, srv.URL, func(cfg *Config) { cfg.RetryMax = 0 })
			timeout := tt.timeout
			if timeout == 0 {
				timeout = 5 * time.Second
			}
			ctx, cancel := context.WithTimeout(t.Context(), timeout)
			defer cancel()
			err := tt.wait(c, ctx)
			seen := rec.seen()
			for _, r := range seen {
				require.Equal(t, "/fleet/v1/state", r.Path)
				require.Equal(t, "machineID=m1&unitName=a.service", r.RawQuery)
			}
			if tt.wantRequests > 0 {
				require.Len(t, seen, tt.wantRequests)
			}
			if tt.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			require.Contains(t, err.Error(), tt.wantErr)
			if tt.wantDeadline {
				require.ErrorIs(t, err, context.DeadlineExceeded)
				require.Greater(t, len(seen), 1, "polled more than once before the deadline")
			}
		})
	}
}

func TestWaitUnitArguments(t *testing.T) {
	rec, srv := newRecorder(t, ok(`{}`))
	c := newTestClient(t, srv.URL)
	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	tests := []struct {
		name    string
		ctx     context.Context
		unit    string
		machine string
		poll    time.Duration
		wantErr string
	}{
		{name: "no deadline", ctx: t.Context(), unit: "a.service", machine: "m1", poll: time.Second, wantErr: "wait for unit a.service active on machine m1: context has no deadline"},
		{name: "zero poll", ctx: ctx, unit: "a.service", machine: "m1", poll: 0, wantErr: "poll interval 0s must be > 0"},
		{name: "no machine", ctx: ctx, unit: "a.service", machine: "", poll: time.Second, wantErr: "machine ID is empty"},
		{name: "bad unit", ctx: ctx, unit: "a", machine: "m1", poll: time.Second, wantErr: `unit name "a" must contain '.'`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := c.WaitUnitActive(tt.ctx, tt.unit, tt.machine, tt.poll)
			require.Error(t, err)
			require.Contains(t, err.Error(), tt.wantErr)
		})
	}
	require.Empty(t, rec.seen())
}

// TestWaitUnitPacedByClock checks that polls follow the injected clock: one request per
// step of the poll interval, none in between.
func TestWaitUnitPacedByClock(t *testing.T) {
	rec, srv := newRecorder(t, ok(`{}`), ok(stateBody("activating", "start")), ok(stateBody("active", "running")))
	fake := clocktesting.NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	c := newTestClient(t, srv.URL, func(cfg *Config) { cfg.Clock = fake })
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- c.WaitUnitActive(ctx, "a.service", "m1", time.Minute) }()

	for want := 1; want <= 2; want++ {
		require.Eventually(t, func() bool { return fake.HasWaiters() }, 5*time.Second, time.Millisecond, "wait loop never armed its poll timer (poll %d)", want)
		require.Len(t, rec.seen(), want, "requests before the clock moved")
		fake.Step(time.Minute)
	}
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("WaitUnitActive did not return within 5s of the unit becoming active")
	}
	require.Len(t, rec.seen(), 3)
	require.Equal(t, http.MethodGet, rec.seen()[2].Method)
}
