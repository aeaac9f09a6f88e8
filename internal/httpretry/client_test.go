package httpretry

import (
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-retryablehttp"
	"github.com/stretchr/testify/require"
)

func TestNewClient(t *testing.T) {
	cases := []struct {
		name       string
		statuses   []int // answers in turn; the last repeats
		wantStatus int
		wantHits   int32
	}{
		{name: "503 then 200 is retried", statuses: []int{503, 200}, wantStatus: 200, wantHits: 2},
		{name: "404 is an answer", statuses: []int{404}, wantStatus: 404, wantHits: 1},
		{name: "501 is an answer", statuses: []int{501}, wantStatus: 501, wantHits: 1},
		{name: "500 until retries run out comes back as the last answer", statuses: []int{500}, wantStatus: 500, wantHits: 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var hits atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				n := int(hits.Add(1)) - 1
				w.WriteHeader(tc.statuses[min(n, len(tc.statuses)-1)])
			}))
			t.Cleanup(srv.Close)
			c := NewClient(Config{
				HTTPClient:   &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 5 * time.Second},
				RetryMax:     2,
				RetryWaitMin: time.Millisecond,
				RetryWaitMax: 2 * time.Millisecond,
			})
			req, err := retryablehttp.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL, nil)
			require.NoError(t, err)
			resp, err := c.Do(req)
			require.NoError(t, err)
			_ = resp.Body.Close()
			require.Equal(t, tc.wantStatus, resp.StatusCode, "status: got %d want %d", resp.StatusCode, tc.wantStatus)
			require.Equal(t, tc.wantHits, hits.Load(), "attempts: got %d want %d", hits.Load(), tc.wantHits)
		})
	}
}
