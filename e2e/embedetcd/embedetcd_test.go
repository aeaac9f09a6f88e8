package embedetcd

import (
	"context"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/goleak"
	"go.uber.org/zap"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestStartServesClientsAndStops(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	logFile := filepath.Join(t.TempDir(), "logs", "etcd.log")
	srv, err := Start(ctx, Config{Dir: filepath.Join(t.TempDir(), "data"), LogFile: logFile, LogLevel: "info"})
	require.NoError(t, err, "start etcd")
	defer srv.Close()
	require.Regexp(t, `^http://127\.0\.0\.1:\d+$`, srv.Endpoint, "endpoint: got … want a loopback client URL")

	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{srv.Endpoint}, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	require.NoError(t, err, "client")
	defer cli.Close()
	_, err = cli.Put(ctx, "/k", "v")
	require.NoError(t, err, "put")
	got, err := cli.Get(ctx, "/k")
	require.NoError(t, err, "get")
	require.Len(t, got.Kvs, 1, "get /k: got … want one key")
	require.Equal(t, "v", string(got.Kvs[0].Value), "value of /k: got … want")
	require.FileExists(t, logFile, "etcd's log goes to LogFile")
}

func TestStartRejectsBadConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{name: "no dir", cfg: Config{}, want: "Config.Dir is empty"},
		{name: "bad log level", cfg: Config{Dir: "DIR", LogLevel: "loud"}, want: "loud"},
		{name: "client address without a port", cfg: Config{Dir: "DIR", ClientAddr: "127.0.3.102"}, want: `Config.ClientAddr "127.0.3.102"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.cfg.Dir == "DIR" {
				tt.cfg.Dir = t.TempDir()
			}
			_, err := Start(context.Background(), tt.cfg)
			require.ErrorContains(t, err, tt.want, "Start(%+v): got … want", tt.cfg)
		})
	}
}

// The v3 HTTP gateway (Patroni's etcd3 client uses it) dials the configured
// client address, so with a fixed one it reaches the gRPC server.
func TestGatewayServesOnFixedClientAddr(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	srv, err := Start(ctx, Config{Dir: filepath.Join(t.TempDir(), "data"), ClientAddr: "127.0.3.102:2379"})
	require.NoError(t, err, "start etcd")
	defer srv.Close()
	require.Equal(t, "http://127.0.3.102:2379", srv.Endpoint)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, srv.Endpoint+"/v3/kv/range", strings.NewReader(`{"key":"Zm9v"}`))
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err, "POST /v3/kv/range")
	body, _ := io.ReadAll(resp.Body)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, http.StatusOK, resp.StatusCode, "gateway answer: %s", body)
	http.DefaultClient.CloseIdleConnections()
}

func TestStartForTestsCleansUp(t *testing.T) {
	srv, stop, err := StartForTests("embedetcd")
	require.NoError(t, err, "start")
	require.NotEmpty(t, srv.Endpoint, "endpoint")
	stop()
}
