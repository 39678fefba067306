package main

import (
	"io"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestRunOnlyGrammarMatchesFull proves the fast grammar of a plain run
// parses exactly as the full grammar does.
func TestRunOnlyGrammarMatchesFull(t *testing.T) {
	fast, err := newParser(&runOnly{}, stdio{out: io.Discard, err: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	valued, commands := valuedFlags(fast.Model), commandNames()
	for _, args := range [][]string{
		{},
		{"."},
		{"/p", "--", "--resume"},
		{"--backend=vm", "--no-network", "/p"},
		{"--network=allowlist", "--profile", "work", "--shell", "--gh-token", "--force", "--dry-run"},
		{"--network", "off", "/p", "--", "explain"},
		{"--network", "--shell"},
		{"--network", "off", "--no-network"},
		{"/p", "--resume"},
		{"--backend=docker"},
		{"--network=sideways"},
		{"--bogus"},
		{"a", "b", "c"},
	} {
		plain, split := splitRun(args, valued, commands)
		if !plain {
			t.Fatalf("%q is not a plain run", args)
		}
		full, errFull := parseWith(&cli{}, split)
		quick, errFast := parseWith(&runOnly{}, split)
		if (errFull == nil) != (errFast == nil) {
			t.Errorf("%q: full grammar error %v, run-only error %v", args, errFull, errFast)
			continue
		}
		if errFull != nil {
			continue
		}
		if diff := cmp.Diff(full.(*cli).Run, quick.(*runOnly).Run, cmp.AllowUnexported(runCmd{}, selection{}, networkFlag{})); diff != "" {
			t.Errorf("%q: parses differ (-full +run-only):\n%s", args, diff)
		}
	}
	for _, args := range [][]string{{"explain"}, {"--help"}, {"-h"}, {"--json", "check"}, {"version"}, {"--shell", "doctor"}} {
		if plain, _ := splitRun(args, valued, commands); plain {
			t.Errorf("%q taken for a plain run", args)
		}
	}
}

func parseWith(grammar any, args []string) (any, error) {
	parser, err := newParser(grammar, stdio{out: io.Discard, err: io.Discard})
	if err != nil {
		return nil, err
	}
	_, err = parser.Parse(args)
	return grammar, err
}
