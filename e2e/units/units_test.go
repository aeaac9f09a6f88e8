package units

import (
	"os"
	"path"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// directives returns the values of one directive in a unit file, joining
// continuation lines.
func directives(unit, name string) []string {
	var out []string
	text := strings.ReplaceAll(unit, "\\\n", " ")
	for _, l := range strings.Split(text, "\n") {
		l = strings.TrimSpace(l)
		if v, ok := strings.CutPrefix(l, name+"="); ok {
			out = append(out, v)
		}
	}
	return out
}

// TestPostgresUnits: the Postgres template conflicts with other Postgres
// instances only, as fleet matches Conflicts (path.Match globs), and the
// production unit runs a digest-pinned image without pulling it when present.
func TestPostgresUnits(t *testing.T) {
	sandbox, err := FS.ReadFile(Postgres)
	require.NoError(t, err)
	deploy, err := os.ReadFile("../../docs/deploy/postgres@.service")
	require.NoError(t, err)
	for _, tc := range []struct {
		name, unit string
	}{{"e2e/units", string(sandbox)}, {"docs/deploy", string(deploy)}} {
		t.Run(tc.name, func(t *testing.T) {
			conflicts := directives(tc.unit, "Conflicts")
			require.NotEmpty(t, conflicts)
			for unit, want := range map[string]bool{
				"postgres@vol-0123456789abcdef0.service": true,
				"postgres-exporter.service":              false,
				"postgres-volume@vol-1.service":          false,
				"postgresql.service":                     false,
			} {
				got := false
				for _, c := range conflicts {
					ok, err := path.Match(c, unit)
					require.NoError(t, err)
					got = got || ok
				}
				require.Equal(t, want, got, "Conflicts=%v matches %s: got %t, want %t", conflicts, unit, got, want)
			}
		})
	}

	t.Run("image pinned by digest, pulled only when absent", func(t *testing.T) {
		unit := string(deploy)
		var image string
		for _, e := range directives(unit, "Environment") {
			if v, ok := strings.CutPrefix(e, "PG_IMAGE="); ok {
				image = v
			}
		}
		require.Regexp(t, `@sha256:`, image, "PG_IMAGE must name a digest, not a floating tag")
		for _, pre := range directives(unit, "ExecStartPre") {
			if strings.Contains(pre, "docker pull") {
				require.Regexp(t, regexp.MustCompile(`docker image inspect .*\|\| .*docker pull`), pre, "pull only when the image is missing: %s", pre)
			}
		}
		require.Contains(t, strings.Join(directives(unit, "ExecStart"), " "), "${PG_IMAGE}")
	})
}
