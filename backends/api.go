// Package backends carries out rendered plans: it probes the host, creates
// private run directories, launches bubblewrap, systemd-nspawn or QEMU,
// forwards signals and cleans up. It is the only package with side effects.
package backends

import (
	"context"
	"errors"
	"io"

	"github.com/claude-sandbox/claude-sandbox/profile"
	"github.com/claude-sandbox/claude-sandbox/render"
)

// IO is the standard streams a run uses.
type IO struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
}

// Probe inspects the real host for policy p. It changes nothing on the host.
func Probe(p *profile.Policy) (*render.Host, error) {
	return nil, errors.New("backend not yet available")
}

// Render renders p for its backend on host h.
func Render(p *profile.Policy, h *render.Host) (*render.Plan, error) {
	return nil, errors.New("backend not yet available")
}

// Run carries out policy p and returns the sandboxed command's exit status.
func Run(ctx context.Context, p *profile.Policy, stdio IO) (int, error) {
	return 0, errors.New("backend not yet available")
}

// Doctor reports, for each backend, whether this host can run it and what
// to install or change when it cannot. It returns false when no backend can run.
func Doctor(w io.Writer) bool { return false }

// HelperMain runs the launcher's internal helper mode named by args[0]
// (guest init, container entrypoint, network bridge), if it is one.
func HelperMain(args []string) (status int, handled bool) { return 0, false }
