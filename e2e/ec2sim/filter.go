package ec2sim

import (
	"regexp"
	"strings"
)

// Filter semantics (spec §1.6): values of one filter are ORed, filters are
// ANDed, * and ? are wildcards, \ escapes the next character. Filter names
// are case-sensitive; an unknown name is InvalidParameterValue.

// wildcard compiles an EC2 filter value into an anchored regexp.
func wildcard(pattern string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString("^")
	escaped := false
	for _, r := range pattern {
		switch {
		case escaped:
			b.WriteString(regexp.QuoteMeta(string(r)))
			escaped = false
		case r == '\\':
			escaped = true
		case r == '*':
			b.WriteString("(?s:.*)")
		case r == '?':
			b.WriteString("(?s:.)")
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	if escaped {
		b.WriteString(regexp.QuoteMeta(`\`))
	}
	b.WriteString("$")
	return regexp.MustCompile(b.String())
}

// matcher is a compiled filter.
type matcher struct {
	name string
	res  []*regexp.Regexp
}

func compileFilters(fs []filter) []matcher {
	out := make([]matcher, len(fs))
	for i, f := range fs {
		m := matcher{name: f.name}
		for _, v := range f.values {
			m.res = append(m.res, wildcard(v))
		}
		out[i] = m
	}
	return out
}

// anyMatch reports whether any candidate matches any value.
func (m matcher) anyMatch(candidates ...string) bool {
	for _, c := range candidates {
		for _, re := range m.res {
			if re.MatchString(c) {
				return true
			}
		}
	}
	return false
}

// checkFilterNames rejects names outside known, allowing tag:KEY forms.
func checkFilterNames(fs []filter, known map[string]bool) *apiError {
	for _, f := range fs {
		if known[f.name] || (strings.HasPrefix(f.name, "tag:") && len(f.name) > len("tag:")) {
			continue
		}
		return badRequest("InvalidParameterValue", "The filter '%s' is invalid", f.name)
	}
	return nil
}

// tagMatch evaluates tag:KEY, tag-key and tag-value; ok=false if the filter
// is not a tag filter.
func tagMatch(m matcher, tags map[string]string) (matched, ok bool) {
	switch {
	case strings.HasPrefix(m.name, "tag:"):
		v, has := tags[strings.TrimPrefix(m.name, "tag:")]
		return has && m.anyMatch(v), true
	case m.name == "tag-key":
		return m.anyMatch(sortedKeys(tags)...), true
	case m.name == "tag-value":
		vals := make([]string, 0, len(tags))
		for _, v := range tags {
			vals = append(vals, v)
		}
		return m.anyMatch(vals...), true
	}
	return false, false
}
