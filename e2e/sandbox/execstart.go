package sandbox

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/volfailover/volfailover/e2e/fleetsim"
)

// serviceSpec is the part of a unit's [Service] section the executor honours,
// with systemd's meaning.
type serviceSpec struct {
	argv          []string
	ignoreFailure bool // ExecStart=-…: a non-zero exit counts as success
	restart       string
	restartDelay  time.Duration
	stopTimeout   time.Duration
	killSignal    syscall.Signal
}

// specifiers returns systemd's unit-name specifiers for a unit name.
func specifiers(name string) map[string]string {
	base := strings.TrimSuffix(name, name[strings.LastIndex(name, "."):])
	prefix, instance, _ := strings.Cut(base, "@")
	return map[string]string{"%n": name, "%N": base, "%p": prefix, "%i": instance, "%%": "%"}
}

// expandSpecifiers replaces %n %N %p %i and %% in s.
func expandSpecifiers(s string, spec map[string]string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+1 < len(s) {
			if v, ok := spec[s[i:i+2]]; ok {
				b.WriteString(v)
				i++
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// splitCommand splits an ExecStart value into words, honouring double and
// single quotes and backslash escapes as systemd does for simple cases.
func splitCommand(s string) ([]string, error) {
	var (
		words []string
		cur   strings.Builder
		in    bool
		quote byte
	)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			} else if c == '\\' && quote == '"' && i+1 < len(s) {
				i++
				cur.WriteByte(s[i])
			} else {
				cur.WriteByte(c)
			}
		case c == '"' || c == '\'':
			quote, in = c, true
		case c == '\\' && i+1 < len(s):
			i++
			cur.WriteByte(s[i])
			in = true
		case c == ' ' || c == '\t':
			if in {
				words = append(words, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteByte(c)
			in = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unterminated %c quote in %q", quote, s)
	}
	if in {
		words = append(words, cur.String())
	}
	return words, nil
}

// parseService reads the [Service] options of u, expanding specifiers and
// ${VAR}/$VAR references from env, the way systemd prepares ExecStart.
func parseService(u fleetsim.UnitFile, env []string) (serviceSpec, error) {
	spec := serviceSpec{restart: "no", restartDelay: 100 * time.Millisecond, stopTimeout: fleetsim.DefaultStopTimeout, killSignal: syscall.SIGTERM}
	specs := specifiers(u.Name)
	vars := map[string]string{}
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok {
			vars[k] = v
		}
	}
	starts := u.Option("Service", "ExecStart")
	if len(starts) != 1 {
		return spec, fmt.Errorf("unit %s: want exactly one ExecStart, got %d", u.Name, len(starts))
	}
	line := expandSpecifiers(strings.TrimSpace(starts[0]), specs)
	if strings.HasPrefix(line, "-") {
		spec.ignoreFailure = true
		line = line[1:]
	}
	words, err := splitCommand(line)
	if err != nil {
		return spec, fmt.Errorf("unit %s: ExecStart: %w", u.Name, err)
	}
	for i, w := range words {
		words[i] = os.Expand(w, func(k string) string { return vars[k] })
	}
	if len(words) == 0 || !strings.HasPrefix(words[0], "/") {
		return spec, fmt.Errorf("unit %s: ExecStart %q: the command must be an absolute path", u.Name, starts[0])
	}
	spec.argv = words

	if v := last(u.Option("Service", "Restart")); v != "" {
		switch v {
		case "no", "always", "on-failure":
			spec.restart = v
		default:
			return spec, fmt.Errorf("unit %s: Restart=%q: want no, always or on-failure", u.Name, v)
		}
	}
	if v := last(u.Option("Service", "RestartSec")); v != "" {
		dur, err := parseSystemdSeconds(v)
		if err != nil {
			return spec, fmt.Errorf("unit %s: RestartSec=%q: %w", u.Name, v, err)
		}
		spec.restartDelay = dur
	}
	// One reading of TimeoutStopSec= for every executor: fleetsim's.
	if spec.stopTimeout, err = fleetsim.TimeoutStopSec(u); err != nil {
		return spec, err
	}
	if v := last(u.Option("Service", "KillSignal")); v != "" {
		sig, ok := signalNames[strings.TrimPrefix(v, "SIG")]
		if !ok {
			return spec, fmt.Errorf("unit %s: KillSignal=%q: want one of SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGKILL", u.Name, v)
		}
		spec.killSignal = sig
	}
	return spec, nil
}

var signalNames = map[string]syscall.Signal{
	"TERM": syscall.SIGTERM, "INT": syscall.SIGINT, "QUIT": syscall.SIGQUIT,
	"HUP": syscall.SIGHUP, "KILL": syscall.SIGKILL,
}

// parseSystemdSeconds accepts a bare number of seconds or a Go duration.
func parseSystemdSeconds(v string) (time.Duration, error) {
	if f, err := strconv.ParseFloat(v, 64); err == nil {
		if f < 0 {
			return 0, fmt.Errorf("must not be negative")
		}
		return time.Duration(f * float64(time.Second)), nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("want seconds or a duration such as 500ms")
	}
	return d, nil
}

func last(vs []string) string {
	if len(vs) == 0 {
		return ""
	}
	return strings.TrimSpace(vs[len(vs)-1])
}
