package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// stream renders events as `go test -json` lines.
func stream(t *testing.T, evs ...event) string {
	t.Helper()
	var b strings.Builder
	for _, ev := range evs {
		line, err := json.Marshal(ev)
		require.NoError(t, err)
		b.Write(line)
		b.WriteByte('\n')
	}
	return b.String()
}

const pkgA, pkgB = "example.com/m/a", "example.com/m/b"

// passes is one passing run of test name in pkg.
func passes(pkg, name string) []event {
	return []event{
		{Action: "run", Package: pkg, Test: name},
		{Action: "output", Package: pkg, Test: name, Output: "=== RUN   " + name + "\n"},
		{Action: "pass", Package: pkg, Test: name},
	}
}

// fails is one failing run of test name in pkg that printed msg.
func fails(pkg, name, msg string) []event {
	return []event{
		{Action: "run", Package: pkg, Test: name},
		{Action: "output", Package: pkg, Test: name, Output: "=== RUN   " + name + "\n"},
		{Action: "output", Package: pkg, Test: name, Output: "    " + msg + "\n"},
		{Action: "output", Package: pkg, Test: name, Output: "--- FAIL: " + name + " (0.00s)\n"},
		{Action: "fail", Package: pkg, Test: name},
	}
}

func join(groups ...[]event) []event {
	var all []event
	for _, g := range groups {
		all = append(all, g...)
	}
	return all
}

func TestSummary(t *testing.T) {
	cases := []struct {
		name     string
		events   []event
		extra    string // raw text mixed into the stream
		wantCode int
		want     []string // lines or fragments the report must hold
		wantNot  []string
	}{
		{
			name: "all pass",
			events: join(passes(pkgA, "TestX"), passes(pkgA, "TestX"), passes(pkgB, "TestY"),
				[]event{{Action: "pass", Package: pkgA}, {Action: "pass", Package: pkgB}}),
			wantCode: 0,
			want:     []string{"teststat: no test failed (2 tests in 2 packages)"},
		},
		{
			name: "a test that fails once in three runs, and its subtest",
			events: join(passes(pkgA, "TestX"), fails(pkgA, "TestX/sub", "got 1 want 2"), fails(pkgA, "TestX", "parent"),
				passes(pkgA, "TestX"), fails(pkgA, "TestX/sub", "got 3 want 2"), passes(pkgB, "TestY"),
				[]event{{Action: "fail", Package: pkgA}, {Action: "pass", Package: pkgB}}),
			wantCode: 1,
			want: []string{
				"teststat: 2 of 3 tests failed at least once",
				"FAIL 1/3 example.com/m/a TestX\n",
				"FAIL 2/2 example.com/m/a TestX/sub\n",
				"    got 1 want 2",
			},
			wantNot: []string{"TestY", "got 3 want 2", "outside any test"},
		},
		{
			name: "a package that fails outside any test",
			events: join(passes(pkgA, "TestX"), []event{
				{Action: "output", Package: pkgA, Output: "goleak: Errors on successful test run: found unexpected goroutines\n"},
				{Action: "fail", Package: pkgA},
			}),
			wantCode: 1,
			want:     []string{"FAIL 1/1 example.com/m/a (outside any test", "    goleak: Errors"},
		},
		{
			name: "a package that does not build",
			events: []event{
				{Action: "build-output", ImportPath: pkgA + " [" + pkgA + ".test]", Output: "a/x_test.go:3:1: syntax error\n"},
				{Action: "output", Package: pkgA, Output: "FAIL\t" + pkgA + " [build failed]\n"},
				{Action: "fail", Package: pkgA, FailedBuild: pkgA + " [" + pkgA + ".test]"},
			},
			wantCode: 1,
			want: []string{"teststat: 1 of 1 packages failed outside any test", "FAIL 1/1 example.com/m/a (outside any test",
				"    a/x_test.go:3:1: syntax error"},
			wantNot: []string{"tests failed"},
		},
		{
			name:     "text that is not json is skipped",
			events:   join(passes(pkgA, "TestX"), []event{{Action: "pass", Package: pkgA}}),
			extra:    "# example.com/m/a\nnot json\n",
			wantCode: 0,
			want:     []string{"no test failed (1 tests in 1 packages)"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.extra + stream(t, tc.events...)
			var out, errOut bytes.Buffer
			code := run(nil, strings.NewReader(in), &out, &errOut)
			require.Equal(t, tc.wantCode, code, "exit code: got %d want %d; stderr %s", code, tc.wantCode, errOut.String())
			for _, w := range tc.want {
				require.Contains(t, out.String(), w)
			}
			for _, w := range tc.wantNot {
				require.NotContains(t, out.String(), w)
			}
		})
	}
}

func TestRunArgs(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "stress.json")
	require.NoError(t, os.WriteFile(file, []byte(stream(t, fails(pkgA, "TestX", "one\ntwo\nthree")...)), 0o600))
	cases := []struct {
		name     string
		args     []string
		wantCode int
		want     string
		wantNot  string
	}{
		{name: "file", args: []string{file}, wantCode: 1, want: "FAIL 1/1 example.com/m/a TestX"},
		{name: "lines cut", args: []string{"-lines", "2", file}, wantCode: 1, want: "… 3 more lines", wantNot: "three"},
		{name: "no lines", args: []string{"-lines", "0", file}, wantCode: 1, wantNot: "=== RUN"},
		{name: "missing file", args: []string{filepath.Join(dir, "none.json")}, wantCode: 2},
		{name: "two files", args: []string{file, file}, wantCode: 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := run(tc.args, strings.NewReader(""), &out, &errOut)
			require.Equal(t, tc.wantCode, code, "exit code: got %d want %d; stderr %s", code, tc.wantCode, errOut.String())
			if tc.want != "" {
				require.Contains(t, out.String(), tc.want)
			}
			if tc.wantNot != "" {
				require.NotContains(t, out.String(), tc.wantNot)
			}
		})
	}
}
