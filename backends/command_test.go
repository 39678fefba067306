package backends

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeExe(t *testing.T, p string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
}

// TestFindCommandForSudoUser finds the agent where the invoking user
// installed it, although sudo's PATH does not list the place.
func TestFindCommandForSudoUser(t *testing.T) {
	t.Setenv("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
	home := t.TempDir()
	// Not found anywhere: the places searched are listed.
	got, searched := findCommand("csbx-agent-test", home, true)
	if got != "" || !strings.Contains(strings.Join(searched, ":"), filepath.Join(home, ".local/bin")) {
		t.Fatalf("found %q, searched %q", got, searched)
	}
	// The npm prefix set in ~/.npmrc.
	if err := os.WriteFile(filepath.Join(home, ".npmrc"), []byte("fund=false\nprefix = ~/npm-prefix\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	writeExe(t, filepath.Join(home, "npm-prefix/bin/csbx-agent-test"))
	if got, _ := findCommand("csbx-agent-test", home, true); got != filepath.Join(home, "npm-prefix/bin/csbx-agent-test") {
		t.Errorf("npmrc prefix: found %q", got)
	}
	// ~/.local/bin comes first, as in a login PATH.
	writeExe(t, filepath.Join(home, ".local/bin/csbx-agent-test"))
	if got, _ := findCommand("csbx-agent-test", home, true); got != filepath.Join(home, ".local/bin/csbx-agent-test") {
		t.Errorf("~/.local/bin: found %q", got)
	}
	// Without sudo only PATH counts.
	if got, _ := findCommand("csbx-agent-test", home, false); got != "" {
		t.Errorf("without sudo: found %q outside PATH", got)
	}
	// A file that is not executable is not a command.
	if err := os.Chmod(filepath.Join(home, ".local/bin/csbx-agent-test"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, _ := findCommand("csbx-agent-test", home, true); got != filepath.Join(home, "npm-prefix/bin/csbx-agent-test") {
		t.Errorf("non-executable skipped: found %q", got)
	}
}

func TestSudoCommand(t *testing.T) {
	if got := SudoCommand("/usr/local/bin/claude-sandbox", "--backend", "container", "/p"); got != "sudo claude-sandbox --backend container /p" {
		t.Errorf("got %q", got)
	}
	if got := SudoCommand("/home/a/go/bin/claude-sandbox", "--backend", "container", "/p q"); got != "sudo /home/a/go/bin/claude-sandbox --backend container '/p q'" {
		t.Errorf("got %q", got)
	}
}
