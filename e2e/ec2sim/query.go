package ec2sim

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
)

// apiError is an EC2 error answer (spec §1.4).
type apiError struct {
	status  int
	code    string
	message string
}

func (e *apiError) Error() string { return e.code + ": " + e.message }

func badRequest(code, format string, args ...any) *apiError {
	return &apiError{status: http.StatusBadRequest, code: code, message: fmt.Sprintf(format, args...)}
}

// filter is one Filter.N: values are ORed.
type filter struct {
	name   string
	values []string
}

var (
	indexedRe     = regexp.MustCompile(`^([A-Za-z]+)\.([1-9][0-9]*)$`)
	filterNameRe  = regexp.MustCompile(`^Filter\.([1-9][0-9]*)\.Name$`)
	filterValueRe = regexp.MustCompile(`^Filter\.([1-9][0-9]*)\.Value\.([1-9][0-9]*)$`)
	tagFieldRe    = regexp.MustCompile(`^Tag\.([1-9][0-9]*)\.(Key|Value)$`)
)

// params is the request's form with helpers that record which keys were used.
type params struct {
	form url.Values
	// allowed lists the scalar keys and list prefixes the action accepts.
	scalars map[string]bool
	lists   map[string]bool // e.g. "VolumeId" for VolumeId.N
	filters bool
	tags    bool
}

// check rejects keys the action does not know (UnknownParameter) and keys
// given twice.
func (p *params) check() *apiError {
	keys := sortedKeys(p.form)
	for _, k := range keys {
		if len(p.form[k]) > 1 {
			return badRequest("InvalidParameterValue", "The parameter %s is given more than once", k)
		}
		if k == "Action" || k == "Version" || p.scalars[k] {
			continue
		}
		if m := indexedRe.FindStringSubmatch(k); m != nil && p.lists[m[1]] {
			continue
		}
		if p.filters && (filterNameRe.MatchString(k) || filterValueRe.MatchString(k)) {
			continue
		}
		if p.tags && tagFieldRe.MatchString(k) {
			continue
		}
		return badRequest("UnknownParameter", "The parameter %s is not recognized", k)
	}
	return nil
}

func (p *params) has(key string) bool { _, ok := p.form[key]; return ok }

func (p *params) str(key string) string { return p.form.Get(key) }

// required returns a parameter that must be present and non-empty.
func (p *params) required(key string) (string, *apiError) {
	v := p.form.Get(key)
	if v == "" {
		return "", badRequest("MissingParameter", "The request must contain the parameter %s", key)
	}
	return v, nil
}

// boolean parses true/false; absent = false.
func (p *params) boolean(key string) (bool, *apiError) {
	if !p.has(key) {
		return false, nil
	}
	switch v := p.form.Get(key); v {
	case "true":
		return true, nil
	case "false":
		return false, nil
	default:
		return false, badRequest("InvalidParameterValue", "Value (%s) for parameter %s is invalid. Expecting a boolean.", v, key)
	}
}

// list returns Name.1, Name.2, ... in index order.
func (p *params) list(name string) []string {
	type item struct {
		n int
		v string
	}
	var items []item
	for k, vs := range p.form {
		m := indexedRe.FindStringSubmatch(k)
		if m == nil || m[1] != name {
			continue
		}
		n, _ := strconv.Atoi(m[2])
		items = append(items, item{n, vs[0]})
	}
	sort.Slice(items, func(i, j int) bool { return items[i].n < items[j].n })
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = it.v
	}
	return out
}

// filterList returns Filter.N in index order.
func (p *params) filterList() ([]filter, *apiError) {
	byIndex := map[int]*filter{}
	type val struct {
		n int
		v string
	}
	vals := map[int][]val{}
	for k, vs := range p.form {
		if m := filterNameRe.FindStringSubmatch(k); m != nil {
			n, _ := strconv.Atoi(m[1])
			f := byIndex[n]
			if f == nil {
				f = &filter{}
				byIndex[n] = f
			}
			f.name = vs[0]
		}
		if m := filterValueRe.FindStringSubmatch(k); m != nil {
			n, _ := strconv.Atoi(m[1])
			j, _ := strconv.Atoi(m[2])
			vals[n] = append(vals[n], val{j, vs[0]})
			if byIndex[n] == nil {
				byIndex[n] = &filter{}
			}
		}
	}
	idx := make([]int, 0, len(byIndex))
	for n := range byIndex {
		idx = append(idx, n)
	}
	sort.Ints(idx)
	out := make([]filter, 0, len(idx))
	for _, n := range idx {
		f := byIndex[n]
		if f.name == "" {
			return nil, badRequest("MissingParameter", "The request must contain the parameter Filter.%d.Name", n)
		}
		vs := vals[n]
		if len(vs) == 0 {
			return nil, badRequest("InvalidParameterValue", "The filter '%s' must have at least one value", f.name)
		}
		sort.Slice(vs, func(i, j int) bool { return vs[i].n < vs[j].n })
		for _, v := range vs {
			f.values = append(f.values, v.v)
		}
		out = append(out, *f)
	}
	return out, nil
}

// tagList returns Tag.N.Key / Tag.N.Value pairs in index order.
func (p *params) tagList() ([][2]string, *apiError) {
	type kv struct {
		key, value string
		hasKey     bool
	}
	byIndex := map[int]*kv{}
	for k, vs := range p.form {
		m := tagFieldRe.FindStringSubmatch(k)
		if m == nil {
			continue
		}
		n, _ := strconv.Atoi(m[1])
		t := byIndex[n]
		if t == nil {
			t = &kv{}
			byIndex[n] = t
		}
		if m[2] == "Key" {
			t.key, t.hasKey = vs[0], true
		} else {
			t.value = vs[0]
		}
	}
	idx := make([]int, 0, len(byIndex))
	for n := range byIndex {
		idx = append(idx, n)
	}
	sort.Ints(idx)
	out := make([][2]string, 0, len(idx))
	for _, n := range idx {
		t := byIndex[n]
		if !t.hasKey || t.key == "" {
			return nil, badRequest("MissingParameter", "The request must contain the parameter Tag.%d.Key", n)
		}
		out = append(out, [2]string{t.key, t.value})
	}
	return out, nil
}

// page holds validated MaxResults / NextToken.
type page struct {
	max   int // 0 = everything
	after string
}

// pageParams validates MaxResults (5..1000, not with explicit IDs) and NextToken.
func (p *params) pageParams(action, setName string, haveIDs bool) (page, *apiError) {
	var pg page
	if p.has("MaxResults") {
		if haveIDs {
			return pg, badRequest("InvalidParameterCombination", "The parameter %s cannot be used with the parameter maxResults", setName)
		}
		v := p.form.Get("MaxResults")
		n, err := strconv.Atoi(v)
		if err != nil {
			return pg, badRequest("InvalidParameterValue", "Value ( %s ) for parameter maxResults is invalid. Expecting an integer.", v)
		}
		if n < 5 {
			return pg, badRequest("InvalidParameterValue", "Value ( %d ) for parameter maxResults is invalid. Expecting a value greater than 5.", n)
		}
		if n > 1000 {
			return pg, badRequest("InvalidParameterValue", "Value ( %d ) for parameter maxResults is invalid. Expecting a value less than or equal to 1000.", n)
		}
		pg.max = n
	}
	if tok := p.form.Get("NextToken"); tok != "" {
		after, ok := decodeToken(action, tok)
		if !ok {
			return pg, badRequest("InvalidPaginationToken", "The token '%s' is invalid.", tok)
		}
		pg.after = after
	}
	return pg, nil
}
