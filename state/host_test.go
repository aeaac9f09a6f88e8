package state

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseHost(t *testing.T) {
	k := Keys{Prefix: "/vf"}
	const id = "i-0123456789abcdef0"
	good := `{"instance":"i-0123456789abcdef0","machine":"m1","az":"us-east-1a","privateIp":"10.0.0.1","healthUrl":"http://10.0.0.1:9437/healthz","nofailover":true,"since":"2026-03-01T12:00:00Z"}`
	h, err := k.ParseHost(kv(k.Host(id), good))
	require.NoError(t, err)
	require.Equal(t, Host{Instance: id, Machine: "m1", AZ: "us-east-1a", PrivateIP: "10.0.0.1", HealthURL: "http://10.0.0.1:9437/healthz",
		NoFailover: true, Since: h.Since}, h)
	require.False(t, h.Since.IsZero())

	for _, tt := range []struct{ name, key, value, wantErr string }{
		{"not JSON", k.Host(id), `{`, "registry key /vf/hosts/i-0123456789abcdef0: unexpected end of JSON input"},
		{"bad instance", k.Host("web-1"), `{"instance":"web-1","machine":"m1","az":"a","privateIp":"10.0.0.1"}`, `instance: "web-1" is not an EC2 instance ID`},
		{"no machine", k.Host(id), `{"instance":"i-0123456789abcdef0","az":"a","privateIp":"10.0.0.1"}`, "machine: empty for i-0123456789abcdef0"},
		{"no az", k.Host(id), `{"instance":"i-0123456789abcdef0","machine":"m1","privateIp":"10.0.0.1"}`, "az: empty for i-0123456789abcdef0"},
		{"bad ip", k.Host(id), `{"instance":"i-0123456789abcdef0","machine":"m1","az":"a","privateIp":"ten"}`, `privateIp: "ten" is not an IP address`},
		{"bad health URL", k.Host(id), `{"instance":"i-0123456789abcdef0","machine":"m1","az":"a","privateIp":"10.0.0.1","healthUrl":"ftp://x"}`, `healthUrl: "ftp://x" is not an http URL`},
		{"key names another instance", k.Host("i-0aaaaaaaaaaaaaaa1"), good, `registry key /vf/hosts/i-0aaaaaaaaaaaaaaa1: names instance "i-0123456789abcdef0"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := k.ParseHost(kv(tt.key, tt.value))
			require.ErrorContains(t, err, tt.wantErr)
		})
	}
}

func TestValidInstanceID(t *testing.T) {
	for id, want := range map[string]bool{
		"i-0123abcd": true, "i-0123456789abcdef0": true,
		"i-0123abc": false, "i-0123456789abcdef01": false, "i-0123ABCD": false, "web-1": false, "": false,
	} {
		require.Equal(t, want, ValidInstanceID(id), "ValidInstanceID(%q): got %t want %t", id, !want, want)
	}
}
