package alert

import (
	"fmt"
	"os"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/goleak"
	"go.uber.org/zap"

	"github.com/volfailover/volfailover/e2e/embedetcd"
)

// testEtcd is one embedded etcd per test binary; tests isolate by key prefix.
var testEtcd *clientv3.Client

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	srv, stop, err := embedetcd.StartForTests("alert")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{srv.Endpoint}, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		stop()
		fmt.Fprintln(os.Stderr, "etcd client:", err)
		return 1
	}
	testEtcd = cli
	code := m.Run()
	_ = cli.Close()
	stop()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			return 1
		}
	}
	return code
}
