package main

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/spf13/pflag"
	"github.com/stretchr/testify/require"
)

const (
	configDoc   = "../../docs/configuration.md"
	beginMarker = "<!-- BEGIN GENERATED FLAGS: go test ./cmd/volfailover -run TestConfigurationDoc -update -->"
	endMarker   = "<!-- END GENERATED FLAGS -->"
)

// docCommands is the order the commands are documented in.
var docCommands = []string{"run", "status", "pause", "resume", "switchover", "abort", "clear-damping", "history", "check", "iam-policy"}

// flagTables renders every flag of every command from the cobra flag sets:
// name, environment variable, default, type and unit, meaning.
func flagTables() string {
	root := newRootCmd()
	var b strings.Builder
	for _, name := range docCommands {
		cmd, _, err := root.Find([]string{name})
		if err != nil || cmd.Name() != name {
			panic(fmt.Sprintf("command %q not found: %v", name, err))
		}
		fmt.Fprintf(&b, "\n### `volfailover %s`\n\n%s.\n\n", cmd.Use, cmd.Short)
		b.WriteString("| flag | environment variable | default | type and unit | meaning |\n|---|---|---|---|---|\n")
		cmd.Flags().VisitAll(func(f *pflag.Flag) {
			if f.Hidden { // aliases kept for old scripts, such as --json for -o json
				return
			}
			env := "—"
			if v := f.Annotations[envAnnotation]; len(v) == 1 {
				env = "`" + v[0] + "`"
			}
			usage := f.Usage
			if i := strings.LastIndex(usage, " (env "); i >= 0 {
				usage = usage[:i]
			}
			name := "`--" + f.Name + "`"
			if f.Shorthand != "" {
				name = "`-" + f.Shorthand + "`, " + name
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", name, env, docDefault(f), docType(f.Value.Type()), mdEscape(usage))
		})
	}
	return b.String()
}

func docDefault(f *pflag.Flag) string {
	d := f.DefValue
	if f.Value.Type() == "stringSlice" || f.Value.Type() == "stringArray" {
		d = strings.TrimSuffix(strings.TrimPrefix(d, "["), "]")
	}
	switch {
	case d == "" || (f.Value.Type() == "duration" && d == "0s"):
		return "none"
	default:
		return "`" + d + "`"
	}
}

func docType(t string) string {
	switch t {
	case "duration":
		return "duration"
	case "int":
		return "integer"
	case "bool":
		return "boolean"
	case "stringSlice":
		return "list"
	case "stringArray":
		return "repeatable"
	default:
		return t
	}
}

func mdEscape(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

// TestConfigurationDoc fails when docs/configuration.md does not list exactly
// the flags the commands have; -update (shared with the golden tests) rewrites
// the generated part.
func TestConfigurationDoc(t *testing.T) {
	raw, err := os.ReadFile(configDoc)
	require.NoError(t, err)
	doc := string(raw)
	i, j := strings.Index(doc, beginMarker), strings.Index(doc, endMarker)
	require.True(t, i >= 0 && j > i, "docs/configuration.md has the generated-flags markers")
	want := doc[:i+len(beginMarker)] + "\n" + flagTables() + "\n" + doc[j:]
	if *update { // the package's -update flag also rewrites golden files
		require.NoError(t, os.WriteFile(configDoc, []byte(want), 0o644))
		return
	}
	require.Equal(t, want, doc, "docs/configuration.md is out of date: run go test ./cmd/volfailover -run TestConfigurationDoc -update")
}
