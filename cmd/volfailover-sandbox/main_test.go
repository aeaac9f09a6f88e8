package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestRunUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no command", nil, 2, "usage: volfailover-sandbox"},
		{"unknown command", []string{"explode"}, 2, `unknown command "explode"`},
		{"host action without a name", []string{"kill-host"}, 2, "usage: volfailover-sandbox kill-host NAME"},
		{"etcd partition without a name", []string{"partition-etcd"}, 2, "usage: volfailover-sandbox partition-etcd NAME"},
		{"pair partition with one host", []string{"partition-pair", "core1"}, 2, "usage: volfailover-sandbox partition-pair A B"},
		{"one-way partition with three hosts", []string{"partition-oneway", "core1", "core2", "core3"}, 2, "usage: volfailover-sandbox partition-oneway FROM TO"},
		{"bad profile", []string{"up", "-profile", "mars", "-dir", "/tmp/x"}, 2, `profile "mars"`},
		{"too few hosts", []string{"demo", "-hosts", "1", "-dir", "/tmp/x"}, 2, "hosts: 1 must be between 2 and 200"},
		{"exec-postgres with a bad volume", []string{"exec-postgres", "--volume", "disk1"}, 1, `volume: "disk1" is not an EBS volume ID`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := run(context.Background(), tt.args, &out, &errOut)
			require.Equal(t, tt.code, code, "got exit %d want %d; stderr %q", code, tt.code, errOut.String())
			require.Contains(t, errOut.String(), tt.want)
		})
	}
}

func TestControlEndpointResolution(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	t.Setenv("SANDBOX_ENDPOINT", "")

	_, err := controlEndpoint("")
	require.ErrorContains(t, err, "no -endpoint")

	require.NoError(t, os.WriteFile(filepath.Join(dir, envFile), []byte("ETCD_ENDPOINTS=http://127.0.0.1:1\nSANDBOX_ENDPOINT=http://127.0.0.1:2\n"), 0o644))
	got, err := controlEndpoint("")
	require.NoError(t, err)
	require.Equal(t, "http://127.0.0.1:2", got, "from sandbox.env")

	t.Setenv("SANDBOX_ENDPOINT", "http://127.0.0.1:3")
	got, err = controlEndpoint("")
	require.NoError(t, err)
	require.Equal(t, "http://127.0.0.1:3", got, "the environment wins over the file")

	got, err = controlEndpoint("http://127.0.0.1:4")
	require.NoError(t, err)
	require.Equal(t, "http://127.0.0.1:4", got, "the flag wins over everything")
}
