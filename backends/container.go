package backends

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"

	"github.com/claude-sandbox/claude-sandbox/profile"
	"github.com/claude-sandbox/claude-sandbox/render"
	"golang.org/x/sys/unix"
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
	launchNotes(stdio.Stderr, plan.Notes)
	dir, err := createRunDir(h, 0, 0)
	if err != nil {
		return 0, err
	}
	defer dir.remove()
	if err := containerRootFS(h, plan.Limits.Values.DiskMiB); err != nil {
		return 0, err
	}
	undo, err := materialize(plan, h)
	defer undo()
	if err != nil {
		return 0, err
	}
	stopProxies, err := startProxies(p, h, plan, profile.Container, stdio.Stderr)
	if err != nil {
		return 0, err
	}
	defer stopProxies()
	// The root must be traversable by the user the command runs as.
	if err := os.Chmod(render.ContainerRoot(h), 0o755); err != nil {
		return 0, err
	}
	start, stopNetwork, err := startIn(plan.Network)
	if err != nil {
		return 0, err
	}
	defer stopNetwork()
	cmd := exec.Command(plan.Argv[0], plan.Argv[1:]...)
	cmd.Env = plan.Env
	// nspawn's stderr passes through a filter that drops exactly the
	// line it prints when it declines to remove the ephemeral root on a
	// host without systemd as PID 1; the launcher removes the root.
	stderr := newLineFilter(os.Stderr, nspawnRemoveNoise(), "Attempted to remove disk file system")
	defer stderr.Flush()
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	lim, err := newRunLimits(plan, h)
	if err != nil {
		return 0, err
	}
	defer lim.Close()
	lim.Cmd(cmd)
	// systemd-nspawn stops the container on SIGTERM; on SIGHUP it would
	// exit and leave the container running.
	status, _, err := superviseStart(cmd, lim.StartWith(start), func(os.Signal) { cmd.Process.Signal(syscall.SIGTERM) })
	return status, err
}

// containerRootFS makes the container's root directory a tmpfs of
// sizeMiB (unlimited when 0), so what the container writes outside its
// shares cannot fill the host's disk. The run directory's removal
// detaches it.
func containerRootFS(h *render.Host, sizeMiB int64) error {
	root := render.ContainerRoot(h)
	if err := os.Mkdir(root, 0o755); err != nil {
		return fmt.Errorf("creating the container root: %w", err)
	}
	opts := "mode=755"
	if sizeMiB > 0 {
		opts += ",size=" + strconv.FormatInt(sizeMiB, 10) + "m"
	}
	if err := unix.Mount("claude-sandbox", root, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, opts); err != nil {
		return fmt.Errorf("mounting the container root: %w", err)
	}
	return nil
}
