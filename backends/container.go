package backends

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"

	"github.com/claude-sandbox/claude-sandbox/profile"
	"github.com/claude-sandbox/claude-sandbox/render"
)

// runContainer runs the policy in systemd-nspawn: it creates the
// ephemeral root in the run's private directory, runs nspawn as a child,
// forwards signals to it, and removes the root on every way out.
func runContainer(p *profile.Policy, h *render.Host, stdio IO) (int, error) {
	if !h.Root {
		return 0, errors.New("the container backend needs root: run it through sudo (sudo claude-sandbox --backend container ...); files it creates still belong to you")
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
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	// systemd-nspawn stops the container on SIGTERM; on SIGHUP it would
	// exit and leave the container running.
	status, _, err := supervise(cmd, func(os.Signal) { cmd.Process.Signal(syscall.SIGTERM) })
	return status, err
}
