package controller

import (
	"os"
	"testing"

	"github.com/volfailover/volfailover/e2e/embedetcd"
)

// testEtcd is the one embedded etcd the package's tests share; every test
// works under a key prefix of its own.
var testEtcd string

func TestMain(m *testing.M) {
	os.Exit(embedetcd.RunTests(m, "controller", &testEtcd))
}
