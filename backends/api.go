// Package backends carries out rendered plans: it probes the host, creates
// private run directories, launches bubblewrap, systemd-nspawn or QEMU,
// forwards signals and cleans up. It is the only package with side effects.
package backends

import (
	"context"
	"fmt"
	"io"
	"path/filepath"

	"github.com/claude-sandbox/claude-sandbox/backends/container"
	"github.com/claude-sandbox/claude-sandbox/backends/egress"
	"github.com/claude-sandbox/claude-sandbox/backends/guest"
	"github.com/claude-sandbox/claude-sandbox/backends/limits"
	"github.com/claude-sandbox/claude-sandbox/backends/unixguard"
	"github.com/claude-sandbox/claude-sandbox/profile"
	"github.com/claude-sandbox/claude-sandbox/render"
)

// IO is the standard streams a run uses.
type IO struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
}

// Render renders p for its backend on host h.
func Render(p *profile.Policy, h *render.Host) (*render.Plan, error) {
	switch p.Backend {
	case profile.Bubblewrap:
		return render.Bwrap(p, h)
	case profile.Container:
		return render.Nspawn(p, h)
	case profile.VM:
		return render.QEMU(p, h)
	case profile.OCI:
		return render.OCI(p, h)
	}
	return nil, fmt.Errorf("unknown backend %q", p.Backend)
}

// Run carries out policy p and returns the sandboxed command's exit
// status. It never runs the command outside a sandbox: every failure to
// set one up is an error.
func Run(ctx context.Context, p *profile.Policy, stdio IO) (int, error) {
	h, err := Probe(p)
	if err != nil {
		return 0, err
	}
	var run func(*profile.Policy, *render.Host, IO) (int, error)
	switch p.Backend {
	case profile.Bubblewrap:
		run = runBwrap
	case profile.Container:
		run = runContainer
	case profile.VM:
		run = runVM
	case profile.OCI:
		run = runOCI
	default:
		return 0, fmt.Errorf("unknown backend %q", p.Backend)
	}
	return audited(p, h, stdio, func() (int, error) { return run(p, h, stdio) })
}

// HelperMain runs the launcher's internal helper mode named by args[0],
// if it is one: the VM's init (PID 1 started as /init) or the container
// entrypoint. These names are never what a user types.
func HelperMain(args []string) (status int, handled bool) {
	if guest.IsGuestInit(args) {
		return guest.Main(), true
	}
	if len(args) == 0 {
		return 0, false
	}
	if guard, ok := unixGuardHelper(args); ok {
		return unixguard.HelperMain(guard), true
	}
	switch filepath.Base(args[0]) {
	case render.EntrypointName:
		return container.Main(args), true
	case limits.HelperName:
		return limits.HelperMain(args), true
	case ociUserNSHelper:
		return ociUserNSMain(args), true
	case render.OCIInitName:
		return ociInitMain(args), true
	case egress.BridgeName:
		return egress.BridgeMain(args), true
	case egress.ConnectName:
		return egress.ConnectMain(args), true
	case egress.NetnsName:
		return egress.NetnsMain(args, guardInProcess), true
	}
	return 0, false
}

// guardInProcess runs the Unix socket guard's helper mode, when argv
// starts it, in the calling process (the allowlist's network namespace
// helper, about to execute it): it installs the filter on its thread and
// executes bwrap, without a second start of the launcher.
func guardInProcess(argv []string) (status int, handled bool) {
	guard, ok := unixGuardHelper(argv)
	if !ok {
		return 0, false
	}
	return unixguard.HelperMain(guard), true
}

// unixGuardHelper reports whether args start the guard's helper mode
// (the launcher's executable with render.UnixGuardArg first, or started
// as render.UnixGuardName), and returns its arguments, its name first.
func unixGuardHelper(args []string) ([]string, bool) {
	switch {
	case len(args) > 1 && args[1] == render.UnixGuardArg:
		return args[1:], true
	case len(args) > 0 && filepath.Base(args[0]) == render.UnixGuardName:
		return args, true
	}
	return nil, false
}
