package backends_test

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"

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
	if os.Getuid() == 0 && f.User.UID != 0 {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(f.User.UID), Gid: uint32(f.User.GID)}}
	}
	tty, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 30, Cols: 100})
	if err != nil {
		t.Fatal(err)
	}
	defer tty.Close()
	var out bytes.Buffer
	done := make(chan struct{})
	go func() { io.Copy(&out, tty); close(done) }()
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	select {
	case <-waited:
	case <-time.After(3 * time.Minute):
		cmd.Process.Kill()
		t.Fatal("the sandbox did not exit")
	}
	// Everything the sandbox wrote is read once no process holds the
	// terminal any more.
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatal("the terminal stayed open after the sandbox exited")
	}
	r := bt.ParseReport(t, out.String())
	if r.TIOCSTI != "operation not permitted" {
		t.Errorf("TIOCSTI on the terminal inside the sandbox: %q, want operation not permitted", r.TIOCSTI)
	}
}
