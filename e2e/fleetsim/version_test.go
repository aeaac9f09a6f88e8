package fleetsim

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// fleet before v1.0.0 has no dynamic metadata: its machines resource
// answers every method but GET with 400 (api/machines.go at tag v0.13.0).
func TestVersionWithoutMetadataPatch(t *testing.T) {
	tests := []struct {
		version string
		code    int
		body    string
	}{
		{"1.0.0", 204, ``},
		{"0.13.0", 400, `{"error":{"code":400,"message":"only HTTP GET supported against this resource"}}`},
		{"0.11.8", 400, `{"error":{"code":400,"message":"only HTTP GET supported against this resource"}}`},
	}
	for _, tc := range tests {
		t.Run(tc.version, func(t *testing.T) {
			e := newEnv(t, func(o *Options) { o.Version = tc.version })
			e.addMachine(idA, nil)
			r := e.do("PATCH", "/fleet/v1/machines", `[]`)
			require.Equal(t, tc.code, r.code, "PATCH [] to fleet %s: got %d %s", tc.version, r.code, r.body)
			require.Equal(t, "fleetd/"+tc.version, r.header.Get("Server"))
			if tc.body != "" {
				require.JSONEq(t, tc.body, r.body)
			}
			require.Equal(t, 200, e.do("GET", "/fleet/v1/machines", "").code, "GET works in every version")
		})
	}
}

func TestVersionValidated(t *testing.T) {
	for _, v := range []string{"1.0", "v1.0.0", "1.0.x", "-1.0.0"} {
		_, err := New(Options{Version: v})
		require.ErrorContains(t, err, "Version", "version %q must be refused", v)
	}
}
