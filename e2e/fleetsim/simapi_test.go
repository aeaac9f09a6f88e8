package fleetsim

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSimSurface(t *testing.T) {
	e := newEnv(t)
	steps := []struct {
		method, path, body string
		code               int
	}{
		{"POST", "/_sim/machines", `{"id":"` + idA + `","primaryIP":"10.0.0.1","metadata":{"az":"a"}}`, 201},
		{"POST", "/_sim/machines", `{"id":"` + idA + `","primaryIP":"10.0.0.1"}`, 409},
		{"POST", "/_sim/machines", `{"id":"xyz","primaryIP":"10.0.0.1"}`, 400},
		{"POST", "/_sim/machines", `{"id":"` + idB + `","primaryIP":"10.0.0.2","zone":"a"}`, 400},
		{"POST", "/_sim/machines", `{"id":"` + idB + `","primaryIP":"nope"}`, 400},
		{"POST", "/_sim/machines/" + idB + "/kill", "", 404},
		{"POST", "/_sim/machines/" + idA + "/explode", "", 404},
		{"POST", "/_sim/machines/" + idA + "/revive", "", 409},
		{"POST", "/_sim/machines/" + idA + "/partition", "", 204},
		{"POST", "/_sim/machines/" + idA + "/heal", "", 204},
		{"POST", "/_sim/machines/" + idA + "/kill", "", 204},
		{"POST", "/_sim/machines/" + idA + "/kill", "", 409},
		{"POST", "/_sim/machines/" + idA + "/revive", "", 204},
		{"POST", "/_sim/engine", "", 204},
		{"GET", "/_sim/running/x.service", "", 200},
	}
	for _, s := range steps {
		r := e.do(s.method, s.path, s.body)
		require.Equal(t, s.code, r.code, "%s %s %s: got %d %s", s.method, s.path, s.body, r.code, r.body)
	}
	require.Empty(t, e.sim.Journal(), "the test surface is not journaled")
	e.must(200, "GET", "/fleet/v1/machines?alt=json", "")
	e.do("PUT", "/fleet/v1/units/x", `{}`)
	j := e.sim.Journal()
	require.Len(t, j, 2)
	require.Equal(t, Request{Time: e.clk.Now(), Applied: e.clk.Now(), Method: "PUT", Path: "/fleet/v1/units/x", Body: "{}", Status: 400, UserAgent: "Go-http-client/1.1"}, j[1], "a request is applied as it is received")
	require.Equal(t, "alt=json", j[0].Query)
	e.must(204, "DELETE", "/_sim/journal", "")
	require.Equal(t, "[]", e.must(200, "GET", "/_sim/journal", ""))
}

func TestJournalAttributesCallers(t *testing.T) {
	tests := []struct {
		method, body string
		mutating     bool
	}{
		{"GET", "", false},
		{"PUT", `{"desiredState":"launched"}`, true},
		{"PATCH", `[{"op":"remove","path":"/m/metadata/k"}]`, true},
		{"PATCH", `not json`, true},
		{"PATCH", `[]`, false},
		{"PATCH", ` [ ] `, false},
		{"PATCH", `null`, false},
		{"DELETE", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.body, func(t *testing.T) {
			require.Equal(t, tt.mutating, Request{Method: tt.method, Body: tt.body}.Mutating(), "Mutating() of %s %s: got … want", tt.method, tt.body)
		})
	}
}
