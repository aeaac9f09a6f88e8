package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/volfailover/volfailover/e2e/ec2sim"
	"github.com/volfailover/volfailover/internal/testlog"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const seed = `{"instances":[{"id":"i-0a1b2c3d","az":"us-east-1a","privateIp":"127.0.1.1","state":"running","tags":{"Name":"core1"}}],
 "volumes":[{"id":"vol-0b1c2d3e","az":"us-east-1a","size":50,"tags":{"volfailover:managed":"true"},"attachment":{"instanceId":"i-0a1b2c3d","device":"/dev/xvdb"}}]}`

func TestFlagValidation(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"non-loopback listen", []string{"-listen", "0.0.0.0:8080"}, "loopback"},
		{"hostname listen", []string{"-listen", "example.com:80"}, "loopback"},
		{"listen without port", []string{"-listen", "127.0.0.1"}, `-listen "127.0.0.1"`},
		{"bad profile", []string{"-profile", "fast"}, `"fast"`},
		{"bad log level", []string{"-log-level", "loud"}, `"loud"`},
		{"stray argument", []string{"extra"}, "unexpected arguments"},
		{"unknown flag", []string{"-port", "1"}, "-port"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stderr bytes.Buffer
			code := run(context.Background(), tc.args, io.Discard, &stderr)
			require.Equal(t, 2, code, "exit code; stderr: %s", stderr.String())
			require.Contains(t, stderr.String(), tc.want)
		})
	}
}

func TestBadSeedFile(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "seed.json")
	require.NoError(t, os.WriteFile(bad, []byte(`{"instances":[{"id":"i-0a1","az":"us-east-1a"}]}`), 0o644))
	tests := []struct {
		name, path, want string
	}{
		{"invalid id", bad, `instances[0].id: \"i-0a1\"`},
		{"missing file", filepath.Join(dir, "nope.json"), "nope.json"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stderr bytes.Buffer
			code := run(context.Background(), []string{"-seed", tc.path}, io.Discard, &stderr)
			require.Equal(t, 1, code, "exit code; stderr: %s", stderr.String())
			require.Contains(t, stderr.String(), tc.want)
		})
	}
}

func TestServeAndShutdown(t *testing.T) {
	dir := t.TempDir()
	seedPath := filepath.Join(dir, "seed.json")
	require.NoError(t, os.WriteFile(seedPath, []byte(seed), 0o644))
	root := filepath.Join(dir, "root")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	outR, outW := io.Pipe()
	var stderr testlog.Buffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"-listen", "127.0.0.1:0", "-seed", seedPath, "-profile", "aws-typical", "-root", root}, outW, &stderr)
		outW.Close()
	}()

	lines := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(outR).ReadString('\n')
		lines <- line
		_, _ = io.Copy(io.Discard, outR)
	}()
	var line string
	select {
	case line = <-lines:
	case <-time.After(10 * time.Second):
		t.Fatalf("no listen address printed within 10 s; stderr: %s", stderr.String())
	}
	require.True(t, strings.HasPrefix(line, "listening on http://127.0.0.1:"), "got %q", line)
	base := strings.TrimSpace(strings.TrimPrefix(line, "listening on "))

	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.PostForm(base+"/", url.Values{"Action": {"DescribeVolumes"}, "Version": {"2016-11-15"}})
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	require.Contains(t, string(body), "<volumeId>vol-0b1c2d3e</volumeId>")
	require.Contains(t, string(body), "<status>attached</status>")

	// The default instance type is Nitro: the volume shows as an NVMe device,
	// found by its ID under dev/disk/by-id.
	target, err := filepath.EvalSymlinks(filepath.Join(root, "hosts", "i-0a1b2c3d", "dev", "disk", "by-id", ec2sim.NVMeByIDName("vol-0b1c2d3e")))
	require.NoError(t, err, "seeded attachment linked under -root")
	want, err := filepath.EvalSymlinks(filepath.Join(root, "volumes", "vol-0b1c2d3e"))
	require.NoError(t, err)
	require.Equal(t, want, target)
	client.CloseIdleConnections()

	cancel()
	select {
	case code := <-done:
		require.Equal(t, 0, code, "exit code; stderr: %s", stderr.String())
	case <-time.After(10 * time.Second):
		t.Fatal("run did not return within 10 s of cancellation")
	}
	require.Contains(t, stderr.String(), `"message":"shutting down"`)
}
