package awsops

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestVolumesBadIDNotNamed covers a NotFound whose message names no ID,
// which ec2sim never produces (it names them, as AWS does): canned XML from
// httptest. The chunk is halved until the bad ID is alone.
func TestVolumesBadIDNotNamed(t *testing.T) {
	known := map[string]bool{}
	for k := 1; k <= 16; k++ {
		known[vid(k)] = true
	}
	var describes atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		require.NoError(t, r.ParseForm())
		require.Equal(t, "DescribeVolumes", r.PostForm.Get("Action"))
		describes.Add(1)
		w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
		var items strings.Builder
		for key, vals := range r.PostForm {
			if !strings.HasPrefix(key, "VolumeId.") {
				continue
			}
			if !known[vals[0]] {
				w.WriteHeader(http.StatusBadRequest)
				fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?>
<Response><Errors><Error><Code>InvalidVolume.NotFound</Code><Message>One or more volumes do not exist.</Message></Error></Errors><RequestID>r-1</RequestID></Response>`)
				return
			}
			fmt.Fprintf(&items, `<item><volumeId>%s</volumeId><availabilityZone>us-east-1a</availabilityZone><status>available</status><attachmentSet/><tagSet/></item>`, vals[0])
		}
		fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>
<DescribeVolumesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>r-2</requestId><volumeSet>%s</volumeSet></DescribeVolumesResponse>`, items.String())
	}))
	t.Cleanup(srv.Close)
	c, err := New(t.Context(), testOptions(srv.URL))
	require.NoError(t, err)
	ask := []string{}
	for k := 1; k <= 16; k++ {
		ask = append(ask, vid(k))
	}
	ask = append(ask[:5], append([]string{vid(777)}, ask[5:]...)...)
	got, err := c.Volumes(testCtx(t, 5*time.Second), ask)
	require.NoError(t, err)
	require.Len(t, got, 16)
	require.NotContains(t, got, vid(777))
	// 17 IDs: 1 failed call, then halving: about 2·log2(17) calls, far below one per ID.
	require.LessOrEqual(t, int(describes.Load()), 12, "got %d calls", describes.Load())
}
