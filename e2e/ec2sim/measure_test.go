package ec2sim

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/stretchr/testify/require"
)

// TestDescribeRoundCost measures the HTTP calls and wall time the SDK needs to
// read every managed volume out of 1,000 (tag filter, all pages).
func TestDescribeRoundCost(t *testing.T) {
	e := newEnv(t, manyVolumes(1000, true))
	tests := []struct {
		name      string
		maxResult *int32
		calls     int
	}{
		{"default (no MaxResults)", nil, 1},
		{"MaxResults 1000", aws.Int32(1000), 1},
		{"MaxResults 500", aws.Int32(500), 2},
		{"MaxResults 5", aws.Int32(5), 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e.sim.ResetJournal()
			start := time.Now()
			p := ec2.NewDescribeVolumesPaginator(e.ec2, &ec2.DescribeVolumesInput{
				MaxResults: tc.maxResult,
				Filters:    []types.Filter{{Name: aws.String("tag:volfailover:managed"), Values: []string{"true"}}},
			})
			n := 0
			for p.HasMorePages() {
				out, err := p.NextPage(ctx(t))
				require.NoError(t, err)
				n += len(out.Volumes)
			}
			elapsed := time.Since(start)
			require.Equal(t, 1000, n, "every managed volume read")
			require.Len(t, e.sim.Journal(), tc.calls, "HTTP calls")
			t.Logf("1000 volumes, %s: %d calls, %v", tc.name, tc.calls, elapsed.Round(time.Millisecond))
		})
	}
}
