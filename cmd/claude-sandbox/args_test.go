package main

import (
	"reflect"
	"testing"
)

func TestRunArguments(t *testing.T) {
	for _, tt := range []struct {
		args    []string
		project string
		rest    []string
	}{
		{nil, ".", nil},
		{[]string{"--", "--resume"}, ".", []string{"--resume"}},
		{[]string{"/p", "--", "--resume", "x"}, "/p", []string{"--resume", "x"}},
		{[]string{"run", "/p", "--", "-c"}, "/p", []string{"-c"}},
		{[]string{"--shell", "/p"}, "/p", nil},
		{[]string{"--profile", "work", "--", "-x"}, ".", []string{"-x"}},
		{[]string{"run", "--backend", "vm", "--", "-x"}, ".", []string{"-x"}},
		{[]string{"--profile", "work", "/p", "--", "-x"}, "/p", []string{"-x"}},
	} {
		var g any = &cli{}
		if isPlainRun(tt.args) {
			g = &runOnly{}
		}
		got, err := parseWith(g, tt.args)
		if err != nil {
			t.Errorf("%q: %v", tt.args, err)
			continue
		}
		var run runCmd
		switch x := got.(type) {
		case *cli:
			run = x.Run
		case *runOnly:
			run = x.Run
		}
		if run.Project != tt.project || !reflect.DeepEqual(run.Args, tt.rest) {
			t.Errorf("%q: project %q args %q, want %q %q", tt.args, run.Project, run.Args, tt.project, tt.rest)
		}
	}
}
