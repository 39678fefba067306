package backends

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/claude-sandbox/claude-sandbox/backends/egress"
	"github.com/claude-sandbox/claude-sandbox/profile"
	"github.com/claude-sandbox/claude-sandbox/render"
)

// startEgress serves the allowlist mode's proxy on the run's socket,
// links the network namespace helper into the run directory, and returns the function that stops it and prints the summary of refused
// connections, with the path of the full log, to w.
func startEgress(p *profile.Policy, h *render.Host, w io.Writer) (func(), error) {
	logDir := filepath.Join(filepath.Dir(filepath.Dir(h.StateDir)), "logs")
	if err := mkdirAllOwned(logDir, h, func(p string) error { return chownToUser(p, h) }); err != nil {
		return nil, err
	}
	logPath := filepath.Join(logDir, "egress-"+h.RunID+".log")
	log, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("egress log: %w", err)
	}
	chownToUser(logPath, h)
	proxy := egress.NewProxy(egress.Rules{Allow: p.Network.Allow, Deny: p.Network.Deny, LocalhostPorts: p.Network.LocalhostPorts}, log, nil)
	stop, err := proxy.Listen(render.ProxySocket(h))
	if err != nil {
		log.Close()
		return nil, err
	}
	chownToUser(render.ProxySocket(h), h)
	link := render.NetnsHelper(h)
	if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
		stop()
		log.Close()
		return nil, fmt.Errorf("egress: %w", err)
	}
	if err := os.Symlink(h.Self, link); err != nil {
		stop()
		log.Close()
		return nil, fmt.Errorf("egress: %w", err)
	}
	return func() {
		stop()
		log.Close()
		if s := proxy.Summary(); s != "" {
			fmt.Fprintf(w, "claude-sandbox: %s (log: %s)\n", s, logPath)
		} else {
			os.Remove(logPath)
		}
	}, nil
}
