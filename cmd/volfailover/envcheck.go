package main

import (
	"fmt"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// secretEnv are the VOLFAILOVER_* variables that hold a secret and so belong
// to no flag (a flag would show the secret in ps and shell history).
var secretEnv = map[string]string{
	"VOLFAILOVER_ETCD_PASSWORD":         "the password of --etcd-username",
	"VOLFAILOVER_PAGERDUTY_ROUTING_KEY": "the PagerDuty routing key",
}

// knownEnv maps every VOLFAILOVER_* variable some command reads to what
// reads it: the env-marked flags of every command in cmd's tree and of run
// (which tests may build alone), and the secrets. A variable meant for run
// is fine in a shell where an operator runs status: /etc/volfailover.env is
// often sourced on the hosts.
func knownEnv(cmd *cobra.Command) map[string]string {
	known := map[string]string{}
	for k, v := range secretEnv {
		known[k] = v
	}
	add := func(fs *pflag.FlagSet) {
		fs.VisitAll(func(f *pflag.Flag) {
			if names := f.Annotations[envAnnotation]; len(names) == 1 {
				known[names[0]] = "--" + f.Name
			}
		})
	}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		add(c.Flags())
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(cmd.Root())
	scratch := pflag.NewFlagSet("run", pflag.ContinueOnError)
	newRunFlags().register(scratch)
	add(scratch)
	return known
}

// checkEnv rejects a VOLFAILOVER_* variable that nothing reads: a typo such
// as VOLFAILOVER_PROBE_INTERVL would otherwise leave the default in force
// without a word. The error names the closest variable and its flag.
func checkEnv(cmd *cobra.Command, env adminEnv) error {
	if env.environ == nil {
		return nil
	}
	known := knownEnv(cmd)
	var bad []string
	for _, kv := range env.environ() {
		name, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, "VOLFAILOVER_") {
			continue
		}
		if _, ok := known[name]; ok {
			continue
		}
		best := closest(name, known)
		bad = append(bad, fmt.Sprintf("%s is set but no flag reads it; did you mean %s (%s)?", name, best, known[best]))
	}
	if len(bad) == 0 {
		return nil
	}
	sort.Strings(bad)
	return usageErr(fmt.Errorf("environment: %s", strings.Join(bad, "; ")))
}

// closest is the known name nearest to name by edit distance, the first in
// sort order among equals.
func closest(name string, known map[string]string) string {
	names := make([]string, 0, len(known))
	for k := range known {
		names = append(names, k)
	}
	sort.Strings(names)
	best, bestD := "", -1
	for _, k := range names {
		if d := levenshtein(name, k); bestD < 0 || d < bestD {
			best, bestD = k, d
		}
	}
	return best
}

// levenshtein is the edit distance between a and b (insertions, deletions,
// substitutions), on bytes: the names are ASCII.
func levenshtein(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
