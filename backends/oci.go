package backends

import (
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"

	"github.com/claude-sandbox/claude-sandbox/profile"
	"github.com/claude-sandbox/claude-sandbox/render"
)

// runOCI runs the policy as an OCI runtime bundle: it writes the bundle
// into the run's private directory, runs it with crun or runc (rootless
// as the invoking user, or as root with the command still run as that
// user), forwards signals, and on every way out deletes the container and
// the bundle.
func runOCI(p *profile.Policy, h *render.Host, stdio IO) (int, error) {
	if !h.Is(p.ProjectDir, render.Dir) {
		return 0, fmt.Errorf("project dir %s does not exist", p.ProjectDir)
	}
	if !h.Root {
		if err := userNamespacesUsable(); err != nil {
			return 0, err
		}
	}
	plan, err := render.OCI(p, h)
	if err != nil {
		return 0, err
	}
	launchNotes(stdio.Stderr, plan.Notes)
	// Rootless the runtime runs as the user, who owns the run directory;
	// as root it stays root's.
	dir, err := createRunDir(h, 0, 0)
	if err != nil {
		return 0, err
	}
	defer dir.remove()
	undo, err := materialize(plan, h)
	defer undo()
	if err != nil {
		return 0, err
	}
	if h.Root && plan.DBusProxy != nil {
		// The proxy runs as the user and must reach its directory in the
		// root-owned run directory.
		if err := os.Chown(h.RunDir, 0, h.GID); err != nil {
			return 0, err
		}
		if err := os.Chmod(h.RunDir, 0o710); err != nil {
			return 0, err
		}
	}
	if plan.DBusProxy != nil {
		stop, err := startDBusProxy(plan.DBusProxy, h, stdio.Stderr)
		if err != nil {
			return 0, err
		}
		defer stop()
	}
	if render.NetworkFor(p, h, profile.OCI).Proxy {
		stop, err := startEgress(p, h, stdio.Stderr)
		if err != nil {
			return 0, err
		}
		defer stop()
	}
	// Whatever happens, the runtime forgets the container before the run
	// directory holding its state goes.
	defer ociDelete(plan)
	cmd := exec.Command(plan.Argv[0], plan.Argv[1:]...)
	cmd.Env = plan.Env
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	status, _, err := supervise(cmd, nil)
	return status, err
}

// ociDelete removes the container from the runtime's state, killing what
// is left of it.
func ociDelete(plan *render.Plan) {
	// Argv is RUNTIME --root STATE run --bundle DIR ID.
	rt, state, id := plan.Argv[0], plan.Argv[2], plan.Argv[len(plan.Argv)-1]
	del := exec.Command(rt, "--root", state, "delete", "--force", id)
	del.Env = plan.Env
	done := make(chan struct{})
	go func() {
		del.Run()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		if del.Process != nil {
			del.Process.Kill()
		}
	}
}
