package fleet

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseUnitFile(t *testing.T) {
	tests := []struct {
		name    string
		text    string
		want    []UnitOption
		wantErr string
	}{
		{
			name: "postgres template",
			text: `# postgres on the host that holds the volume
[Unit]
Description=Postgres on %i
After=docker.service
Requires=docker.service

[Service]
ExecStartPre=-/usr/bin/docker rm -f pg-%i
ExecStart=/usr/bin/docker run --name pg-%i \
    -v /mnt/%i:/var/lib/postgresql/data \
    postgres:15
ExecStop=/usr/bin/docker stop pg-%i

[X-Fleet]
MachineMetadata="postgres=%i"
Conflicts=postgres*
`,
			want: []UnitOption{
				{Section: "Unit", Name: "Description", Value: "Postgres on %i"},
				{Section: "Unit", Name: "After", Value: "docker.service"},
				{Section: "Unit", Name: "Requires", Value: "docker.service"},
				{Section: "Service", Name: "ExecStartPre", Value: "-/usr/bin/docker rm -f pg-%i"},
				{Section: "Service", Name: "ExecStart", Value: "/usr/bin/docker run --name pg-%i  -v /mnt/%i:/var/lib/postgresql/data  postgres:15"},
				{Section: "Service", Name: "ExecStop", Value: "/usr/bin/docker stop pg-%i"},
				{Section: "X-Fleet", Name: "MachineMetadata", Value: `"postgres=%i"`},
				{Section: "X-Fleet", Name: "Conflicts", Value: "postgres*"},
			},
		},
		{
			name: "whitespace trimmed and repeated keys kept in order",
			text: "[Service]\n  Environment = A=1 \nEnvironment=B=2\r\n\tExecStart=/bin/true\n",
			want: []UnitOption{
				{Section: "Service", Name: "Environment", Value: "A=1"},
				{Section: "Service", Name: "Environment", Value: "B=2"},
				{Section: "Service", Name: "ExecStart", Value: "/bin/true"},
			},
		},
		{
			name: "comments and blank lines",
			text: "; leading comment\n\n[Unit]\n# c\n  ; indented comment\nDescription=x # not a comment\n\n",
			want: []UnitOption{{Section: "Unit", Name: "Description", Value: "x # not a comment"}},
		},
		{
			name: "comment inside a continuation is skipped",
			text: "[Service]\nExecStart=/bin/a \\\n# explained\n  --flag\nUser=pg\n",
			want: []UnitOption{
				{Section: "Service", Name: "ExecStart", Value: "/bin/a  --flag"},
				{Section: "Service", Name: "User", Value: "pg"},
			},
		},
		{
			name: "continuation at end of file",
			text: "[Service]\nExecStart=/bin/a \\",
			want: []UnitOption{{Section: "Service", Name: "ExecStart", Value: "/bin/a"}},
		},
		{
			name: "blank line ends a continuation",
			text: "[Service]\nExecStart=/bin/a\\\n\nUser=pg",
			want: []UnitOption{
				{Section: "Service", Name: "ExecStart", Value: "/bin/a"},
				{Section: "Service", Name: "User", Value: "pg"},
			},
		},
		{
			name: "empty value and value with equals",
			text: "[Service]\nExecStart=\nEnvironment=PGDATA=/var/lib/pg\n",
			want: []UnitOption{
				{Section: "Service", Name: "ExecStart", Value: ""},
				{Section: "Service", Name: "Environment", Value: "PGDATA=/var/lib/pg"},
			},
		},
		{
			name: "section reopened",
			text: "[Unit]\nA=1\n[Service]\nB=2\n[Unit]\nC=3\n",
			want: []UnitOption{
				{Section: "Unit", Name: "A", Value: "1"},
				{Section: "Service", Name: "B", Value: "2"},
				{Section: "Unit", Name: "C", Value: "3"},
			},
		},
		{name: "empty text", text: "", want: nil},
		{name: "byte order mark", text: "\ufeff[Unit]\nA=1", want: []UnitOption{{Section: "Unit", Name: "A", Value: "1"}}},
		{name: "key outside section", text: "# c\n\nDescription=x\n[Unit]\n", wantErr: `unit file line 3: option "Description" is outside any [Section]`},
		{name: "line without equals", text: "[Unit]\nDescription=x\nbogus line\n", wantErr: `unit file line 3: "bogus line" is neither [Section] nor Key=Value`},
		{name: "empty key", text: "[Unit]\n=x\n", wantErr: `unit file line 2: "=x" has an empty key`},
		{name: "key with space", text: "[Unit]\nDe scription=x\n", wantErr: `unit file line 2: key "De scription" contains whitespace`},
		{name: "unclosed header", text: "[Unit]\nA=1\n\n[Service\n", wantErr: `unit file line 4: section header "[Service" lacks a closing ']'`},
		{name: "empty header", text: "[]\n", wantErr: `unit file line 1: section header "[]" has an empty name`},
		{name: "nested brackets", text: "[a[b]]\n", wantErr: "unit file line 1: section header \"[a[b]]\" contains a bracket"},
		{name: "error line counts continuation lines", text: "[Unit]\nA=1 \\\n 2\nbad\n", wantErr: "unit file line 4:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseUnitFile(tt.text)
			if tt.wantErr != "" {
				require.Error(t, err)
				require.Equal(t, tt.wantErr, err.Error()[:min(len(err.Error()), len(tt.wantErr))], "got %q", err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}
