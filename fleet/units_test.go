package fleet

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

var pgOptions = []UnitOption{
	{Section: "Service", Name: "ExecStart", Value: "/usr/bin/docker run --name pg-%i postgres:15"},
	{Section: "X-Fleet", Name: "MachineMetadata", Value: "postgres=%i"},
	{Section: "X-Fleet", Name: "Conflicts", Value: "postgres*"},
}

func TestCreateUnitWire(t *testing.T) {
	rec, srv := newRecorder(t, status(http.StatusCreated, ""))
	c := newTestClient(t, srv.URL)
	require.NoError(t, c.CreateUnit(t.Context(), "postgres@vol-123.service", pgOptions, StateLaunched))
	seen := rec.seen()
	require.Len(t, seen, 1)
	require.Equal(t, http.MethodPut, seen[0].Method)
	require.Equal(t, "/fleet/v1/units/postgres@vol-123.service", seen[0].Path)
	require.Equal(t, "application/json", seen[0].ContentType)
	require.JSONEq(t, `{"name":"postgres@vol-123.service","desiredState":"launched","options":[
		{"section":"Service","name":"ExecStart","value":"/usr/bin/docker run --name pg-%i postgres:15"},
		{"section":"X-Fleet","name":"MachineMetadata","value":"postgres=%i"},
		{"section":"X-Fleet","name":"Conflicts","value":"postgres*"}]}`, seen[0].Body)
}

func TestCreateUnitSameOptionsIs204(t *testing.T) {
	_, srv := newRecorder(t, status(http.StatusNoContent, ""))
	c := newTestClient(t, srv.URL)
	require.NoError(t, c.CreateUnit(t.Context(), "a.service", pgOptions[:1], StateInactive))
}

func TestUnitNameEscaping(t *testing.T) {
	rec, srv := newRecorder(t, status(http.StatusNoContent, ""))
	c := newTestClient(t, srv.URL)
	require.NoError(t, c.DestroyUnit(t.Context(), `dev-disk\x2dby.mount`))
	require.Equal(t, "/fleet/v1/units/dev-disk%5Cx2dby.mount", rec.seen()[0].Path)
}

func TestSetUnitTargetStateWire(t *testing.T) {
	rec, srv := newRecorder(t, status(http.StatusNoContent, ""))
	c := newTestClient(t, srv.URL)
	require.NoError(t, c.SetUnitTargetState(t.Context(), "postgres@vol-123.service", StateInactive))
	seen := rec.seen()
	require.Len(t, seen, 1)
	require.Equal(t, http.MethodPut, seen[0].Method)
	require.Equal(t, "/fleet/v1/units/postgres@vol-123.service", seen[0].Path)
	require.Equal(t, "application/json", seen[0].ContentType)
	require.JSONEq(t, `{"desiredState":"inactive"}`, seen[0].Body)
}

func TestSetUnitTargetStateOfMissingUnit(t *testing.T) {
	_, srv := newRecorder(t, status(http.StatusConflict, `{"error":{"code":409,"message":"unit does not exist and options field empty"}}`))
	c := newTestClient(t, srv.URL)
	err := c.SetUnitTargetState(t.Context(), "a.service", StateLaunched)
	require.ErrorIs(t, err, ErrConflict)
	require.Contains(t, err.Error(), "set fleet unit a.service to launched: PUT /fleet/v1/units/a.service: fleet api: 409 Conflict: unit does not exist and options field empty")
}

func TestDestroyAndGetMissingUnit(t *testing.T) {
	rec, srv := newRecorder(t, status(http.StatusNotFound, `{"error":{"code":404,"message":"unit does not exist"}}`))
	c := newTestClient(t, srv.URL)
	err := c.DestroyUnit(t.Context(), "a.service")
	require.ErrorIs(t, err, ErrNotFound)
	require.Equal(t, "destroy fleet unit a.service: DELETE /fleet/v1/units/a.service: fleet api: 404 Not Found: unit does not exist", err.Error())
	u, err := c.Unit(t.Context(), "a.service")
	require.ErrorIs(t, err, ErrNotFound)
	require.Nil(t, u)
	require.Len(t, rec.seen(), 2)
}

func TestGetUnit(t *testing.T) {
	tests := []struct {
		name string
		body string
		want Unit
	}{
		{
			name: "scheduled",
			body: `{"currentState":"launched","desiredState":"launched","machineID":"2e5ff4cd0a0f4e6c9e8b1c3f7a2d9b01","name":"postgres@vol-123.service",
				"options":[{"name":"ExecStart","section":"Service","value":"/usr/bin/docker run"},{"name":"MachineMetadata","section":"X-Fleet","value":"postgres=%i"}]}`,
			want: Unit{Name: "postgres@vol-123.service", DesiredState: "launched", CurrentState: "launched", MachineID: "2e5ff4cd0a0f4e6c9e8b1c3f7a2d9b01",
				Options: []UnitOption{{Section: "Service", Name: "ExecStart", Value: "/usr/bin/docker run"}, {Section: "X-Fleet", Name: "MachineMetadata", Value: "postgres=%i"}}},
		},
		{
			name: "global unit without currentState",
			body: `{"desiredState":"launched","name":"postgres@vol-123.service","options":[{"name":"Global","section":"X-Fleet","value":"true"}]}`,
			want: Unit{Name: "postgres@vol-123.service", DesiredState: "launched", Options: []UnitOption{{Section: "X-Fleet", Name: "Global", Value: "true"}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec, srv := newRecorder(t, ok(tt.body))
			c := newTestClient(t, srv.URL)
			u, err := c.Unit(t.Context(), "postgres@vol-123.service")
			require.NoError(t, err)
			require.Equal(t, tt.want, *u)
			require.Equal(t, "/fleet/v1/units/postgres@vol-123.service", rec.seen()[0].Path)
		})
	}
}

func TestUnitRequestValidation(t *testing.T) {
	tests := []struct {
		name    string
		call    func(c *Client) error
		wantErr string
	}{
		{name: "create bad state", call: func(c *Client) error { return c.CreateUnit(t.Context(), "a.service", pgOptions, "running") }, wantErr: `unit "a.service": desired state "running" must be inactive, loaded or launched`},
		{name: "create empty state", call: func(c *Client) error { return c.CreateUnit(t.Context(), "a.service", pgOptions, "") }, wantErr: `desired state "" must be`},
		{name: "create no options", call: func(c *Client) error { return c.CreateUnit(t.Context(), "a.service", nil, StateLaunched) }, wantErr: "create fleet unit a.service: no options"},
		{name: "create option without section", call: func(c *Client) error {
			return c.CreateUnit(t.Context(), "a.service", []UnitOption{{Name: "ExecStart", Value: "x"}}, StateLaunched)
		}, wantErr: `option 0 has section "" and name "ExecStart"`},
		{name: "create template launched", call: func(c *Client) error { return c.CreateUnit(t.Context(), "postgres@.service", pgOptions, StateLaunched) }, wantErr: `unit "postgres@.service": a template cannot be launched`},
		{name: "set template loaded", call: func(c *Client) error { return c.SetUnitTargetState(t.Context(), "postgres@.service", StateLoaded) }, wantErr: "a template cannot be loaded"},
		{name: "set bad state", call: func(c *Client) error { return c.SetUnitTargetState(t.Context(), "a.service", "active") }, wantErr: `desired state "active" must be`},
		{name: "no dot", call: func(c *Client) error { return c.SetUnitTargetState(t.Context(), "postgres", StateLaunched) }, wantErr: `unit name "postgres" must contain '.'`},
		{name: "trailing dot", call: func(c *Client) error { return c.DestroyUnit(t.Context(), "a.") }, wantErr: `unit name "a." must not end with '.'`},
		{name: "unknown suffix", call: func(c *Client) error { return c.DestroyUnit(t.Context(), "a.conf") }, wantErr: `unknown unit type "conf"`},
		{name: "leading at", call: func(c *Client) error { return c.DestroyUnit(t.Context(), "@a.service") }, wantErr: "must not start with '@'"},
		{name: "instance of mount", call: func(c *Client) error { return c.DestroyUnit(t.Context(), "a@b.mount") }, wantErr: "a mount unit cannot be a template or instance"},
		{name: "bad character", call: func(c *Client) error { return c.DestroyUnit(t.Context(), "a b.service") }, wantErr: `character ' ' is not allowed`},
		{name: "slash", call: func(c *Client) error { _, err := c.Unit(t.Context(), "a/b.service"); return err }, wantErr: `character '/' is not allowed`},
		{name: "empty", call: func(c *Client) error { _, err := c.Unit(t.Context(), ""); return err }, wantErr: "unit name is empty"},
		{name: "too long", call: func(c *Client) error { return c.DestroyUnit(t.Context(), strings.Repeat("a", 250)+".service") }, wantErr: "longer than 256 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec, srv := newRecorder(t, status(http.StatusNoContent, ""))
			c := newTestClient(t, srv.URL)
			err := tt.call(c)
			require.Error(t, err)
			require.Contains(t, err.Error(), tt.wantErr)
			require.Empty(t, rec.seen(), "nothing sent for an invalid request")
		})
	}
}

func TestValidUnitNames(t *testing.T) {
	for _, name := range []string{"postgres@vol-123.service", "postgres@.service", "a.b.service", `x\x2dy:z_w.mount`, "t@i.timer", "volfailover.service"} {
		require.NoError(t, ValidateUnitName(name), name)
	}
	require.True(t, IsTemplate("postgres@.service"))
	require.False(t, IsTemplate("postgres@vol-1.service"))
	require.False(t, IsTemplate("postgres.service"))
}
