package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
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

// requireTool returns the path of a program the test needs. Under CI=true
// a missing program fails the test; elsewhere the test is skipped with
// what to install.
func requireTool(t *testing.T, name, pkg string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is required (install the Debian package %s)", name, pkg)
	}
	t.Skipf("%s not found: install the Debian package %s to run this test", name, pkg)
	return ""
}

// TestCompletionScriptsSyntax has each shell parse its script.
func TestCompletionScriptsSyntax(t *testing.T) {
	for _, shell := range []struct{ name, pkg string }{{"bash", "bash"}, {"zsh", "zsh"}, {"fish", "fish"}} {
		t.Run(shell.name, func(t *testing.T) {
			prog := requireTool(t, shell.name, shell.pkg)
			var b bytes.Buffer
			if status := Main([]string{"completion", shell.name}, stdio{out: &b, err: &b}); status != 0 {
				t.Fatalf("status %d: %s", status, b.String())
			}
			file := filepath.Join(t.TempDir(), "completion")
			if err := os.WriteFile(file, b.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			if out, err := exec.Command(prog, "-n", file).CombinedOutput(); err != nil {
				t.Fatalf("%s -n: %v\n%s", shell.name, err, out)
			}
		})
	}
}

// TestBashCompletionWorks runs the bash completion function.
func TestBashCompletionWorks(t *testing.T) {
	bash := requireTool(t, "bash", "bash")
	var b bytes.Buffer
	Main([]string{"completion", "bash"}, stdio{out: &b, err: &b})
	dir := t.TempDir()
	script := filepath.Join(dir, "c.bash")
	if err := os.WriteFile(script, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	driver := `source "$1"
compopt() { :; }
comp() { COMP_WORDS=("$@"); COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 )); COMPREPLY=(); _claude_sandbox; echo "${COMPREPLY[*]}"; }
comp claude-sandbox expl
comp claude-sandbox --backend=c
comp claude-sandbox explain --j
comp claude-sandbox --network=a
comp claude-sandbox completion ""
comp claude-sandbox --backend = c
comp claude-sandbox --network = ""
comp claude-sandbox --network o
comp claude-sandbox explain --backend = v
`
	cmd := exec.Command(bash, "-c", driver, "bash", script)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	want := "explain\n--backend=container\n--json\n--network=allowlist\nbash zsh fish\ncontainer\noff allowlist full host\noff\nvm\n"
	if string(out) != want {
		t.Errorf("completions:\n%s\nwant:\n%s", out, want)
	}
}
