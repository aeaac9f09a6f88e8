package fleetsim

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	testclock "k8s.io/utils/clock/testing"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const (
	idA = "aaaaaaaa00000000000000000000000a"
	idB = "bbbbbbbb00000000000000000000000b"
	idC = "cccccccc00000000000000000000000c"
)

const (
	testTTL    = 10 * time.Second
	testEngine = 2 * time.Second
	testAgent  = 5 * time.Second
)

// env is a sim on a fake clock behind an httptest server.
type env struct {
	t    *testing.T
	sim  *Sim
	clk  *testclock.FakeClock
	exec *MemExecutor
	srv  *httptest.Server
}

// newEnv builds a sim with fleet's default timing except a shorter TTL;
// tune adjusts the options further.
func newEnv(t *testing.T, tune ...func(*Options)) *env {
	t.Helper()
	clk := testclock.NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	exec := NewMemExecutor(clk)
	o := Options{
		MachineTTL: testTTL, EngineInterval: testEngine, AgentInterval: testAgent,
		Clock: clk, Executor: exec,
	}
	for _, f := range tune {
		f(&o)
	}
	sim, err := New(o)
	require.NoError(t, err)
	srv := httptest.NewServer(sim)
	t.Cleanup(func() {
		srv.Close()
		sim.Close()
	})
	return &env{t: t, sim: sim, clk: clk, exec: exec, srv: srv}
}

type resp struct {
	code   int
	header http.Header
	body   string
}

// do sends a raw request; a non-empty body is sent as application/json
// unless hdr sets Content-Type itself.
func (e *env) do(method, path, body string, hdr ...string) resp {
	e.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	require.NoError(e.t, err)
	setCT := body != ""
	for i := 0; i+1 < len(hdr); i += 2 {
		if http.CanonicalHeaderKey(hdr[i]) == "Content-Type" {
			setCT = false
		}
		req.Header.Add(hdr[i], hdr[i+1])
	}
	if setCT {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := e.srv.Client().Do(req)
	require.NoError(e.t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(e.t, err)
	return resp{code: res.StatusCode, header: res.Header, body: string(b)}
}

// must sends a request and requires the status.
func (e *env) must(code int, method, path, body string) string {
	e.t.Helper()
	r := e.do(method, path, body)
	require.Equal(e.t, code, r.code, "%s %s: got %d %s, want %d", method, path, r.code, r.body, code)
	return r.body
}

func (e *env) addMachine(id string, md map[string]string) {
	e.t.Helper()
	require.NoError(e.t, e.sim.AddMachine(id, ipOf(id), md))
}

// step advances the fake clock.
func (e *env) step(d time.Duration) { e.clk.Step(d) }

// advanceStep is how far eventually moves the fake clock between looks.
const advanceStep = 100 * time.Millisecond

// eventually moves the fake clock forward advanceStep at a time, giving the
// sim's goroutines real time to react after each step, until cond holds; it
// fails after 10 s of real time. msg says what was awaited. Nothing in the
// sim happens without the clock, so a test that waits for fleet to act must
// let fake time pass, as much as fleet's own timers need.
func (e *env) eventually(cond func() bool, msg string, args ...any) {
	e.t.Helper()
	start := e.clk.Now()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			require.FailNow(e.t, "condition never satisfied", "%s (fake clock advanced %s)", fmt.Sprintf(msg, args...), e.clk.Since(start))
		}
		e.clk.Step(advanceStep)
		time.Sleep(2 * time.Millisecond)
	}
}

// settled waits in real time (not on the fake clock) for cond, for what the
// sim's goroutines do after a step that already fired their timers.
func (e *env) settled(cond func() bool, msg string, args ...any) {
	e.t.Helper()
	require.Eventually(e.t, cond, 5*time.Second, 2*time.Millisecond, append([]any{msg}, args...)...)
}

// quiet requires cond to stay false for a moment of real time at the
// current fake time: nothing the sim's goroutines still had to do makes it
// true.
//
// It polls in the test's own goroutine: require.Never runs cond in a
// goroutine of its own and can return while a call is still in flight, which
// then fails (an HTTP call to a closed server) after the test has ended.
func (e *env) quiet(cond func() bool, msg string, args ...any) {
	e.t.Helper()
	for end := time.Now().Add(100 * time.Millisecond); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
		if cond() {
			e.t.Fatalf("condition became true, want it to stay false: "+msg, args...)
		}
	}
}

func (e *env) waitRunning(unit string, ids ...string) {
	e.t.Helper()
	e.eventually(func() bool { return equalIDs(e.sim.Running(unit), ids) },
		"unit %s running on %v (now %v)", unit, ids, func() []string { return e.sim.Running(unit) }())
}

func (e *env) waitAssigned(unit, id string) {
	e.t.Helper()
	e.eventually(func() bool { got, _ := e.sim.Assignment(unit); return got == id },
		"unit %s assigned to %q", unit, id)
}

func equalIDs(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// pgUnit is the postgres unit body the failover controller submits.
const pgUnit = `{"desiredState":"launched","options":[
 {"section":"Service","name":"ExecStart","value":"/usr/bin/postgres -D /data/%i"},
 {"section":"X-Fleet","name":"MachineMetadata","value":"postgres=%i"},
 {"section":"X-Fleet","name":"Conflicts","value":"postgres*"}]}`

func patchBody(op, id, key, value string) string {
	if op == "remove" {
		return `[{"op":"remove","path":"/` + id + `/metadata/` + key + `"}]`
	}
	return `[{"op":"` + op + `","path":"/` + id + `/metadata/` + key + `","value":{"value":"` + value + `"}}]`
}

// ipOf gives each test machine a stable primary IP.
func ipOf(id string) string {
	return map[string]string{idA: "10.0.0.1", idB: "10.0.0.2", idC: "10.0.0.3"}[id]
}
