package awsops

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/require"
)

// TestDescribeByIDBadIDNotNamed covers a NotFound whose message names no ID,
// which ec2sim never produces (it names them, as AWS does), for the
// describes still asked by ID (DescribeInstanceStatus): the chunk is halved
// until the bad ID is alone and dropped.
func TestDescribeByIDBadIDNotNamed(t *testing.T) {
	var ask []string
	for k := 1; k <= 16; k++ {
		ask = append(ask, iid(k))
	}
	ask = slices.Insert(ask, 5, iid(777))
	var calls int
	found := map[string]bool{}
	call := func(_ context.Context, chunk []string) error {
		calls++
		if slices.Contains(chunk, iid(777)) {
			return &smithy.GenericAPIError{Code: codeInstanceNotFound, Message: "One or more instances do not exist."}
		}
		for _, id := range chunk {
			found[id] = true
		}
		return nil
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	require.NoError(t, describeByID(ctx, ask, instanceStatusChunk, codeInstanceNotFound, codeInstanceMalformed, call))
	require.Len(t, found, 16)
	require.NotContains(t, found, iid(777))
	// 17 IDs: 1 failed call, then halving: about 2·log2(17) calls, far below one per ID.
	require.LessOrEqual(t, calls, 12, "got %d calls", calls)
}
