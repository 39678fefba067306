package backends_test

import (
	"strings"
	"testing"

	bt "github.com/claude-sandbox/claude-sandbox/backends/backendtest"
)

// TestClaudeCodeFoundThroughSudo launches through sudo, whose PATH
// (secure_path) lacks the user's ~/.local/bin: the launcher finds Claude
// Code where the user installed it, on bubblewrap and in the container,
// and the shell of --shell finds it by name.
func TestClaudeCodeFoundThroughSudo(t *testing.T) {
	for _, b := range []string{"bubblewrap", "container"} {
		t.Run(b, func(t *testing.T) {
			bt.RequireRoot(t)
			if b == "container" {
				requireContainer(t)
			} else {
				bt.RequireTool(t, "bwrap", "apt install bubblewrap")
			}
			f := bt.NewSudoFixture(t, bt.TestUser(t))
			installUnderRealHome(t, f)
			res := f.RunAsRoot(t, f.SudoEnv(), "--backend="+b, "--no-network", f.Project, "--version")
			if res.Status != 0 || !claudeVersion.MatchString(res.Stdout) {
				t.Errorf("claude --version through sudo: status %d\nstdout: %s\nstderr: %s", res.Status, res.Stdout, res.Stderr)
			}
			res = f.RunAsRoot(t, f.SudoEnv(), "--backend="+b, "--no-network", "--shell", f.Project, "-c", "claude --version")
			if res.Status != 0 || !claudeVersion.MatchString(res.Stdout) {
				t.Errorf("claude by name in the shell: status %d\nstdout: %s\nstderr: %s", res.Status, res.Stdout, res.Stderr)
			}
			// nspawn's remark about the ephemeral root it leaves to the
			// launcher (on hosts without systemd as PID 1) is not shown.
			if strings.Contains(res.Stderr, "Attempted to remove disk file system") {
				t.Errorf("nspawn's removal remark reached stderr:\n%s", res.Stderr)
			}
		})
	}
}

// TestClaudeCodeInVMShell finds Claude Code by name in the shell of the
// vm backend, where it lives in the user's hidden home.
func TestClaudeCodeInVMShell(t *testing.T) {
	requireVM(t)
	f := bt.NewFixture(t, bt.TestUser(t))
	f.WriteUserConfig(t, vmConfig)
	bin := installUnderHome(t, f)
	res := f.Run(t, withPath(f.Env(), bin), "--backend=vm", "--no-network", "--shell", f.Project, "-c", "claude --version")
	if res.Status != 0 || !claudeVersion.MatchString(res.Stdout) {
		t.Fatalf("claude by name in the vm's shell: status %d\nstdout: %s\nstderr: %s", res.Status, res.Stdout, res.Stderr)
	}
}
