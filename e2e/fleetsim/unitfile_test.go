package fleetsim

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseUnitFile(t *testing.T) {
	tests := []struct {
		name string
		text string
		want []UnitOption
		err  string
	}{
		{
			name: "sections, repeats, comments, continuation",
			text: "# header\n[Unit]\nDescription = pg %i\n\n[Service]\n; comment\nExecStartPre=/bin/a\nExecStartPre=/bin/b\nExecStart=/usr/bin/docker run \\\n  --name pg \\\n  postgres:15\n[X-Fleet]\nMachineMetadata=\"postgres=%i\" \"az=a\"\n",
			want: []UnitOption{
				{"Unit", "Description", "pg %i"},
				{"Service", "ExecStartPre", "/bin/a"},
				{"Service", "ExecStartPre", "/bin/b"},
				{"Service", "ExecStart", "/usr/bin/docker run --name pg postgres:15"},
				{"X-Fleet", "MachineMetadata", `"postgres=%i" "az=a"`},
			},
		},
		{name: "crlf and empty value", text: "[Service]\r\nEnvironment=\r\n", want: []UnitOption{{"Service", "Environment", ""}}},
		{name: "option outside section", text: "ExecStart=/bin/x\n", err: "outside any section"},
		{name: "no equals sign", text: "[Service]\nExecStart\n", err: "expected Key=Value"},
		{name: "bad header", text: "[Service\n", err: "bad section header"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseUnitFile(tc.text)
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestUnitHash(t *testing.T) {
	// The spec's example: SHA1 of "[Service]\nExecStart=/usr/bin/sleep 3000\n".
	require.Equal(t, "248b997d6becee1b835b7ec7d9c8e68d7dd24623",
		unitHash([]UnitOption{{"Service", "ExecStart", "/usr/bin/sleep 3000"}}))
	opts := []UnitOption{{"Service", "ExecStart", "x"}, {"Unit", "Description", "d"}, {"Service", "User", "u"}}
	require.Equal(t, "[Service]\nExecStart=x\nUser=u\n\n[Unit]\nDescription=d\n", serializeOptions(opts))
}

func TestRequirements(t *testing.T) {
	tests := []struct {
		name, unit string
		opts       []UnitOption
		meta       map[string][]string
		conflicts  []string
		global     bool
	}{
		{
			name: "instance specifiers", unit: "postgres@vol-1.service",
			opts: []UnitOption{{"X-Fleet", "MachineMetadata", "postgres=%i"}, {"X-Fleet", "Conflicts", "%p* other-%N"}},
			meta: map[string][]string{"postgres": {"vol-1"}}, conflicts: []string{"postgres*", "other-postgres@vol-1"},
		},
		{
			name: "quoted multi-values group by key", unit: "a.service",
			opts: []UnitOption{{"X-Fleet", "MachineMetadata", `"az=a" "az=b" "role=db"`}},
			meta: map[string][]string{"az": {"a", "b"}, "role": {"db"}},
		},
		{
			name: "malformed values dropped", unit: "a.service",
			opts: []UnitOption{{"X-Fleet", "MachineMetadata", "a=1 b=2"}, {"X-Fleet", "MachineMetadata", "=x"}, {"X-Fleet", "MachineMetadata", "k="}},
			meta: map[string][]string{},
		},
		{
			name: "no negation: role!=db is key role!", unit: "a.service",
			opts: []UnitOption{{"X-Fleet", "MachineMetadata", "role!=db"}},
			meta: map[string][]string{"role!": {"db"}},
		},
		{
			name: "global last value wins", unit: "g.service",
			opts: []UnitOption{{"X-Fleet", "Global", "false"}, {"X-Fleet", "Global", "Yes"}},
			meta: map[string][]string{}, global: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := parseRequirements(tc.unit, tc.opts)
			require.Equal(t, tc.meta, r.metadata())
			require.Equal(t, tc.conflicts, r.conflicts())
			require.Equal(t, tc.global, r.global())
		})
	}
}

func TestValidateOptions(t *testing.T) {
	long := make([]byte, 2040)
	for i := range long {
		long[i] = 'x'
	}
	tests := []struct {
		name string
		opts []UnitOption
		err  string
	}{
		{"ok", []UnitOption{{"Service", "ExecStart", "x"}, {"X-Fleet", "Conflicts", "a*"}}, ""},
		{"line too long", []UnitOption{{"Service", "ExecStart", string(long)}}, "line too long (max 2048 bytes)"},
		{"peer matches conflict", []UnitOption{{"X-Fleet", "MachineOf", "db.service"}, {"X-Fleet", "Conflicts", "db*"}}, `unresolvable requirements: peer "db.service" matches conflict "db*"`},
		{"machineid with conflicts", []UnitOption{{"X-Fleet", "MachineID", "abc"}, {"X-Fleet", "Conflicts", "x"}}, "MachineID cannot be used with Conflicts"},
		{"global with peers", []UnitOption{{"X-Fleet", "Global", "true"}, {"X-Fleet", "MachineOf", "x.service"}}, "Global cannot be used with Peers"},
		{"conflicts with replaces", []UnitOption{{"X-Fleet", "Conflicts", "a"}, {"X-Fleet", "Replaces", "b"}}, "Conflicts cannot be used with Replaces"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := validateOptions(tc.opts)
			if tc.err == "" {
				require.NoError(t, err)
				return
			}
			require.EqualError(t, err, tc.err)
		})
	}
}
