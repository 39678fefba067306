package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestCompletionAndManCoverEveryFlag proves the generated scripts and the
// manual page name every command and every spelling of every flag.
func TestCompletionAndManCoverEveryFlag(t *testing.T) {
	var grammar cli
	var out bytes.Buffer
	parser, err := newParser(&grammar, stdio{out: &out, err: &out})
	if err != nil {
		t.Fatal(err)
	}
	global, cmds := describeModel(parser.Model)
	if len(cmds) < 9 {
		t.Fatalf("only %d commands in the model", len(cmds))
	}
	outputs := map[string]string{}
	for _, shell := range []string{"bash", "zsh", "fish"} {
		var b bytes.Buffer
		if status := Main([]string{"completion", shell}, stdio{out: &b, err: &b}); status != 0 {
			t.Fatalf("completion %s: status %d: %s", shell, status, b.String())
		}
		outputs[shell] = b.String()
	}
	var man bytes.Buffer
	if status := Main([]string{"man"}, stdio{out: &man, err: &man}); status != 0 {
		t.Fatalf("man: status %d", status)
	}
	outputs["man"] = strings.ReplaceAll(man.String(), `\-`, "-")

	for name, text := range outputs {
		for _, c := range cmds {
			if !strings.Contains(text, c.Name) {
				t.Errorf("%s lacks the command %s", name, c.Name)
			}
			for _, f := range allFlags(global, c) {
				spellings := []string{"--" + f.Long}
				if f.Negation != "" {
					spellings = append(spellings, "--"+f.Negation)
				}
				for _, s := range spellings {
					want := s
					if name == "fish" {
						want = "-l " + strings.TrimPrefix(s, "--")
					}
					if !strings.Contains(text, want) {
						t.Errorf("%s lacks %s of command %s", name, want, c.Name)
					}
				}
				for _, v := range f.Values {
					if name != "man" && !strings.Contains(text, v) {
						t.Errorf("%s lacks the value %s of --%s", name, v, f.Long)
					}
				}
			}
		}
	}
	// Spot checks that the model is what the grammar says.
	var run commandInfo
	for _, c := range cmds {
		if c.Name == "run" {
			run = c
		}
	}
	if !run.Default {
		t.Error("run is not the default command")
	}
	var names []string
	for _, f := range run.Flags {
		names = append(names, f.names()...)
	}
	for _, want := range []string{"--backend", "--profile", "--shell", "--gh-token", "--network", "--no-network", "--force", "--dry-run"} {
		if !strings.Contains(strings.Join(names, " "), want) {
			t.Errorf("run lacks %s: %v", want, names)
		}
	}
}

func TestCompletionScriptsParse(t *testing.T) {
	for _, shell := range []string{"bash", "zsh", "fish"} {
		var b bytes.Buffer
		Main([]string{"completion", shell}, stdio{out: &b, err: &b})
		if !strings.Contains(b.String(), "claude-sandbox") {
			t.Errorf("%s script: %s", shell, b.String())
		}
	}
}
