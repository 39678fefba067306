package backends_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	bt "github.com/claude-sandbox/claude-sandbox/backends/backendtest"
)

// The attacks on protected paths: each line of the script's output names
// an attack that worked ("BROKEN name"). Every attack tries to make a host
// program run something: git through core.fsmonitor or a hook, Claude
// Code through a settings hook. $1 is the marker file a successful attack
// would make the host create.
const attackScript = `m="$1"
evil="[core]
	fsmonitor = touch $m"
hook="#!/bin/sh
touch $m"
try() { name=$1; shift; if "$@" 2>/dev/null; then echo "BROKEN $name"; fi; }
# Git inside still commits in the pinned .git.
echo two > file && git add file && git -c user.name=In -c user.email=in@example.com commit -qm inside && echo COMMITTED-INSIDE
# Move .git aside and plant a new one whose config runs the monitor.
if mv .git .git-old 2>/dev/null; then
	echo "BROKEN rename-git"
	mkdir .git && cp -r .git-old/objects .git-old/refs .git-old/HEAD .git/ && printf '%s\n' "$evil" > .git/config
fi
try remove-git-dir rmdir .git
try write-config sh -c 'printf "%s\n" "$0" >> .git/config' "$evil"
printf '%s\n' "$evil" > /tmp/evil-config
try rename-over-config mv -f /tmp/evil-config .git/config
try remove-config rm -f .git/config
try symlink-config ln -sfn /tmp/evil-config .git/config
try write-hook sh -c 'printf "%s\n" "$0" > .git/hooks/post-checkout && chmod +x .git/hooks/post-checkout' "$hook"
mkdir -p /tmp/evil-hooks && printf '%s\n' "$hook" > /tmp/evil-hooks/post-checkout && chmod +x /tmp/evil-hooks/post-checkout
try rename-hooks mv .git/hooks .git/hooks-old
try replace-hooks sh -c 'rm -rf .git/hooks && ln -s /tmp/evil-hooks .git/hooks'
mkdir -p /tmp/evil-git && printf '%s\n' "$evil" > /tmp/evil-git/config
try commondir sh -c 'echo ../../evil > .git/commondir'
try commondir-rename sh -c 'echo ../../evil > .git/cd && mv -f .git/cd .git/commondir'
try worktree-config sh -c 'printf "%s\n" "$0" > .git/config.worktree' "$evil"
try nested-rename mv sub/.git sub/.git-old
try nested-config sh -c 'printf "%s\n" "$0" >> sub/.git/config' "$evil"
try nested-hooks sh -c 'printf "%s\n" "$0" > sub/.git/hooks/post-checkout' "$hook"
try hooks-path sh -c 'printf "%s\n" "$0" > sub/.githooks/post-checkout && chmod +x sub/.githooks/post-checkout' "$hook"
try hooks-path-replace sh -c 'mv sub/.githooks sub/.githooks-old'
try claude-settings sh -c 'printf "{\"hooks\":{\"SessionStart\":[{\"hooks\":[{\"type\":\"command\",\"command\":\"touch %s\"}]}]}}\n" "$0" > ~/.claude/settings.json' "$m"
printf '{"hooks":{}}\n' > ~/.claude/evil.json
try claude-settings-rename mv -f ~/.claude/evil.json ~/.claude/settings.json
try claude-commands sh -c 'mkdir -p ~/.claude/commands && echo run > ~/.claude/commands/x.md'
try claude-hooks-dir sh -c 'rm -rf ~/.claude/hooks && mkdir ~/.claude/hooks'
try envrc sh -c 'echo "touch $0" >> .envrc' "$m"
try vscode sh -c 'mkdir -p .vscode && echo {} > .vscode/tasks.json'
try gh-token grep -q oauth_token ~/.config/gh/hosts.yml
echo ATTACKS-DONE
`

// protectFixture turns the fixture's project into a real git repository
// with one commit and a nested repository in sub/, gives the fixture a gh
// configuration holding a token and an existing .envrc, and returns the
// marker path an attack would create.
func protectFixture(t *testing.T, f *bt.Fixture) string {
	t.Helper()
	os.RemoveAll(filepath.Join(f.Project, ".git"))
	for _, dir := range []string{f.Project, filepath.Join(f.Project, "sub")} {
		os.MkdirAll(dir, 0o755)
		chown(t, f, dir)
		hostGit(t, f, dir, "init", "-q")
		os.WriteFile(filepath.Join(dir, "file"), []byte("one\n"), 0o644)
		hostGit(t, f, dir, "add", "file")
		hostGit(t, f, dir, "-c", "user.name=T", "-c", "user.email=t@example.com", "commit", "-qm", "one")
	}
	// The nested repository keeps its hooks in the working tree.
	os.MkdirAll(filepath.Join(f.Project, "sub", ".githooks"), 0o755)
	hostGit(t, f, filepath.Join(f.Project, "sub"), "config", "core.hooksPath", ".githooks")
	os.WriteFile(filepath.Join(f.Project, ".envrc"), []byte("export A=1\n"), 0o644)
	gh := filepath.Join(f.Home, ".config", "gh")
	os.MkdirAll(gh, 0o755)
	os.WriteFile(filepath.Join(gh, "hosts.yml"), []byte("github.com:\n    oauth_token: gho_testtoken\n    user: tester\n    git_protocol: https\n"), 0o600)
	chown(t, f, f.Project, gh, filepath.Dir(gh))
	marker := filepath.Join(f.Project, "..", "pwned-"+filepath.Base(f.Project))
	marker = filepath.Clean(marker)
	t.Cleanup(func() { os.Remove(marker) })
	return marker
}

// chown gives paths (recursively) to the fixture's user when the test runs
// as root.
func chown(t *testing.T, f *bt.Fixture, paths ...string) {
	if os.Getuid() != 0 {
		return
	}
	for _, p := range paths {
		filepath.Walk(p, func(p string, _ os.FileInfo, err error) error {
			if err == nil {
				os.Lchown(p, f.User.UID, f.User.GID)
			}
			return nil
		})
	}
}

// hostGit runs the host's real git in dir as the fixture's user.
func hostGit(t *testing.T, f *bt.Fixture, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = []string{"HOME=" + f.Home, "PATH=/usr/local/bin:/usr/bin:/bin", "GIT_CONFIG_NOSYSTEM=1", "LANG=C"}
	if os.Getuid() == 0 && f.User.UID != 0 {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(f.User.UID), Gid: uint32(f.User.GID)}}
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("host git %v in %s: %v\n%s", args, dir, err, out.String())
	}
	return out.String()
}

// checkAttacks asserts that every attack failed inside and that the host's
// git, run in the project and the nested repository, runs nothing planted.
func checkAttacks(t *testing.T, f *bt.Fixture, res bt.Result, marker string, ghToken bool) {
	t.Helper()
	if !strings.Contains(res.Stdout, "ATTACKS-DONE") {
		t.Fatalf("the attack script did not finish (status %d)\nstdout: %s\nstderr: %s", res.Status, res.Stdout, res.Stderr)
	}
	for _, line := range strings.Split(res.Stdout, "\n") {
		name, ok := strings.CutPrefix(strings.TrimSpace(line), "BROKEN ")
		if !ok {
			continue
		}
		if name == "gh-token" && ghToken {
			continue
		}
		t.Errorf("attack %q worked inside the sandbox", name)
	}
	if !strings.Contains(res.Stdout, "COMMITTED-INSIDE") {
		t.Errorf("git inside the sandbox cannot commit:\n%s\n%s", res.Stdout, res.Stderr)
	} else if log := hostGit(t, f, f.Project, "log", "-1", "--format=%s"); strings.TrimSpace(log) != "inside" {
		t.Errorf("the commit made inside is not on the host: %q", log)
	}
	if ghToken && !strings.Contains(res.Stdout, "BROKEN gh-token") {
		t.Errorf("with the gh token forwarded, hosts.yml inside lacks the token")
	}
	for _, dir := range []string{f.Project, filepath.Join(f.Project, "sub")} {
		hostGit(t, f, dir, "status")
		hostGit(t, f, dir, "checkout", "-q", "-b", "after-sandbox")
	}
	if _, err := os.Stat(marker); err == nil {
		t.Errorf("the host's git or Claude Code ran a command planted in the sandbox (%s exists)", marker)
	}
	if data, _ := os.ReadFile(filepath.Join(f.Home, ".claude", "settings.json")); string(data) != "{}\n" {
		t.Errorf("~/.claude/settings.json changed on the host: %q", data)
	}
	if data, _ := os.ReadFile(filepath.Join(f.Project, ".envrc")); string(data) != "export A=1\n" {
		t.Errorf(".envrc changed on the host: %q", data)
	}
	if _, err := os.Stat(filepath.Join(f.Project, ".vscode")); err == nil {
		t.Errorf(".vscode was created on the host")
	}
	// Placeholders are gone again.
	for _, p := range []string{filepath.Join(f.Home, ".claude", "commands"), filepath.Join(f.Home, ".claude", "hooks"),
		filepath.Join(f.Project, ".git", "commondir"), filepath.Join(f.Project, "sub", ".git", "config.worktree")} {
		if _, err := os.Lstat(p); err == nil {
			t.Errorf("placeholder %s is left on the host", p)
		}
	}
}

func TestBubblewrapProtectedPathsAttacks(t *testing.T) {
	bt.RequireTool(t, "bwrap", "apt install bubblewrap")
	bt.RequireTool(t, "git", "apt install git")
	for _, ghToken := range []bool{false, true} {
		name := "no-gh-token"
		if ghToken {
			name = "gh-token"
		}
		t.Run(name, func(t *testing.T) {
			f := bt.NewFixture(t, bt.TestUser(t))
			marker := protectFixture(t, f)
			args := []string{"--backend=bubblewrap", "--no-network"}
			if ghToken {
				args = append(args, "--gh-token")
			}
			args = append(args, "--shell", f.Project, "--", "-c", attackScript, "attack", marker)
			res := f.Run(t, f.Env(), args...)
			checkAttacks(t, f, res, marker, ghToken)
		})
	}
}

func TestContainerProtectedPathsAttacks(t *testing.T) {
	requireContainer(t)
	bt.RequireTool(t, "git", "apt install git")
	f := bt.NewSudoFixture(t, bt.TestUser(t))
	marker := protectFixture(t, f)
	res := f.RunAsRoot(t, f.SudoEnv(), "--backend=container", "--no-network", "--shell", f.Project, "--", "-c", attackScript, "attack", marker)
	checkAttacks(t, f, res, marker, false)
}

func TestVMProtectedPathsAttacks(t *testing.T) {
	requireVM(t)
	bt.RequireTool(t, "git", "apt install git")
	f := bt.NewFixture(t, bt.TestUser(t))
	f.WriteUserConfig(t, vmConfig)
	marker := protectFixture(t, f)
	res := f.Run(t, f.Env(), "--backend=vm", "--no-network", "--shell", f.Project, "--", "-c", attackScript, "attack", marker)
	checkAttacks(t, f, res, marker, false)
}
