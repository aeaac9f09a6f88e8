package fleet

import (
	"fmt"
	"strings"
)

// ParseUnitFile turns the text of a systemd unit file into fleet's option list, in file
// order, the way systemd reads it: "[Section]" headers, "Key=Value" lines with the
// whitespace around key and value trimmed, a trailing backslash joining the next line
// (the backslash becomes a space, comment lines inside the continuation are skipped),
// repeated keys kept as separate options, and blank lines and lines starting with '#' or
// ';' ignored. An option outside any section or a line that is neither a header nor
// "Key=Value" is an error naming its line number.
func ParseUnitFile(text string) ([]UnitOption, error) {
	text = strings.TrimPrefix(text, "\ufeff")
	lines := strings.Split(text, "\n")
	var (
		out     []UnitOption
		section string
	)
	for i := 0; i < len(lines); i++ {
		lineNo := i + 1
		line := strings.TrimSpace(strings.TrimSuffix(lines[i], "\r"))
		switch {
		case line == "" || line[0] == '#' || line[0] == ';':
			continue
		case line[0] == '[':
			name, err := parseSectionHeader(line)
			if err != nil {
				return nil, fmt.Errorf("unit file line %d: %w", lineNo, err)
			}
			section = name
			continue
		}

		// Join continuation lines into one logical line.
		logical := line
		for strings.HasSuffix(logical, "\\") && i+1 < len(lines) {
			logical = strings.TrimSuffix(logical, "\\") + " "
			i++
			next := strings.TrimSpace(strings.TrimSuffix(lines[i], "\r"))
			for next != "" && (next[0] == '#' || next[0] == ';') && i+1 < len(lines) {
				i++
				next = strings.TrimSpace(strings.TrimSuffix(lines[i], "\r"))
			}
			if next != "" && (next[0] == '#' || next[0] == ';') {
				next = ""
			}
			logical += next
		}
		logical = strings.TrimSuffix(logical, "\\")

		eq := strings.IndexByte(logical, '=')
		if eq < 0 {
			return nil, fmt.Errorf("unit file line %d: %q is neither [Section] nor Key=Value", lineNo, line)
		}
		key := strings.TrimSpace(logical[:eq])
		if key == "" {
			return nil, fmt.Errorf("unit file line %d: %q has an empty key", lineNo, line)
		}
		if strings.ContainsAny(key, " \t") {
			return nil, fmt.Errorf("unit file line %d: key %q contains whitespace", lineNo, key)
		}
		if section == "" {
			return nil, fmt.Errorf("unit file line %d: option %q is outside any [Section]", lineNo, key)
		}
		out = append(out, UnitOption{Section: section, Name: key, Value: strings.TrimSpace(logical[eq+1:])})
	}
	return out, nil
}

// parseSectionHeader returns the name in "[Name]".
func parseSectionHeader(line string) (string, error) {
	if !strings.HasSuffix(line, "]") {
		return "", fmt.Errorf("section header %q lacks a closing ']'", line)
	}
	name := line[1 : len(line)-1]
	if name == "" {
		return "", fmt.Errorf("section header %q has an empty name", line)
	}
	if strings.ContainsAny(name, "[]") {
		return "", fmt.Errorf("section header %q contains a bracket in its name", line)
	}
	return name, nil
}
