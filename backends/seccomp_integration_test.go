package backends_test

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"

	bt "github.com/claude-sandbox/claude-sandbox/backends/backendtest"
)

// hardeningScript tries a nested user namespace with the real unshare,
// runs the probe, and checks that ordinary tools still work.
func hardeningScript(f *bt.Fixture) string {
	return strings.Join([]string{
		"unshare -Ur id -u >/dev/null 2>&1; echo unshare=$?",
		"git --version >/dev/null && echo git=ok",
		"node -e 'console.log(\"node=\" + \"ok\")'",
		"bash -c 'echo bash=ok'",
		f.ShellCommand(nil, 0),
	}, "; ")
}

// hostSyscalls runs the probe on the host, outside any sandbox, so that a
// blocked call inside means the sandbox blocked it.
func hostSyscalls(t *testing.T) map[string]string {
	t.Helper()
	out, err := exec.Command(bt.Probe(t)).Output()
	if err != nil {
		t.Fatal(err)
	}
	var r bt.Report
	if err := json.Unmarshal(bytes.TrimSpace(out), &r); err != nil {
		t.Fatal(err)
	}
	return r.Syscalls
}

// checkHardening asserts what the seccomp filter promises inside; the
// filter refuses clone3 where it, not bwrap, refuses user namespaces.
func checkHardening(t *testing.T, host map[string]string, output string, clone3 bool) {
	t.Helper()
	r := bt.ParseReport(t, output)
	want := map[string]string{
		"io_uring_setup":   "operation not permitted",
		"ptrace":           "operation not permitted",
		"process_vm_readv": "operation not permitted",
		"open_tree":        "operation not permitted",
	}
	if clone3 {
		want["clone3"] = "function not implemented"
	}
	for call, w := range want {
		if host[call] == w {
			t.Fatalf("%s already fails with %q on the host; the check would prove nothing", call, w)
		}
		if r.Syscalls[call] != w {
			t.Errorf("%s inside: %q, want %q", call, r.Syscalls[call], w)
		}
	}
	if r.UserNamespace {
		t.Errorf("the probe created a user namespace inside")
	}
	if r.TIOCSTI != "operation not permitted" {
		t.Errorf("TIOCSTI on the terminal inside: %q, want operation not permitted", r.TIOCSTI)
	}
	for _, s := range []string{"git=ok", "node=ok", "bash=ok"} {
		if !strings.Contains(output, s) {
			t.Errorf("%s missing: ordinary work fails inside:\n%s", s, output)
		}
	}
	if strings.Contains(output, "unshare=0") || !strings.Contains(output, "unshare=") {
		t.Errorf("unshare -Ur worked inside (or did not run):\n%s", output)
	}
}

// runOnTerminal runs cmd on a new pseudo-terminal and returns what it
// printed there, read once no process holds the terminal any more.
func runOnTerminal(t *testing.T, cmd *exec.Cmd) string {
	t.Helper()
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
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatal("the terminal stayed open after the sandbox exited")
	}
	return out.String()
}

// TestContainerSeccomp attacks the container from inside: a nested user
// namespace, io_uring, ptrace, cross-process memory access, the new mount
// API and terminal injection must all fail, as in bubblewrap, while bash,
// git and node still work.
func TestContainerSeccomp(t *testing.T) {
	requireContainer(t)
	bt.RequireTool(t, "node", "apt install nodejs")
	bt.RequireTool(t, "git", "apt install git")
	host := hostSyscalls(t)
	f := bt.NewSudoFixture(t, bt.TestUser(t))
	checkHardening(t, host, runOnTerminal(t, hardeningCommand(t, f, "container", true)), true)
}

// hardeningCommand is the launch of hardeningScript in backend: as root
// through sudo on the fixture user's behalf (sudo), or as that user.
func hardeningCommand(t *testing.T, f *bt.Fixture, backend string, sudo bool) *exec.Cmd {
	cmd := exec.Command(bt.Launcher(t), "--backend="+backend, "--no-network", "--shell", f.Project, "--", "-c", hardeningScript(f))
	cmd.Dir = f.Project
	if sudo {
		cmd.Env = f.SudoEnv()
		return cmd
	}
	cmd.Env = f.Env()
	if os.Getuid() == 0 && f.User.UID != 0 {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(f.User.UID), Gid: uint32(f.User.GID)}}
	}
	return cmd
}

// TestBubblewrapSeccomp runs the same attacks in bubblewrap, whose
// filter the container shares.
func TestBubblewrapSeccomp(t *testing.T) {
	bt.RequireTool(t, "bwrap", "apt install bubblewrap")
	bt.RequireTool(t, "node", "apt install nodejs")
	bt.RequireTool(t, "git", "apt install git")
	host := hostSyscalls(t)
	f := bt.NewFixture(t, bt.TestUser(t))
	checkHardening(t, host, runOnTerminal(t, hardeningCommand(t, f, "bubblewrap", false)), false)
}
