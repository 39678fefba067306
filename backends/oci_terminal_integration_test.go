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

// TestOCITerminal runs the probe on a real terminal in the oci backend,
// rootless: the runtime gives the sandbox a terminal of its own, and the
// seccomp section refuses TIOCSTI on it.
func TestOCITerminal(t *testing.T) {
	requireOCIRuntime(t)
	f := bt.NewFixture(t, bt.TestUser(t))
	cmd := exec.Command(bt.Launcher(t), "--backend=oci", "--no-network", "--shell", f.Project, "--", "-c", f.ShellCommand(nil, 0))
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
	case err := <-waited:
		if err != nil {
			t.Errorf("launcher: %v", err)
		}
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		t.Fatal("the sandbox did not exit")
	}
	select {
	case <-done:
	case <-time.After(2 * time.Second):
	}
	r := bt.ParseReport(t, out.String())
	if r.TIOCSTI != "operation not permitted" {
		t.Errorf("TIOCSTI on the terminal inside the sandbox: %q, want operation not permitted\n%s", r.TIOCSTI, out.String())
	}
}
