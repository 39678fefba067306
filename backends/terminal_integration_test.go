package backends_test

import (
	"os/exec"
	"testing"

	bt "github.com/claude-sandbox/claude-sandbox/backends/backendtest"
)

// TestBubblewrapTerminalInjectionBlocked runs the probe on a real
// terminal: the sandbox keeps the terminal (no new session, so resizing
// works) and the seccomp filter must still refuse TIOCSTI.
func TestBubblewrapTerminalInjectionBlocked(t *testing.T) {
	bt.RequireTool(t, "bwrap", "apt install bubblewrap")
	f := bt.NewFixture(t, bt.TestUser(t))
	cmd := exec.Command(bt.Launcher(t), "--backend=bubblewrap", "--no-network", "--shell", f.Project, "--", "-c", f.ShellCommand(nil, 0))
	cmd.Env = f.Env()
	cmd.Dir = f.Project
	asUser(cmd, f.User)
	r := bt.ParseReport(t, runOnTerminal(t, cmd))
	if r.TIOCSTI != "operation not permitted" {
		t.Errorf("TIOCSTI on the terminal inside the sandbox: %q, want operation not permitted", r.TIOCSTI)
	}
}
