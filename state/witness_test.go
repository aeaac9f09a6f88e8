package state

import (
	"testing"
	"time"

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
		{name: "empty list", raw: `[]`, want: []Owner{}},
		{name: "bad health URL", raw: `[{"instance":"i-0123456789abcdef0","az":"us-east-1a","privateIp":"127.0.1.1","healthUrl":"ftp://x/healthz"}]`, wantErr: `owners list entry 0: healthUrl "ftp://x/healthz" is not an http(s) URL`},
		{name: "health URL without host", raw: `[{"instance":"i-0123456789abcdef0","az":"us-east-1a","privateIp":"127.0.1.1","healthUrl":"http:///healthz"}]`, wantErr: `healthUrl "http:///healthz"`},
		{name: "missing AZ", raw: `[{"instance":"i-0123456789abcdef0","privateIp":"127.0.1.1"}]`, wantErr: `owners list entry 0: instance "i-0123456789abcdef0" az "" privateIp "127.0.1.1": incomplete`},
		{name: "bad instance in second entry", raw: `[{"instance":"i-0123456789abcdef0","az":"a","privateIp":"127.0.1.1"},{"instance":"web","az":"a","privateIp":"127.0.1.2"}]`, wantErr: `owners list entry 1: instance "web"`},
		{name: "bad IP", raw: `[{"instance":"i-0123456789abcdef0","az":"a","privateIp":"x"}]`, wantErr: `privateIp "x": incomplete`},
		{name: "not JSON", raw: `{`, wantErr: "owners list"},
		{name: "object, not list", raw: `{"instance":"i-0123456789abcdef0"}`, wantErr: "owners list: json: cannot unmarshal object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseOwners([]byte(tt.raw))
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr, "ParseOwners(%s): got … want error", tt.raw)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got, "ParseOwners(%s): got … want", tt.raw)
		})
	}
}

func TestParseReport(t *testing.T) {
	k := Keys{Prefix: "/vf"}
	const owner, wit = "i-0aaaaaaaaaaaaaaa1", "i-0bbbbbbbbbbbbbbb2"
	r, err := k.ParseReport(kv(k.WitnessReport(owner, wit), `{"owner":"i-0aaaaaaaaaaaaaaa1","witness":"i-0bbbbbbbbbbbbbbb2","reachable":false,"at":"2026-03-01T12:00:00Z","detail":"refused"}`))
	require.NoError(t, err)
	require.Equal(t, Report{Owner: owner, Witness: wit, At: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC), Detail: "refused"}, r)
	r, err = k.ParseReport(kv(k.WitnessReport(owner, wit), `{"owner":"i-0aaaaaaaaaaaaaaa1","witness":"i-0bbbbbbbbbbbbbbb2","reachable":false,"at":"2026-03-01T12:00:00Z","since":"2026-03-01T11:59:57.5Z"}`))
	require.NoError(t, err)
	require.Equal(t, 2500*time.Millisecond, r.At.Sub(r.Since), "an unreachable report proves its span")

	for _, tt := range []struct{ name, key, value, wantErr string }{
		{"key outside the witness prefix", "/vf/hosts/" + owner, `{}`, `witness report: key "/vf/hosts/i-0aaaaaaaaaaaaaaa1" is not under "/vf/witness/"`},
		{"key without witness", k.WitnessOwner(owner), `{}`, `is not <prefix>/witness/<owner>/<witness>`},
		{"not JSON", k.WitnessReport(owner, wit), `{`, "witness report /vf/witness/i-0aaaaaaaaaaaaaaa1/i-0bbbbbbbbbbbbbbb2: unexpected end of JSON input"},
		{"names another owner", k.WitnessReport(owner, wit), `{"owner":"i-0ccccccccccccccc3","witness":"i-0bbbbbbbbbbbbbbb2","reachable":true,"at":"2026-03-01T12:00:00Z"}`,
			`names owner "i-0ccccccccccccccc3" witness "i-0bbbbbbbbbbbbbbb2"`},
		{"since after at", k.WitnessReport(owner, wit), `{"owner":"i-0aaaaaaaaaaaaaaa1","witness":"i-0bbbbbbbbbbbbbbb2","reachable":false,"at":"2026-03-01T12:00:00Z","since":"2026-03-01T12:00:01Z"}`,
			"since 2026-03-01T12:00:01Z with reachable false at 2026-03-01T12:00:00Z"},
		{"since on a reachable report", k.WitnessReport(owner, wit), `{"owner":"i-0aaaaaaaaaaaaaaa1","witness":"i-0bbbbbbbbbbbbbbb2","reachable":true,"at":"2026-03-01T12:00:00Z","since":"2026-03-01T11:59:59Z"}`,
			"with reachable true"},
		{"names another witness", k.WitnessReport(owner, wit), `{"owner":"i-0aaaaaaaaaaaaaaa1","witness":"i-0ccccccccccccccc3","reachable":true,"at":"2026-03-01T12:00:00Z"}`,
			`names owner "i-0aaaaaaaaaaaaaaa1" witness "i-0ccccccccccccccc3"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := k.ParseReport(kv(tt.key, tt.value))
			require.ErrorContains(t, err, tt.wantErr)
		})
	}
}
