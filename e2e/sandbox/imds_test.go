package sandbox

import (
	"context"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/volfailover/volfailover/awsops"
)

// TestIMDSServesIdentity reads a host's identity through the SDK's IMDS
// client, as volfailover does when no identity flags are given.
func TestIMDSServesIdentity(t *testing.T) {
	m, err := startIMDS(imdsIdentity{InstanceID: "i-0123456789abcdef0", AZ: ZoneA, Region: Region, PrivateIP: "127.0.1.7"})
	require.NoError(t, err)
	defer m.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	id, err := awsops.LoadIdentity(ctx, m.URL(), zerolog.Nop())
	require.NoError(t, err)
	require.Equal(t, awsops.Identity{InstanceID: "i-0123456789abcdef0", AvailabilityZone: ZoneA, PrivateIP: "127.0.1.7", Region: Region}, id)
}
