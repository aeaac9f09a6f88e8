package controller

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseOwners(t *testing.T) {
	tests := []struct {
		name    string
		raw     string
		wantErr string
		want    []Owner
	}{
		{name: "complete", raw: `[{"instance":"i-0123456789abcdef0","az":"us-east-1a","privateIp":"127.0.1.1","volume":"vol-0123456789abcdef0","healthUrl":"http://127.0.1.1:9090/healthz"}]`,
			want: []Owner{{Instance: "i-0123456789abcdef0", AZ: "us-east-1a", PrivateIP: "127.0.1.1", Volume: "vol-0123456789abcdef0", HealthURL: "http://127.0.1.1:9090/healthz"}}},
		{name: "health URL optional", raw: `[{"instance":"i-0123456789abcdef0","az":"us-east-1a","privateIp":"127.0.1.1","volume":"vol-0123456789abcdef0"}]`,
			want: []Owner{{Instance: "i-0123456789abcdef0", AZ: "us-east-1a", PrivateIP: "127.0.1.1", Volume: "vol-0123456789abcdef0"}}},
		{name: "bad health URL", raw: `[{"instance":"i-0123456789abcdef0","az":"us-east-1a","privateIp":"127.0.1.1","healthUrl":"ftp://x/healthz"}]`, wantErr: `healthUrl "ftp://x/healthz"`},
		{name: "missing AZ", raw: `[{"instance":"i-0123456789abcdef0","privateIp":"127.0.1.1"}]`, wantErr: "incomplete"},
		{name: "not JSON", raw: `{`, wantErr: "owners list"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseOwners([]byte(tt.raw))
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr, "parseOwners(%s): got … want error", tt.raw)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got, "parseOwners(%s): got … want", tt.raw)
		})
	}
}
