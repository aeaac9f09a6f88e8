package controller

import (
	"fmt"
	"os"
	"testing"

	"go.uber.org/goleak"

	"github.com/volfailover/volfailover/e2e/embedetcd"
)

// testEtcd is the one embedded etcd the package's tests share; every test
// works under a key prefix of its own.
var testEtcd string

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	baseline := goleak.IgnoreCurrent()
	srv, stop, err := embedetcd.StartForTests("controller")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	testEtcd = srv.Endpoint
	code := m.Run()
	stop()
	if code == 0 {
		if err := goleak.Find(baseline); err != nil {
			fmt.Fprintln(os.Stderr, "goroutine leak:", err)
			return 1
		}
	}
	return code
}
