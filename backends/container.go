package backends

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"

	"github.com/claude-sandbox/claude-sandbox/profile"
	"github.com/claude-sandbox/claude-sandbox/render"
)

// SudoCommand is the command line that runs the launcher at self through
// sudo with args. sudo searches only its secure_path, so the launcher is
// named by its full path unless it lies there.
func SudoCommand(self string, args ...string) string {
	prog := "claude-sandbox"
	if self != "" && !secureDir(filepath.Dir(self)) {
		prog = self
	}
	return render.ShellQuote(append([]string{"sudo", prog}, args...))
}

// secureDir reports whether dir is in Debian's and Fedora's default sudo
// secure_path.
func secureDir(dir string) bool {
	switch dir {
	case "/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin":
		return true
	}
	return false
}

// runContainer runs the policy in systemd-nspawn: it creates the
// ephemeral root in the run's private directory, runs nspawn as a child,
// forwards signals to it, and removes the root on every way out.
func runContainer(p *profile.Policy, h *render.Host, stdio IO) (int, error) {
	if !h.Root {
		return 0, fmt.Errorf("the container backend needs root: run it through sudo: %s; files it creates still belong to you", SudoCommand(h.Self, "--backend", "container", p.ProjectDir))
	}
	if !h.Is(p.ProjectDir, render.Dir) {
		return 0, fmt.Errorf("project dir %s does not exist", p.ProjectDir)
	}
	plan, err := render.Nspawn(p, h)
	if err != nil {
		return 0, err
	}
	dir, err := createRunDir(h, 0, 0)
	if err != nil {
		return 0, err
	}
	defer dir.remove()
	if err := materialize(plan, h); err != nil {
		return 0, err
	}
	if render.NetworkFor(p, h, profile.Container).Proxy {
		stop, err := startEgress(p, h, stdio.Stderr)
		if err != nil {
			return 0, err
		}
		defer stop()
	}
	// The root must be traversable by the user the command runs as.
	if err := os.Chmod(render.ContainerRoot(h), 0o755); err != nil {
		return 0, err
	}
	cmd := exec.Command(plan.Argv[0], plan.Argv[1:]...)
	cmd.Env = plan.Env
	// nspawn's stderr passes through a filter that drops exactly the
	// line it prints when it declines to remove the ephemeral root on a
	// host without systemd as PID 1; the launcher removes the root.
	stderr := newLineFilter(os.Stderr, nspawnRemoveNoise, "Attempted to remove disk file system")
	defer stderr.Flush()
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	return supervise(cmd, nil)
}
