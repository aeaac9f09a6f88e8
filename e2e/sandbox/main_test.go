package sandbox

import (
	"context"
	"os"
	"testing"

	"go.uber.org/goleak"
)

// TestMain doubles as the postgres@ unit's command: the sandbox under test
// runs this test binary as SandboxBin with "exec-postgres", so the tests need
// not build volfailover-sandbox.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "exec-postgres" {
		os.Exit(RunExecPostgres(context.Background(), os.Args[2:], os.Stderr))
	}
	if len(os.Args) > 1 && os.Args[1] == "exec-etcd" {
		os.Exit(RunExecEtcd(context.Background(), os.Args[2:], os.Stderr))
	}
	goleak.VerifyTestMain(m)
}
