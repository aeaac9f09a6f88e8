package fleetsim

import (
	"bufio"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"strings"
)

// UnitOption is one Key=Value line of a unit file, also the wire form of
// fleet's UnitOption entity.
type UnitOption struct {
	Section string `json:"section"`
	Name    string `json:"name"`
	Value   string `json:"value"`
}

// UnitFile is what an Executor is asked to run: the unit's name and its
// options in fleet's stored order (grouped by section, first-seen order).
type UnitFile struct {
	Name    string
	Options []UnitOption
}

// Option returns the values of every option with the given section and name,
// in file order, so executors can read ExecStart and friends.
func (u UnitFile) Option(section, name string) []string {
	var out []string
	for _, o := range u.Options {
		if o.Section == section && o.Name == name {
			out = append(out, o.Value)
		}
	}
	return out
}

// ParseUnitFile parses systemd unit file text into options: [Section]
// headers, Key=Value lines, repeated keys kept in order, comment lines
// starting with # or ; skipped, and a trailing backslash joining the next
// line with a single space, as systemd does.
func ParseUnitFile(text string) ([]UnitOption, error) {
	var (
		opts    []UnitOption
		section string
		pending *UnitOption // an option whose value continues on the next line
	)
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	lineNo := 0
	for sc.Scan() {
		lineNo++
		raw := strings.TrimRight(sc.Text(), "\r")
		if pending != nil {
			part := strings.TrimSpace(raw)
			if isComment(part) {
				continue // systemd ignores comment lines inside a continuation
			}
			cont := strings.HasSuffix(part, `\`)
			part = strings.TrimSuffix(part, `\`)
			pending.Value = joinContinuation(pending.Value, part)
			if !cont {
				pending.Value = strings.TrimSpace(pending.Value)
				opts = append(opts, *pending)
				pending = nil
			}
			continue
		}
		line := strings.TrimSpace(raw)
		switch {
		case line == "" || isComment(line):
			continue
		case strings.HasPrefix(line, "["):
			if !strings.HasSuffix(line, "]") || len(line) < 3 {
				return nil, fmt.Errorf("unit file line %d: bad section header %q", lineNo, line)
			}
			section = line[1 : len(line)-1]
			continue
		}
		if section == "" {
			return nil, fmt.Errorf("unit file line %d: option %q outside any section", lineNo, line)
		}
		key, value, ok := strings.Cut(line, "=")
		key = strings.TrimSpace(key)
		if !ok || key == "" {
			return nil, fmt.Errorf("unit file line %d: expected Key=Value, got %q", lineNo, line)
		}
		value = strings.TrimSpace(value)
		opt := UnitOption{Section: section, Name: key, Value: value}
		if strings.HasSuffix(value, `\`) {
			opt.Value = strings.TrimSuffix(value, `\`)
			pending = &opt
			continue
		}
		opts = append(opts, opt)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read unit file: %w", err)
	}
	if pending != nil {
		pending.Value = strings.TrimSpace(pending.Value)
		opts = append(opts, *pending)
	}
	return opts, nil
}

func isComment(line string) bool {
	return strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";")
}

func joinContinuation(a, b string) string {
	a = strings.TrimRight(a, " \t")
	if a == "" {
		return b
	}
	if b == "" {
		return a
	}
	return a + " " + b
}

// normalizeOptions returns the options grouped by section in first-seen
// order, keeping option order within a section: the order fleet hands back
// after storing a unit as a serialized file.
func normalizeOptions(opts []UnitOption) []UnitOption {
	var order []string
	bySection := map[string][]UnitOption{}
	for _, o := range opts {
		if _, ok := bySection[o.Section]; !ok {
			order = append(order, o.Section)
		}
		bySection[o.Section] = append(bySection[o.Section], o)
	}
	out := make([]UnitOption, 0, len(opts))
	for _, sec := range order {
		out = append(out, bySection[sec]...)
	}
	return out
}

// serializeOptions renders options the way go-systemd's Serialize does:
// "[Sec]\n" then "Name=Value\n" lines, a blank line between sections.
func serializeOptions(opts []UnitOption) string {
	opts = normalizeOptions(opts)
	var b strings.Builder
	for i, o := range opts {
		if i == 0 || opts[i-1].Section != o.Section {
			if i > 0 {
				b.WriteString("\n")
			}
			b.WriteString("[" + o.Section + "]\n")
		}
		b.WriteString(o.Name + "=" + o.Value + "\n")
	}
	return b.String()
}

// unitHash is fleet's unit hash: SHA1 hex of the serialized unit file.
func unitHash(opts []UnitOption) string {
	sum := sha1.Sum([]byte(serializeOptions(opts)))
	return hex.EncodeToString(sum[:])
}

// maxLineLength is go-systemd's SYSTEMD_LINE_MAX: a serialized line of this
// many bytes or more is rejected.
const maxLineLength = 2048

// checkLineLength reproduces the line-length check fleet runs on create.
func checkLineLength(opts []UnitOption) error {
	for _, line := range strings.Split(serializeOptions(opts), "\n") {
		if len(line) >= maxLineLength {
			return fmt.Errorf("line too long (max %d bytes)", maxLineLength)
		}
	}
	return nil
}
