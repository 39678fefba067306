package backends

import (
	"io"
	"os"

	"github.com/claude-sandbox/claude-sandbox/profile"
	"github.com/claude-sandbox/claude-sandbox/render"
)

// startProxies starts, on the host, the services the sandbox of plan
// reaches through the run directory: the filtering D-Bus proxy when the
// plan has one, and the allowlist's egress proxy when the policy's network
// for backend needs it. For the backends whose run directory is root's
// when the launcher runs as root (container, oci): the D-Bus proxy runs as
// the user, so the user's group may then traverse the run directory (not
// list it). stop ends what was started, the egress proxy first.
func startProxies(p *profile.Policy, h *render.Host, plan *render.Plan, backend profile.Backend, stderr io.Writer) (stop func(), err error) {
	var stops []func()
	stop = func() {
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
	}
	if plan.DBusProxy != nil {
		if h.Root {
			if err := os.Chown(h.RunDir, 0, h.GID); err != nil {
				return nil, err
			}
			if err := os.Chmod(h.RunDir, 0o710); err != nil {
				return nil, err
			}
		}
		s, err := startDBusProxy(plan.DBusProxy, h, stderr)
		if err != nil {
			return nil, err
		}
		stops = append(stops, s)
	}
	if render.NetworkFor(p, h, backend).Proxy {
		s, err := startEgress(p, h, stderr)
		if err != nil {
			stop()
			return nil, err
		}
		stops = append(stops, s)
	}
	return stop, nil
}
