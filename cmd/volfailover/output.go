package main

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/spf13/pflag"
)

// outputFormat is -o/--output: table for people, json for scripts. Every
// operator command takes it, so a script never has to scrape a table.
type outputFormat string

const (
	outputTable outputFormat = "table"
	outputJSON  outputFormat = "json"
)

func (o *outputFormat) String() string { return string(*o) }

// Set accepts json or table, naming the flag and the value otherwise.
func (o *outputFormat) Set(v string) error {
	switch outputFormat(v) {
	case outputTable, outputJSON:
		*o = outputFormat(v)
		return nil
	}
	return fmt.Errorf("output %q: want json or table", v)
}

func (o *outputFormat) Type() string { return "string" }

// jsonAlias is the old --json switch, kept for scripts that use it: setting
// it is -o json.
type jsonAlias struct{ o *outputFormat }

func (j jsonAlias) String() string { return "false" }
func (j jsonAlias) Type() string   { return "bool" }
func (j jsonAlias) IsBoolFlag() bool {
	return true
}

func (j jsonAlias) Set(v string) error {
	switch v {
	case "true":
		*j.o = outputJSON
	case "false":
		*j.o = outputTable
	default:
		return fmt.Errorf("json %q: want true or false", v)
	}
	return nil
}

// registerOutput adds -o/--output to fs; withJSONAlias also adds the hidden
// --json of the commands that had it.
func registerOutput(fs *pflag.FlagSet, o *outputFormat, withJSONAlias bool) {
	*o = outputTable
	fs.VarP(o, "output", "o", "output format: table or json")
	if withJSONAlias {
		fs.Var(jsonAlias{o}, "json", "same as -o json")
		fs.Lookup("json").NoOptDefVal = "true"
		_ = fs.MarkHidden("json")
	}
}

// writeJSON prints v as indented JSON, one document.
func writeJSON(w io.Writer, what string, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("write %s: %w", what, err)
	}
	return nil
}
