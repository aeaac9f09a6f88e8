package bench

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParsePerfReport(t *testing.T) {
	out := []byte(`# To display the perf.data header info, please use --header/--header-only options.
#
# Samples: 3K of event 'cpu-clock:pppH'
# Event count (approx.): 6012024048
#
# Overhead  Symbol
# ........  ......
#
     7.21%  [.] runtime.tryDeferToSpanScan
     5.76%  [.] crypto/internal/fips140/sha256.blockSHANI.abi0
     3.57%  [.] github.com/volfailover/volfailover/controller.chooseWitnesses
`)
	p := parsePerfReport(out, "steady", 15)
	require.Equal(t, "steady", p.Window)
	require.Equal(t, 3000, p.Samples)
	require.Equal(t, []ProfileRow{
		{7.21, "runtime.tryDeferToSpanScan"},
		{5.76, "crypto/internal/fips140/sha256.blockSHANI.abi0"},
		{3.57, "github.com/volfailover/volfailover/controller.chooseWitnesses"},
	}, p.Top)
}

func TestParsePerfReportChildren(t *testing.T) {
	out := []byte(`# Samples: 4K of event 'cpu-clock:pppH'
    45.36%     3.06%  [.] github.com/volfailover/volfailover/controller.chooseWitnesses     -      -
    37.44%     0.00%  [.] github.com/volfailover/volfailover/controller.(*leader).reconcile  -      -
`)
	p := parsePerfReport(out, "w", 1)
	require.Equal(t, 4000, p.Samples)
	require.Equal(t, []ProfileRow{{45.36, "github.com/volfailover/volfailover/controller.chooseWitnesses"}}, p.Top, "limit 1, inclusive share first")
}
