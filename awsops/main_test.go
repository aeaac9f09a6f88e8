package awsops

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if a test leaves a goroutine behind (waits,
// the emulator's transitions, HTTP connections).
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
