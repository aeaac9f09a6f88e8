package controller

import (
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/volfailover/volfailover/internal/testlog"
)

// TestUnreachableEtcd: an agent whose etcd cannot be reached says what it is
// waiting for, reports not ready, and stops at once when told to, instead of
// blocking in the session's lease grant (issue 13 §2).
func TestUnreachableEtcd(t *testing.T) {
	c := newCluster(t, clusterSpec{azs: fourInOneAZ})
	h := c.hosts[0]
	c.buildHost(h, c.options(h))
	t.Cleanup(func() { h.cli.Close() })

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	dead := "http://" + ln.Addr().String()
	require.NoError(t, ln.Close(), "nothing listens there any more")
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{dead}, DialTimeout: time.Second, Logger: zap.NewNop()})
	require.NoError(t, err)
	t.Cleanup(func() { cli.Close() })

	var logs testlog.Buffer
	o := c.options(h)
	o.SessionTTL = 2 * time.Second
	o.Logger = zerolog.New(&logs)
	ctrl, err := New(o, Deps{Etcd: cli, EC2: h.ctrl.ec2, Fleet: h.ctrl.fleet, Pager: c.pager})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ctrl.Run(ctx) }()

	require.Eventually(t, func() bool { return strings.Contains(logs.String(), "waiting for etcd at "+dead) }, 10*time.Second, 20*time.Millisecond,
		"waiting for the agent to log which etcd it waits for; logs so far: %s", &logs)
	require.Eventually(t, func() bool { return ctrl.HealthURL() != "" }, 5*time.Second, 10*time.Millisecond, "waiting for the health server")
	resp, err := http.Get(strings.TrimSuffix(ctrl.HealthURL(), "/healthz") + "/readyz")
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, "not ready without etcd")

	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(2 * time.Second):
		t.Fatal("the agent did not stop within 2s of being told to while etcd was unreachable")
	}
}
