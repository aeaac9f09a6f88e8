package main

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// lockedBuffer collects the process's stdout safely across goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

const seedJSON = `{
 "machines": [
  {"id":"aaaaaaaa00000000000000000000000a","primaryIP":"127.0.1.1","metadata":{"az":"a","postgres":"vol-1"}},
  {"id":"bbbbbbbb00000000000000000000000b","primaryIP":"127.0.1.2"}
 ],
 "units": [
  {"name":"postgres@vol-1.service","desiredState":"launched",
   "text":"[Service]\nExecStart=/usr/bin/postgres \\\n  -D /data/%i\n[X-Fleet]\nMachineMetadata=postgres=%i\nConflicts=postgres*\n"}
 ]
}`

func TestParseFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
		err  string
	}{
		{"defaults", nil, ""},
		{"non-loopback listen", []string{"-listen", "0.0.0.0:1"}, "loopback"},
		{"bad listen", []string{"-listen", "nope"}, "flag -listen"},
		{"zero ttl", []string{"-machine-ttl", "0s"}, "flag -machine-ttl: must be positive"},
		{"short timing", []string{"-engine-interval", "100ms", "-engine-watch-sleep", "10ms", "-agent-watch-sleep", "10ms", "-state-removal-delay", "50ms"}, ""},
		{"zero watch sleep", []string{"-agent-watch-sleep", "0s"}, "flag -agent-watch-sleep: must be positive"},
		{"instant", []string{"-instant"}, ""},
		{"old fleet", []string{"-fleet-version", "0.13.0"}, ""},
		{"bad fleet version", []string{"-fleet-version", "1.0"}, "flag -fleet-version"},
		{"bad token limit", []string{"-token-limit", "0"}, "flag -token-limit"},
		{"stray argument", []string{"x"}, "unexpected arguments"},
		{"bad level", []string{"-log-level", "loud"}, "flag -log-level"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseFlags(tc.args, io.Discard)
			if tc.err == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tc.err)
		})
	}
}

func TestBadSeed(t *testing.T) {
	for name, seed := range map[string]string{
		"unknown field": `{"machines":[],"extra":1}`,
		"bad id":        `{"machines":[{"id":"xyz","primaryIP":"127.0.1.1"}]}`,
		"bad unit":      `{"units":[{"name":"a.service","text":"ExecStart=/x\n"}]}`,
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "seed.json")
			require.NoError(t, os.WriteFile(path, []byte(seed), 0o600))
			var stderr lockedBuffer
			code := run(t.Context(), []string{"-listen", "127.0.0.1:0", "-seed", path}, io.Discard, &stderr)
			require.Equal(t, 1, code, "stderr: %s", stderr.String())
			require.Contains(t, stderr.String(), "seed")
		})
	}
}

// TestFleetctlFlow replays the requests fleetctl's HTTP driver makes.
func TestFleetctlFlow(t *testing.T) {
	path := filepath.Join(t.TempDir(), "seed.json")
	require.NoError(t, os.WriteFile(path, []byte(seedJSON), 0o600))
	ctx, cancel := context.WithCancel(t.Context())
	var stdout, stderr lockedBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"-listen", "127.0.0.1:0", "-seed", path, "-engine-interval", "50ms", "-agent-interval", "100ms", "-machine-ttl", "2s",
			"-engine-watch-sleep", "20ms", "-agent-watch-sleep", "20ms", "-state-poll-interval", "50ms"}, &stdout, &stderr)
	}()
	defer func() {
		cancel()
		select {
		case code := <-done:
			require.Equal(t, 0, code, "stderr: %s", stderr.String())
		case <-time.After(10 * time.Second):
			t.Fatal("fleetsim did not shut down within 10s")
		}
	}()
	require.Eventually(t, func() bool { return strings.HasPrefix(stdout.String(), "listening on ") }, 10*time.Second, 10*time.Millisecond, "fleetsim printed its address")
	base := "http://" + strings.TrimSpace(strings.TrimPrefix(stdout.String(), "listening on "))

	call := func(method, p, body string) (int, string) {
		req, err := http.NewRequestWithContext(ctx, method, base+p, strings.NewReader(body))
		require.NoError(t, err)
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		require.NoError(t, err)
		return res.StatusCode, string(b)
	}
	// list-machines
	code, body := call("GET", "/fleet/v1/machines?alt=json", "")
	require.Equal(t, 200, code)
	require.Contains(t, body, `"metadata":{"az":"a","postgres":"vol-1"}`)
	// list-units waits until the seeded unit runs on its metadata host.
	require.Eventually(t, func() bool {
		_, b := call("GET", "/fleet/v1/state?alt=json", "")
		return strings.Contains(b, `"machineID":"aaaaaaaa00000000000000000000000a","name":"postgres@vol-1.service","systemdActiveState":"active"`)
	}, 10*time.Second, 20*time.Millisecond, "seeded unit active on machine a")
	// cat
	code, body = call("GET", "/fleet/v1/units/postgres%40vol-1.service?alt=json", "")
	require.Equal(t, 200, code)
	require.Contains(t, body, `{"name":"ExecStart","section":"Service","value":"/usr/bin/postgres -D /data/%i"}`)
	// list-unit-files
	code, _ = call("GET", "/fleet/v1/units?alt=json", "")
	require.Equal(t, 200, code)
	// submit + start a new unit, as fleetctl start does
	code, body = call("PUT", "/fleet/v1/units/hello.service?alt=json", `{"name":"hello.service","desiredState":"inactive","options":[{"section":"Service","name":"ExecStart","value":"/bin/hello"}]}`)
	require.Equal(t, 201, code, body)
	code, body = call("PUT", "/fleet/v1/units/hello.service?alt=json", `{"name":"hello.service","desiredState":"launched"}`)
	require.Equal(t, 204, code, body)
	require.Eventually(t, func() bool {
		_, b := call("GET", "/fleet/v1/units/hello.service?alt=json", "")
		return strings.Contains(b, `"currentState":"launched"`)
	}, 10*time.Second, 20*time.Millisecond, "hello.service launched")
	// stop, destroy
	code, _ = call("PUT", "/fleet/v1/units/hello.service?alt=json", `{"name":"hello.service","desiredState":"loaded"}`)
	require.Equal(t, 204, code)
	code, _ = call("DELETE", "/fleet/v1/units/hello.service?alt=json", "")
	require.Equal(t, 204, code)
	code, _ = call("GET", "/fleet/v1/units/hello.service?alt=json", "")
	require.Equal(t, 404, code)
	// the journal saw it all
	code, body = call("GET", "/_sim/journal", "")
	require.Equal(t, 200, code)
	require.Contains(t, body, `"method":"DELETE","path":"/fleet/v1/units/hello.service","query":"alt=json"`)
}
