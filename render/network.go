package render

import "github.com/claude-sandbox/claude-sandbox/profile"

// NetworkPlan is how a backend realises the policy's network mode.
type NetworkPlan struct {
	// Prefix is argv run in front of the backend's own command (for
	// example a user-mode network helper that creates the namespace).
	Prefix []string
	// Unshare asks the backend for a new network namespace.
	Unshare bool
	// Binds are host paths (sockets) bound into the sandbox: host → target.
	Binds [][2]string
	// Env holds variables the sandbox needs for this mode (proxy settings).
	Env map[string]string
	// Wrap is argv run inside the sandbox in front of the command (the
	// bridge to the host proxy).
	Wrap []string
	// Proxy asks the runner to serve the host-side proxy on the socket
	// ProxySocket for the life of the sandbox.
	Proxy bool
	// Notes are remarks for explain.
	Notes []string
	// QEMUNetdev is appended to the vm backend's user-mode -netdev
	// options (for example a guestfwd to the proxy).
	QEMUNetdev string
}

// Network plans the network for policy p on host h.
func Network(p *profile.Policy, h *Host) NetworkPlan {
	switch p.Network.Mode {
	case profile.NetworkHost:
		return NetworkPlan{}
	default:
		return NetworkPlan{Unshare: true}
	}
}
