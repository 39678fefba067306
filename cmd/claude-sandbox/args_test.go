package main

import (
	"io"
	"reflect"
	"testing"
)

// parseRun parses args as Main does and returns the run command, or
// nil when args name another command.
func parseRun(t *testing.T, args []string) (*runCmd, error) {
	t.Helper()
	fast, err := newParser(&runOnly{}, stdio{out: io.Discard, err: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	plain, split := splitRun(args, valuedFlags(fast.Model), commandNames())
	if !plain {
		g := &cli{}
		p, err := newParser(g, stdio{out: io.Discard, err: io.Discard})
		if err != nil {
			t.Fatal(err)
		}
		ctx, err := p.Parse(split)
		if err != nil || ctx.Command() != "run <project> <args>" && ctx.Command() != "run <project>" && ctx.Command() != "run" {
			return nil, err
		}
		return &g.Run, nil
	}
	g := &runOnly{}
	p, err := newParser(g, stdio{out: io.Discard, err: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Parse(split)
	return &g.Run, err
}

// TestRunArguments pins the run grammar: launcher flags before the project
// dir, everything after it for the command.
func TestRunArguments(t *testing.T) {
	for _, tt := range []struct {
		args    []string
		project string
		rest    []string
	}{
		{nil, ".", nil},
		{[]string{"--", "--resume"}, ".", []string{"--resume"}},
		{[]string{"/p", "--", "--resume", "x"}, "/p", []string{"--resume", "x"}},
		{[]string{"/p", "--resume"}, "/p", []string{"--resume"}},
		{[]string{"/p", "-p", "hi"}, "/p", []string{"-p", "hi"}},
		{[]string{"/p", "--resume", "--", "x"}, "/p", []string{"--resume", "--", "x"}},
		{[]string{"/p", "--", "--", "x"}, "/p", []string{"--", "x"}},
		{[]string{"/p", "--shell", "--network", "off"}, "/p", []string{"--shell", "--network", "off"}},
		{[]string{"/p", "explain"}, "/p", []string{"explain"}},
		{[]string{"/p", "--help"}, "/p", []string{"--help"}},
		{[]string{"./check"}, "./check", nil},
		{[]string{"run", "/p", "--", "-c"}, "/p", []string{"-c"}},
		{[]string{"run", "check", "-c"}, "check", []string{"-c"}},
		{[]string{"--shell", "/p"}, "/p", nil},
		{[]string{"--network", "off", "/p", "x"}, "/p", []string{"x"}},
		{[]string{"--profile", "work", "--", "-x"}, ".", []string{"-x"}},
		{[]string{"run", "--backend", "vm", "--", "-x"}, ".", []string{"-x"}},
		{[]string{"--profile", "work", "/p", "--", "-x"}, "/p", []string{"-x"}},
	} {
		run, err := parseRun(t, tt.args)
		if err != nil || run == nil {
			t.Errorf("%q: %v", tt.args, err)
			continue
		}
		if run.Project != tt.project || !reflect.DeepEqual(run.Args, tt.rest) {
			t.Errorf("%q: project %q args %q, want %q %q", tt.args, run.Project, run.Args, tt.project, tt.rest)
		}
	}
}

// TestRunFlagsBeforeDirOnly shows a launcher flag after the project dir
// is the command's: it changes nothing in the selection.
func TestRunFlagsBeforeDirOnly(t *testing.T) {
	run, err := parseRun(t, []string{"--network", "off", "/p", "--backend", "vm", "--shell"})
	if err != nil {
		t.Fatal(err)
	}
	if run.Backend != "" || run.Shell || run.network() != "off" {
		t.Errorf("backend %q shell %v network %q: flags after the dir were read", run.Backend, run.Shell, run.network())
	}
}
