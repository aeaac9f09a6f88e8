package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
)

// event is one line of `go test -json` (cmd/test2json), with the fields teststat reads.
type event struct {
	Action      string
	Package     string
	Test        string
	Output      string
	ImportPath  string // build-output events name the package being built here
	FailedBuild string // a package's fail event names the package that did not build
}

// testID names one test across runs.
type testID struct{ pkg, name string }

// testStat counts one test's runs; out collects the current run's output until the run
// ends, and first keeps the output of the first failed run.
type testStat struct {
	runs, fails int
	out, first  []string
}

// pkgStat counts one package's runs. A package can fail with no failed test in it: a
// build error, TestMain (goleak), a panic or the -timeout.
type pkgStat struct {
	runs, fails int
	failedBuild string
	out, first  []string
}

// Summary is what a stream of test events says about each test and package.
type Summary struct {
	tests    map[testID]*testStat
	pkgs     map[string]*pkgStat
	buildOut map[string][]string
}

// Read consumes a `go test -json` stream. Lines that are not JSON (a build error
// printed before -json took over) are ignored, as test2json's readers do.
func Read(r io.Reader) (*Summary, error) {
	s := &Summary{tests: map[testID]*testStat{}, pkgs: map[string]*pkgStat{}, buildOut: map[string][]string{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if len(line) == 0 || line[0] != '{' {
			continue
		}
		var ev event
		if err := json.Unmarshal(line, &ev); err != nil {
			continue
		}
		s.add(ev)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read test events: %w", err)
	}
	return s, nil
}

func (s *Summary) add(ev event) {
	if ev.Action == "build-output" {
		s.buildOut[ev.ImportPath] = append(s.buildOut[ev.ImportPath], ev.Output)
		return
	}
	if ev.Package == "" {
		return
	}
	if ev.Test == "" {
		p := s.pkgs[ev.Package]
		if p == nil {
			p = &pkgStat{}
			s.pkgs[ev.Package] = p
		}
		switch ev.Action {
		case "output":
			p.out = append(p.out, ev.Output)
		case "pass", "skip":
			p.runs++
		case "fail":
			p.runs++
			p.fails++
			if p.fails == 1 {
				p.first, p.failedBuild = p.out, ev.FailedBuild
			}
		}
		return
	}
	id := testID{ev.Package, ev.Test}
	t := s.tests[id]
	if t == nil {
		t = &testStat{}
		s.tests[id] = t
	}
	switch ev.Action {
	case "run":
		t.out = nil
	case "output":
		t.out = append(t.out, ev.Output)
	case "pass", "skip":
		t.runs++
	case "fail":
		t.runs++
		t.fails++
		if t.fails == 1 {
			t.first = t.out
		}
	}
}

// Failed reports whether any test or package failed at least once.
func (s *Summary) Failed() bool {
	for _, t := range s.tests {
		if t.fails > 0 {
			return true
		}
	}
	for _, p := range s.pkgs {
		if p.fails > 0 {
			return true
		}
	}
	return false
}

// Write lists the tests that failed at least once, by package and name, each with its
// failure count and up to lines lines of its first failure; then the packages that
// failed with no failed test to show for it.
func (s *Summary) Write(w io.Writer, lines int) error {
	var failed []testID
	pkgHasFailedTest := map[string]bool{}
	for id, t := range s.tests {
		if t.fails > 0 {
			failed = append(failed, id)
			pkgHasFailedTest[id.pkg] = true
		}
	}
	sort.Slice(failed, func(i, j int) bool {
		if failed[i].pkg != failed[j].pkg {
			return failed[i].pkg < failed[j].pkg
		}
		return failed[i].name < failed[j].name
	})
	var pkgs []string
	for name, p := range s.pkgs {
		if p.fails > 0 && !pkgHasFailedTest[name] {
			pkgs = append(pkgs, name)
		}
	}
	sort.Strings(pkgs)

	bw := bufio.NewWriter(w)
	if len(failed) == 0 && len(pkgs) == 0 {
		fmt.Fprintf(bw, "teststat: no test failed (%d tests in %d packages)\n", len(s.tests), len(s.pkgs))
		return bw.Flush()
	}
	if len(failed) > 0 {
		fmt.Fprintf(bw, "teststat: %d of %d tests failed at least once\n", len(failed), len(s.tests))
	}
	for _, id := range failed {
		t := s.tests[id]
		fmt.Fprintf(bw, "FAIL %d/%d %s %s\n", t.fails, t.runs, id.pkg, id.name)
		writeLines(bw, t.first, lines)
	}
	if len(pkgs) > 0 {
		fmt.Fprintf(bw, "teststat: %d of %d packages failed outside any test\n", len(pkgs), len(s.pkgs))
	}
	for _, name := range pkgs {
		p := s.pkgs[name]
		fmt.Fprintf(bw, "FAIL %d/%d %s (outside any test: build, TestMain, panic or timeout)\n", p.fails, p.runs, name)
		out := p.first
		if p.failedBuild != "" {
			out = s.buildOut[p.failedBuild]
		}
		writeLines(bw, out, lines)
	}
	return bw.Flush()
}

// writeLines writes at most n of out's lines, indented, and says how many it left out.
func writeLines(w io.Writer, out []string, n int) {
	text := strings.TrimRight(strings.Join(out, ""), "\n")
	if n <= 0 || text == "" {
		return
	}
	ls := strings.Split(text, "\n")
	for i, l := range ls {
		if i == n {
			fmt.Fprintf(w, "    … %d more lines\n", len(ls)-n)
			break
		}
		fmt.Fprintf(w, "    %s\n", l)
	}
}
