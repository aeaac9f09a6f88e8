package awsops

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"
)

// imdsServer serves IMDSv2: a token from PUT /latest/api/token, metadata
// GETs only with that token. It counts token requests.
func imdsServer(t *testing.T, meta map[string]string) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var tokens atomic.Int32
	const token = "tok-123"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/latest/api/token" {
			if r.Method != http.MethodPut || r.Header.Get("X-Aws-Ec2-Metadata-Token-Ttl-Seconds") == "" {
				http.Error(w, "bad token request", http.StatusBadRequest)
				return
			}
			tokens.Add(1)
			w.Header().Set("X-Aws-Ec2-Metadata-Token-Ttl-Seconds", r.Header.Get("X-Aws-Ec2-Metadata-Token-Ttl-Seconds"))
			_, _ = w.Write([]byte(token))
			return
		}
		if r.Header.Get("X-Aws-Ec2-Metadata-Token") != token {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		v, ok := meta[strings.TrimPrefix(r.URL.Path, "/latest/meta-data/")]
		if !ok || r.Method != http.MethodGet {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write([]byte(v))
	}))
	t.Cleanup(srv.Close)
	return srv, &tokens
}

func TestLoadIdentity(t *testing.T) {
	good := map[string]string{
		"instance-id":                 "i-0123456789abcdef0",
		"placement/availability-zone": "us-east-1a",
		"local-ipv4":                  "10.0.1.23",
		"placement/region":            "us-east-1",
	}
	with := func(k, v string) map[string]string {
		m := map[string]string{}
		for kk, vv := range good {
			m[kk] = vv
		}
		if v == "" {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	for _, tc := range []struct {
		name    string
		meta    map[string]string
		wantErr string
	}{
		{"ok", good, ""},
		{"bad instance id", with("instance-id", "web-1"), `imds instance-id "web-1"`},
		{"az of another region", with("placement/availability-zone", "eu-west-1a"), `placement/availability-zone "eu-west-1a" is not a zone of region "us-east-1"`},
		{"ipv6 address", with("local-ipv4", "fe80::1"), `local-ipv4 "fe80::1"`},
		{"bad region", with("placement/region", "moon"), `placement/region "moon"`},
		{"missing path", with("local-ipv4", ""), "read imds local-ipv4"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, tokens := imdsServer(t, tc.meta)
			id, err := LoadIdentity(testCtx(t, 10*time.Second), srv.URL, zerolog.Nop())
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, Identity{InstanceID: "i-0123456789abcdef0", AvailabilityZone: "us-east-1a", PrivateIP: "10.0.1.23", Region: "us-east-1"}, id)
			require.Positive(t, tokens.Load(), "got no IMDSv2 token request, want at least one")
		})
	}
	_, err := LoadIdentity(t.Context(), "not a url", zerolog.Nop())
	require.ErrorContains(t, err, `IMDSEndpoint "not a url"`)
}

// TestSDKLogLinesAreJSON: an IMDS that refuses the IMDSv2 token makes the SDK
// fall back to IMDSv1 and say so; the line goes through zerolog as JSON with
// the rest of the log (issue 15 §4).
func TestSDKLogLinesAreJSON(t *testing.T) {
	meta := map[string]string{"instance-id": "i-0123456789abcdef0", "placement/availability-zone": "us-east-1a",
		"local-ipv4": "10.0.1.23", "placement/region": "us-east-1"}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut {
			http.Error(w, "token service off", http.StatusForbidden)
			return
		}
		v, ok := meta[strings.TrimPrefix(r.URL.Path, "/latest/meta-data/")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write([]byte(v))
	}))
	t.Cleanup(srv.Close)
	var buf bytes.Buffer
	_, err := LoadIdentity(testCtx(t, 10*time.Second), srv.URL, zerolog.New(&buf))
	require.NoError(t, err, "IMDSv1 answers")
	var found bool
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &m), "every log line is JSON: %s", line)
		found = found || (m["source"] == "aws-sdk" && strings.Contains(fmt.Sprint(m["message"]), "IMDSv1"))
	}
	require.True(t, found, "the SDK's IMDSv1 fallback warning in the log, got: %s", buf.String())
}
