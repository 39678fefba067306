package backends_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	bt "github.com/claude-sandbox/claude-sandbox/backends/backendtest"
)

// nestedRepoAttack creates, inside the sandbox, a nested repository whose
// configuration runs a command on every git status (core.fsmonitor) and
// a post-checkout hook, both creating marker files in the project.
func nestedRepoAttack(project string) string {
	m := filepath.Join(project, "MARKER")
	return `set -e
git init -q sub
git -C sub -c user.name=t -c user.email=t@example.com commit -q --allow-empty -m init
git -C sub config core.fsmonitor 'touch ` + m + `-fsmonitor'
printf '#!/bin/sh\ntouch ` + m + `-hook\n' > sub/.git/hooks/post-checkout
chmod +x sub/.git/hooks/post-checkout`
}

// checkAttackNeutralised runs the real git on the host, as the fixture's
// user, in the nested repository, and then the audit command.
func checkAttackNeutralised(t *testing.T, f *bt.Fixture, res bt.Result, env []string, auditAsRoot bool) {
	t.Helper()
	if res.Status != 0 {
		t.Fatalf("the attack did not run: status %d\n%s", res.Status, res.Stderr)
	}
	for _, p := range []string{"sub/.git/config", "sub/.git/hooks/post-checkout"} {
		if !strings.Contains(res.Stderr, filepath.Join(f.Project, p)) {
			t.Errorf("the launcher's report does not name %s:\n%s", p, res.Stderr)
		}
	}
	t.Logf("launcher's report:\n%s", res.Stderr)
	if !strings.Contains(res.Stderr, "core.fsmonitor = touch") || !strings.Contains(res.Stderr, "mv -- ") {
		t.Errorf("the report does not say what would run and how to restore:\n%s", res.Stderr)
	}
	asUser := func(args ...string) {
		cmd := exec.Command("git", args...)
		cmd.Dir = f.Project
		cmd.Env = f.Env()
		if os.Getuid() == 0 && f.User.UID != 0 {
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(f.User.UID), Gid: uint32(f.User.GID)}}
		}
		out, err := cmd.CombinedOutput()
		t.Logf("git %s: %v %s", strings.Join(args, " "), err, out)
	}
	asUser("-C", "sub", "status")
	asUser("-C", "sub", "checkout", "-q", "-b", "other")
	asUser("-C", "sub", "checkout", "-q", "-")
	for _, m := range []string{"MARKER-fsmonitor", "MARKER-hook"} {
		if _, err := os.Lstat(filepath.Join(f.Project, m)); err == nil {
			t.Errorf("git on the host ran the sandbox's code: %s exists", m)
		}
	}
	launch := f.Run
	if auditAsRoot {
		launch = f.RunAsRoot
	}
	if r := launch(t, env, "audit", f.Project); r.Status != 1 || !strings.Contains(r.Stderr, "sub/.git/config") {
		t.Errorf("audit: status %d, want 1 naming the config\nstdout: %s\nstderr: %s", r.Status, r.Stdout, r.Stderr)
	}
	if r := launch(t, env, "audit", "--accept", f.Project); r.Status != 0 {
		t.Errorf("audit --accept: status %d\n%s", r.Status, r.Stderr)
	}
	if r := launch(t, env, "audit", f.Project); r.Status != 0 || !strings.Contains(r.Stdout, "nothing pending") {
		t.Errorf("audit after --accept: status %d\nstdout: %s\nstderr: %s", r.Status, r.Stdout, r.Stderr)
	}
}

func TestBubblewrapAuditNestedRepository(t *testing.T) {
	bt.RequireTool(t, "bwrap", "apt install bubblewrap")
	bt.RequireTool(t, "git", "apt install git")
	f := bt.NewFixture(t, bt.TestUser(t))
	res := f.Run(t, f.Env(), "--backend=bubblewrap", "--no-network", "--shell", f.Project, "--", "-c", nestedRepoAttack(f.Project))
	checkAttackNeutralised(t, f, res, f.Env(), false)
}

func TestContainerAuditNestedRepository(t *testing.T) {
	requireContainer(t)
	bt.RequireTool(t, "git", "apt install git")
	f := bt.NewSudoFixture(t, bt.TestUser(t))
	res := f.RunAsRoot(t, f.SudoEnv(), "--backend=container", "--no-network", "--shell", f.Project, "--", "-c", nestedRepoAttack(f.Project))
	checkAttackNeutralised(t, f, res, f.SudoEnv(), true)
}

func TestVMAuditNestedRepository(t *testing.T) {
	requireVM(t)
	bt.RequireTool(t, "git", "apt install git")
	f := bt.NewFixture(t, bt.TestUser(t))
	f.WriteUserConfig(t, vmConfig)
	res := f.Run(t, f.Env(), "--backend=vm", "--no-network", "--shell", f.Project, "--", "-c", nestedRepoAttack(f.Project))
	checkAttackNeutralised(t, f, res, f.Env(), false)
}

// TestBubblewrapAuditAfterLauncherKilled kills the launcher (no exit
// audit can run) after the attack: the audit by hand finds it against
// the snapshot the killed launcher recorded at its start.
func TestBubblewrapAuditAfterLauncherKilled(t *testing.T) {
	bt.RequireTool(t, "bwrap", "apt install bubblewrap")
	bt.RequireTool(t, "git", "apt install git")
	f := bt.NewFixture(t, bt.TestUser(t))
	marker := filepath.Join(f.Project, "attack-done")
	status, stderr := launchAndSignal(t, f, f.Env(), true, []string{"--backend=bubblewrap", "--no-network", "--shell", f.Project, "--",
		"-c", nestedRepoAttack(f.Project) + "\ntouch " + marker + "\nwhile :; do sleep 1; done"}, marker, syscall.SIGKILL)
	if status != -1 {
		t.Fatalf("the launcher was not killed: status %d\n%s", status, stderr)
	}
	r := f.Run(t, f.Env(), "audit", f.Project)
	if r.Status != 1 || !strings.Contains(r.Stderr, "sub/.git/config") || !strings.Contains(r.Stderr, "sub/.git/hooks/post-checkout") {
		t.Fatalf("audit after a killed launcher: status %d\nstdout: %s\nstderr: %s", r.Status, r.Stdout, r.Stderr)
	}
	if _, err := os.Lstat(filepath.Join(f.Project, "sub/.git/config")); err == nil {
		t.Errorf("the nested repository's config was not renamed aside")
	}
}
