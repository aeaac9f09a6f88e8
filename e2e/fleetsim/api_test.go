package fleetsim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestRoutes(t *testing.T) {
	e := newEnv(t)
	e.addMachine(idA, nil)
	e.must(201, "PUT", "/fleet/v1/units/a.service", `{"options":[{"section":"Service","name":"ExecStart","value":"/bin/a"}]}`)
	e.sim.RunEngine()
	tests := []struct {
		method, path string
		code         int
		body         string
	}{
		{"GET", "/", 405, `{"error":{"code":405,"message":""}}`},
		{"GET", "/fleet/v1", 405, `{"error":{"code":405,"message":""}}`},
		{"POST", "/v1-alpha", 405, `{"error":{"code":405,"message":""}}`},
		{"GET", "/bogus", 404, `{"error":{"code":404,"message":""}}`},
		{"GET", "/fleet/v1/", 404, `{"error":{"code":404,"message":""}}`},
		{"GET", "/fleet/v1/machines/" + idA, 404, `{"error":{"code":404,"message":""}}`},
		{"GET", "/fleet/v1/units/", 404, `{"error":{"code":404,"message":""}}`},
		{"GET", "/fleet/v1/units/a.service/x", 404, `{"error":{"code":404,"message":""}}`},
		{"POST", "/fleet/v1/units", 405, `{"error":{"code":405,"message":"only GET supported against this resource"}}`},
		{"POST", "/fleet/v1/state", 405, `{"error":{"code":405,"message":"only GET supported against this resource"}}`},
		{"POST", "/fleet/v1/units/a.service", 405, `{"error":{"code":405,"message":"only GET, PUT and DELETE supported against this resource"}}`},
		{"DELETE", "/fleet/v1/machines", 405, `{"error":{"code":405,"message":"only GET and PATCH supported against this resource"}}`},
		{"POST", "/fleet/v1/discovery", 400, `{"error":{"code":400,"message":"only HTTP GET supported against this resource"}}`},
		{"GET", "/fleet/v1/units/nope.service", 404, `{"error":{"code":404,"message":"unit does not exist"}}`},
		{"DELETE", "/fleet/v1/units/nope.service", 404, `{"error":{"code":404,"message":"unit does not exist"}}`},
		{"GET", "/fleet/v1/state/nope.service", 404, `{"error":{"code":404,"message":"unit state does not exist"}}`},
		{"GET", "/fleet/v1/state", 200, `{}`},
		{"GET", "/v1-alpha/units?alt=json", 200, `{"units":[{"currentState":"inactive","desiredState":"inactive","name":"a.service","options":[{"name":"ExecStart","section":"Service","value":"/bin/a"}]}]}`},
		{"GET", "/fleet/v1/units/a%40b.service?alt=json", 404, `{"error":{"code":404,"message":"unit does not exist"}}`},
		{"GET", "/fleet/v1/machines?alt=json", 200, `{"machines":[{"id":"` + idA + `","primaryIP":"10.0.0.1"}]}`},
	}
	for _, tc := range tests {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			r := e.do(tc.method, tc.path, "")
			require.Equal(t, tc.code, r.code, "status of %s %s: got %d %s", tc.method, tc.path, r.code, r.body)
			require.JSONEq(t, tc.body, r.body)
			require.Equal(t, "application/json", r.header.Get("Content-Type"))
			require.Equal(t, "fleetd/1.0.0", r.header.Get("Server"))
		})
	}
	r := e.do("GET", "/fleet/v1/discovery", "")
	require.Equal(t, 200, r.code)
	require.Contains(t, r.body, `"rootUrl":"$ENDPOINT/"`)
}

func TestPutUnit(t *testing.T) {
	const opts = `"options":[{"section":"Service","name":"ExecStart","value":"/bin/x"}]`
	const opts2 = `"options":[{"section":"Service","name":"ExecStart","value":"/bin/y"}]`
	tests := []struct {
		name     string
		setup    []string // bodies PUT to /units/x.service first (must succeed)
		path     string
		body     string
		hdr      []string
		code     int
		msg      string
		desired  string // desired state after, "" = unit absent
		wantHash string
	}{
		{name: "create without state is inactive", body: `{` + opts + `}`, code: 201, desired: "inactive"},
		{name: "create launched", body: `{"desiredState":"launched",` + opts + `}`, code: 201, desired: "launched"},
		{name: "no content type", body: `{` + opts + `}`, hdr: []string{"Content-Type", ""}, code: 415, msg: "only acceptable Content-Type is application/json", desired: ""},
		{name: "two content types", body: `{` + opts + `}`, hdr: []string{"Content-Type", "application/json", "Content-Type", "application/json"}, code: 415, msg: "expected 1 Content-Type, got 2"},
		{name: "text/plain", body: `{` + opts + `}`, hdr: []string{"Content-Type", "text/plain"}, code: 415, msg: "only acceptable Content-Type is application/json"},
		{name: "charset param ok", body: `{` + opts + `}`, hdr: []string{"Content-Type", "application/json; charset=utf-8"}, code: 201, desired: "inactive"},
		{name: "bad json", body: `{"options":`, code: 400, msg: "unable to decode body: unexpected EOF"},
		{name: "wrong type", body: `{"desiredState":1}`, code: 400, msg: "unable to decode body: json: cannot unmarshal number into Go struct field Unit.desiredState of type string"},
		{name: "name differs", body: `{"name":"y.service",` + opts + `}`, code: 400, msg: `name in URL "x.service" differs from unit name in request body "y.service"`},
		{name: "bad name", path: "/fleet/v1/units/x", body: `{` + opts + `}`, code: 400, msg: `unit name must contain "."`},
		{name: "bad suffix", path: "/fleet/v1/units/x.foo", body: `{` + opts + `}`, code: 400, msg: `invalid unit type: "foo"`},
		{name: "template suffix", path: "/fleet/v1/units/x@y.mount", body: `{` + opts + `}`, code: 400, msg: `invalid unit type for template: "mount"`},
		{name: "bad char", path: "/fleet/v1/units/x%20y.service", body: `{` + opts + `}`, code: 400, msg: `invalid character ' ' in unit name`},
		{name: "starts with @", path: "/fleet/v1/units/@x.service", body: `{` + opts + `}`, code: 400, msg: `unit name cannot start in "@"`},
		{name: "missing without options", body: `{"desiredState":"launched"}`, code: 409, msg: "unit does not exist and options field empty"},
		{name: "invalid options", body: `{"options":[{"section":"X-Fleet","name":"MachineID","value":"a"},{"section":"X-Fleet","name":"Global","value":"true"}]}`, code: 400, msg: "MachineID cannot be used with Global"},
		{name: "bogus state on create is 500", body: `{"desiredState":"running",` + opts + `}`, code: 500, msg: ""},
		{name: "existing without state", setup: []string{`{` + opts + `}`}, body: `{}`, code: 409, msg: "must provide DesiredState to update existing unit", desired: "inactive"},
		{name: "existing same options without state", setup: []string{`{` + opts + `}`}, body: `{` + opts + `}`, code: 409, msg: "must provide DesiredState to update existing unit", desired: "inactive"},
		{name: "set state", setup: []string{`{` + opts + `}`}, body: `{"desiredState":"launched"}`, code: 204, desired: "launched"},
		{name: "bogus state on update is 400", setup: []string{`{` + opts + `}`}, body: `{"desiredState":"running"}`, code: 400, msg: `invalid desiredState "running": want inactive, loaded or launched`, desired: "inactive"},
		{name: "replace resets to inactive", setup: []string{`{"desiredState":"launched",` + opts + `}`}, body: `{` + opts2 + `}`, code: 201, desired: "inactive"},
		{name: "replace keeps given state", setup: []string{`{"desiredState":"launched",` + opts + `}`}, body: `{"desiredState":"loaded",` + opts2 + `}`, code: 201, desired: "loaded"},
		{name: "same options with state", setup: []string{`{` + opts + `}`}, body: `{"desiredState":"loaded",` + opts + `}`, code: 204, desired: "loaded"},
		{name: "template create launched allowed", path: "/fleet/v1/units/pg@.service", body: `{"desiredState":"launched",` + opts + `}`, code: 201},
		{name: "alpha prefix", path: "/v1-alpha/units/x.service", body: `{` + opts + `}`, code: 201, desired: "inactive"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			for _, b := range tc.setup {
				r := e.do("PUT", "/fleet/v1/units/x.service", b)
				require.Contains(t, []int{201, 204}, r.code, "setup PUT %s: %d %s", b, r.code, r.body)
			}
			path := tc.path
			if path == "" {
				path = "/fleet/v1/units/x.service"
			}
			r := e.do("PUT", path, tc.body, tc.hdr...)
			require.Equal(t, tc.code, r.code, "PUT %s %s: got %d %s", path, tc.body, r.code, r.body)
			if tc.code >= 400 {
				require.JSONEq(t, fmt.Sprintf(`{"error":{"code":%d,"message":%q}}`, tc.code, tc.msg), r.body)
			} else {
				require.Empty(t, r.body)
				require.Empty(t, r.header.Get("Content-Type"))
			}
			if path != "/fleet/v1/units/x.service" && path != "/v1-alpha/units/x.service" {
				return
			}
			g := e.do("GET", "/fleet/v1/units/x.service", "")
			if tc.desired == "" {
				require.Equal(t, 404, g.code, "unit must not exist: %s", g.body)
				return
			}
			var u schemaUnit
			require.NoError(t, json.Unmarshal([]byte(g.body), &u))
			require.Equal(t, tc.desired, u.DesiredState)
		})
	}
}

func TestPutTemplateActivation(t *testing.T) {
	e := newEnv(t)
	e.must(201, "PUT", "/fleet/v1/units/pg@.service", `{"options":[{"section":"Service","name":"ExecStart","value":"/bin/x"}]}`)
	require.JSONEq(t, `{"error":{"code":400,"message":"cannot activate template \"pg@.service\""}}`,
		e.must(400, "PUT", "/fleet/v1/units/pg@.service", `{"desiredState":"launched"}`))
	e.must(204, "PUT", "/fleet/v1/units/pg@.service", `{"desiredState":"inactive"}`)
}

func TestReplaceKeepsAssignmentAndRestarts(t *testing.T) {
	e := newEnv(t)
	e.addMachine(idA, nil)
	e.sim.Start()
	e.must(201, "PUT", "/fleet/v1/units/x.service", `{"desiredState":"launched","options":[{"section":"Service","name":"ExecStart","value":"/bin/x"}]}`)
	e.waitRunning("x.service", idA)
	e.must(201, "PUT", "/fleet/v1/units/x.service", `{"desiredState":"launched","options":[{"section":"Service","name":"ExecStart","value":"/bin/y"}]}`)
	e.eventually(func() bool { return e.exec.StartCount(idA, "x.service") == 2 }, "restart after the unit file changed")
	got, _ := e.sim.Assignment("x.service")
	require.Equal(t, idA, got)
}

func TestPatchMachines(t *testing.T) {
	tests := []struct {
		name string
		body string
		code int
		msg  string
	}{
		{"empty body", ``, 400, "EOF"},
		{"object", `{}`, 400, "json: cannot unmarshal object into Go value of type []api.machineMetadataOp"},
		{"bare string value", `[{"op":"add","path":"/` + idA + `/metadata/k","value":"v"}]`, 400, `json: cannot unmarshal string into Go struct field machineMetadataOp.Value of type struct { Value string "json:\"value\"" }`},
		{"bad op", `[{"op":"move","path":"/` + idA + `/metadata/k","value":{"value":"v"}}]`, 400, "invalid op: expect add, remove, or replace"},
		{"bad path", `[{"op":"add","path":"/` + idA + `/meta/k","value":{"value":"v"}}]`, 400, "machine metadata path invalid"},
		{"bad key", `[{"op":"add","path":"/` + idA + `/metadata/a=b","value":{"value":"v"}}]`, 400, "machine metadata path invalid"},
		{"missing value", `[{"op":"replace","path":"/` + idA + `/metadata/k"}]`, 400, "invalid value: add and replace require a value"},
		{"second op bad applies nothing", `[{"op":"add","path":"/` + idA + `/metadata/k","value":{"value":"v"}},{"op":"test","path":"/x/metadata/k"}]`, 400, "invalid op: expect add, remove, or replace"},
		{"empty list", `[]`, 204, ""},
		{"null", `null`, 204, ""},
		{"add", `[{"op":"add","path":"/` + idA + `/metadata/k","value":{"value":"v"}}]`, 204, ""},
		{"capitalised keys", `[{"Op":"add","Path":"/` + idA + `/metadata/k","Value":{"Value":"v"}}]`, 204, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.addMachine(idA, nil)
			r := e.do("PATCH", "/fleet/v1/machines", tc.body, "Content-Type", "text/plain")
			require.Equal(t, tc.code, r.code, "got %d %s", r.code, r.body)
			require.Equal(t, "application/json", r.header.Get("Content-Type"))
			if tc.code != 204 {
				require.JSONEq(t, fmt.Sprintf(`{"error":{"code":%d,"message":%q}}`, tc.code, tc.msg), r.body)
				require.JSONEq(t, `{"machines":[{"id":"`+idA+`","primaryIP":"10.0.0.1"}]}`, e.must(200, "GET", "/fleet/v1/machines", ""))
				return
			}
			require.Empty(t, r.body)
		})
	}
}

func TestMetadataModel(t *testing.T) {
	e := newEnv(t)
	e.addMachine(idB, map[string]string{"az": "a", "role": "db"})
	e.addMachine(idA, nil)
	unknown := "dddddddd00000000000000000000000d"
	e.must(204, "PATCH", "/fleet/v1/machines", `[
	 {"op":"add","path":"/`+idB+`/metadata/postgres","value":{"value":"vol-1"}},
	 {"op":"replace","path":"/`+idB+`/metadata/az","value":{"value":"b"}},
	 {"op":"remove","path":"/`+idB+`/metadata/role"},
	 {"op":"remove","path":"/`+idA+`/metadata/missing"},
	 {"op":"replace","path":"/`+unknown+`/metadata/postgres","value":{"value":"vol-2"}}]`)
	want := `{"machines":[{"id":"` + idA + `","primaryIP":"10.0.0.1"},` +
		`{"id":"` + idB + `","metadata":{"az":"b","postgres":"vol-1"},"primaryIP":"10.0.0.2"}]}`
	require.JSONEq(t, want, e.must(200, "GET", "/fleet/v1/machines", ""))
	// Metadata for an unknown ID applies the moment it joins.
	require.NoError(t, e.sim.AddMachine(unknown, "10.0.0.9", map[string]string{"az": "c"}))
	require.Contains(t, e.must(200, "GET", "/fleet/v1/machines", ""),
		`{"id":"`+unknown+`","metadata":{"az":"c","postgres":"vol-2"},"primaryIP":"10.0.0.9"}`)
	// A later add brings a tombstoned config key back.
	e.must(204, "PATCH", "/fleet/v1/machines", patchBody("add", idB, "role", "primary"))
	require.Contains(t, e.must(200, "GET", "/fleet/v1/machines", ""), `"role":"primary"`)
}

func TestPagination(t *testing.T) {
	e := newEnv(t)
	for i := 0; i < 200; i++ {
		e.must(201, "PUT", fmt.Sprintf("/fleet/v1/units/u%03d.service", i), `{"options":[{"section":"Service","name":"ExecStart","value":"/bin/x"}]}`)
	}
	var p1 unitPage
	require.NoError(t, json.Unmarshal([]byte(e.must(200, "GET", "/fleet/v1/units", "")), &p1))
	require.Len(t, p1.Units, 100)
	require.Equal(t, "u000.service", p1.Units[0].Name)
	require.Equal(t, "ZAACAA==", p1.NextPageToken)
	var p2 unitPage
	require.NoError(t, json.Unmarshal([]byte(e.must(200, "GET", "/fleet/v1/units?nextPageToken="+url.QueryEscape(p1.NextPageToken), "")), &p2))
	require.Len(t, p2.Units, 100)
	require.Equal(t, "u100.service", p2.Units[0].Name)
	require.Equal(t, "ZAADAA==", p2.NextPageToken, "exact multiple of the limit: a token for a trailing empty page")
	require.Equal(t, `{}`, e.must(200, "GET", "/fleet/v1/units?nextPageToken=ZAADAA==", ""))
	require.Equal(t, `{}`, e.must(200, "GET", "/fleet/v1/machines?nextPageToken=ZAAJAA==", ""))

	errs := []struct{ query, msg string }{
		{"nextPageToken=ZAACAA==&nextPageToken=ZAACAA==", "too many values for page token"},
		{"nextPageToken=!!!!", "illegal base64 data at input byte 0"},
		{"nextPageToken=ZAA=", "unexpected EOF"},
		{"nextPageToken=", "EOF"},
		{"nextPageToken=EwBMLg==", "token limit must be 100"},
		{"nextPageToken=ZAAAAA==", "token page must be greater than zero"},
	}
	for _, tc := range errs {
		for _, res := range []string{"units", "machines", "state"} {
			t.Run(res+" "+tc.query, func(t *testing.T) {
				r := e.do("GET", "/fleet/v1/"+res+"?"+tc.query, "")
				require.Equal(t, http.StatusBadRequest, r.code, r.body)
				require.JSONEq(t, fmt.Sprintf(`{"error":{"code":400,"message":%q}}`, tc.msg), r.body)
			})
		}
	}
}

func TestEtcdCutOff(t *testing.T) {
	e := newEnv(t)
	e.sim.SetEtcdCutOff(true)
	r := e.do("GET", "/fleet/v1/machines", "")
	require.Equal(t, 503, r.code)
	require.JSONEq(t, `{"error":{"code":503,"message":"fleet server unable to communicate with etcd"}}`, r.body)
	e.must(204, "POST", "/_sim/etcd", `{"cutOff":false}`)
	e.must(200, "GET", "/fleet/v1/machines", "")
	e.must(400, "POST", "/_sim/etcd", `{"cut":false}`)
}
