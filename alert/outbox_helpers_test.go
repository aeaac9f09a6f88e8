package alert

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// newTestOutbox fills in the shared etcd, a prefix private to the test and
// short timings; fields set in o win.
func newTestOutbox(t *testing.T, o Options) *Outbox {
	t.Helper()
	d := DefaultOptions()
	d.Client = testEtcd
	d.Prefix = testPrefix(t)
	d.Backoff = Backoff{Initial: 20 * time.Millisecond, Max: 200 * time.Millisecond, Factor: 2}
	d.SendTimeout = 5 * time.Second
	d.Sinks, d.Clock, d.Logger, d.Registerer = o.Sinks, o.Clock, o.Logger, o.Registerer
	// Off unless the test asks: most tests count what each receiver got.
	d.ReportFailures = o.ReportFailures
	if o.Prefix != "" {
		d.Prefix = o.Prefix
	}
	if o.Backoff.Initial != 0 {
		d.Backoff = o.Backoff
	}
	if o.PollInterval != 0 {
		d.PollInterval = o.PollInterval
	}
	if o.FailedKeep != 0 {
		d.FailedKeep = o.FailedKeep
	}
	if o.BatchSize != 0 {
		d.BatchSize = o.BatchSize
	}
	if o.MaxAge != 0 {
		d.MaxAge = o.MaxAge
	}
	ob, err := NewOutbox(d)
	require.NoError(t, err)
	return ob
}

var (
	prefixes sync.Map // *testing.T → string
	prefixN  atomic.Int64
)

// testPrefix is unique per test run (tests share one etcd, also under -count=N).
func testPrefix(t *testing.T) string {
	p, _ := prefixes.LoadOrStore(t, fmt.Sprintf("/test/%s-%d", strings.NewReplacer("/", "_", " ", "_").Replace(t.Name()), prefixN.Add(1)))
	return p.(string)
}

// runOutbox runs ob.Run until the test ends and waits for it to return.
func runOutbox(t *testing.T, ob *Outbox) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- ob.Run(ctx) }()
	var stopped bool
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			require.NoError(t, err, "outbox Run returned an error")
		case <-time.After(10 * time.Second):
			t.Fatal("outbox Run did not stop within 10s of cancel")
		}
	}
	t.Cleanup(stop)
	return stop
}

// outboxKeys lists the keys under dir (outbox/ or outbox-failed/) for the test's prefix.
func outboxKeys(t *testing.T, prefix, dir string) map[string]string {
	t.Helper()
	resp, err := testEtcd.Get(t.Context(), prefix+"/"+dir+"/", clientv3.WithPrefix())
	require.NoError(t, err)
	out := map[string]string{}
	for _, kv := range resp.Kvs {
		out[string(kv.Key)] = string(kv.Value)
	}
	return out
}
