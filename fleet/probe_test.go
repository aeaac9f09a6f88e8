package fleet

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/volfailover/volfailover/e2e/fleetsim"
)

func TestCheckMetadataPatch(t *testing.T) {
	old := `{"error":{"code":400,"message":"only HTTP GET supported against this resource"}}`
	tests := []struct {
		name        string
		responses   []response
		unsupported bool   // errors.Is(err, ErrMetadataPatchUnsupported)
		wantErr     string // "" = no error
		requests    int
	}{
		{name: "v1.0.0 answers 204", responses: []response{{status: 204, headers: map[string]string{"Content-Type": "application/json"}}}, requests: 1},
		{
			name:        "fleet 0.13 answers 400",
			responses:   []response{{status: 400, body: old, headers: map[string]string{"Server": "fleetd/0.13.0"}}},
			unsupported: true, requests: 1,
			wantErr: `needs fleet v1.0.0 or later: PATCH /fleet/v1/machines answered 400 "only HTTP GET supported against this resource" (fleetd/0.13.0)`,
		},
		{
			name:        "405 from a fleet without the route",
			responses:   []response{status(405, `{"error":{"code":405,"message":"only GET supported against this resource"}}`)},
			unsupported: true, requests: 1,
			wantErr: `answered 405 "only GET supported against this resource" (no Server header)`,
		},
		{name: "404 from something that is not fleet v1", responses: []response{status(404, "")}, unsupported: true, requests: 1, wantErr: "answered 404"},
		{name: "5xx is retried and says nothing about the version", responses: []response{status(503, `{"error":{"code":503,"message":"fleet server unable to communicate with etcd"}}`)}, requests: 4, wantErr: "probe fleet for machine metadata PATCH: PATCH /fleet/v1/machines: giving up after 4 attempt(s): fleet api: 503 Service Unavailable: fleet server unable to communicate with etcd"},
		{name: "403 is not a version answer", responses: []response{status(403, `{"error":{"code":403,"message":"no"}}`)}, requests: 1, wantErr: "probe fleet for machine metadata PATCH: PATCH /fleet/v1/machines: fleet api: 403 Forbidden: no"},
		{name: "unexpected success status", responses: []response{status(202, "")}, requests: 1, wantErr: "unexpected status 202 (want 204)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec, srv := newRecorder(t, tc.responses...)
			c := newTestClient(t, srv.URL)
			err := c.CheckMetadataPatch(t.Context())
			seen := rec.seen()
			require.Len(t, seen, tc.requests, "requests sent: got %d want %d", len(seen), tc.requests)
			require.Equal(t, http.MethodPatch, seen[0].Method)
			require.Equal(t, "/fleet/v1/machines", seen[0].Path)
			require.Equal(t, "[]", seen[0].Body, "the probe sends an empty op list, never null")
			if tc.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tc.wantErr)
			require.Equal(t, tc.unsupported, errors.Is(err, ErrMetadataPatchUnsupported), "errors.Is(err, ErrMetadataPatchUnsupported) for %v", err)
		})
	}
}

func TestCheckMetadataPatchUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	c := newTestClient(t, "http://"+addr)
	err = c.CheckMetadataPatch(t.Context())
	require.Error(t, err)
	require.NotErrorIs(t, err, ErrMetadataPatchUnsupported, "an unreachable fleet says nothing about its version")
}

// Against the emulator as fleet v1.0.0 and as fleet 0.13.
func TestCheckMetadataPatchAgainstFleetsim(t *testing.T) {
	tests := []struct {
		version     string
		unsupported bool
	}{
		{"1.0.0", false},
		{"0.13.0", true},
	}
	for _, tc := range tests {
		t.Run(tc.version, func(t *testing.T) {
			sim, err := fleetsim.New(fleetsim.Options{Version: tc.version})
			require.NoError(t, err)
			t.Cleanup(sim.Close)
			require.NoError(t, sim.AddMachine(simM1, "10.0.0.1", nil))
			srv := httptest.NewServer(sim)
			t.Cleanup(srv.Close)
			c := newTestClient(t, srv.URL)
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
			defer cancel()

			err = c.CheckMetadataPatch(ctx)
			if !tc.unsupported {
				require.NoError(t, err)
			} else {
				require.ErrorIs(t, err, ErrMetadataPatchUnsupported)
				require.ErrorContains(t, err, "fleetd/0.13.0")
			}
			require.Len(t, sim.Journal(), 1)
			require.False(t, sim.Journal()[0].Mutating(), "the probe is not a mutation")
			ms, err := c.Machines(ctx)
			require.NoError(t, err, "listing works in both versions")
			require.Empty(t, ms[0].Metadata, "the probe changed no metadata")
		})
	}
}
