package main

import (
	"io"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestRunOnlyGrammarMatchesFull proves the fast grammar of a plain run
// parses exactly as the full grammar does.
func TestRunOnlyGrammarMatchesFull(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"."},
		{"/p", "--", "--resume"},
		{"--backend=vm", "--no-network", "/p"},
		{"--network=allowlist", "--profile", "work", "--shell", "--gh-token", "--force", "--dry-run"},
		{"--network", "/p", "--", "explain"},
		{"/p", "--resume"},
		{"--backend=docker"},
		{"--network=sideways"},
		{"--bogus"},
		{"a", "b", "c"},
	} {
		if !isPlainRun(args) {
			t.Fatalf("%q is not a plain run", args)
		}
		full, errFull := parseWith(&cli{}, args)
		fast, errFast := parseWith(&runOnly{}, args)
		if (errFull == nil) != (errFast == nil) {
			t.Errorf("%q: full grammar error %v, run-only error %v", args, errFull, errFast)
			continue
		}
		if errFull != nil {
			continue
		}
		if diff := cmp.Diff(full.(*cli).Run, fast.(*runOnly).Run, cmp.AllowUnexported(runCmd{}, selection{}, networkFlag{})); diff != "" {
			t.Errorf("%q: parses differ (-full +run-only):\n%s", args, diff)
		}
	}
	for _, args := range [][]string{{"explain"}, {"--help"}, {"-h"}, {"--json", "check"}, {"version"}} {
		if isPlainRun(args) {
			t.Errorf("%q taken for a plain run", args)
		}
	}
}

func parseWith(grammar any, args []string) (any, error) {
	parser, err := newParser(grammar, stdio{out: io.Discard, err: io.Discard})
	if err != nil {
		return nil, err
	}
	_, err = parser.Parse(defaultProject(parser.Model, args))
	return grammar, err
}
