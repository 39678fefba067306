package backends

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"time"

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

// EgressProxyOptions are the rules of a standalone egress proxy.
type EgressProxyOptions struct {
	// Listen is the TCP address to serve on ("127.0.0.1:3128").
	Listen string
	// Allow, Deny and LocalhostPorts are egress.allow, egress.deny and
	// egress.localhost_ports.
	Allow, Deny    []string
	LocalhostPorts []int
}

// ServeEgressProxy serves the allowlist mode's proxy on a TCP address
// until ctx ends: the same proxy the launcher serves on a run's socket,
// run on its own (as a Kubernetes Pod's sidecar). It writes one line per
// refused connection to log, and calls ready, when not nil, with the
// bound address once it accepts connections.
func ServeEgressProxy(ctx context.Context, o EgressProxyOptions, log io.Writer, ready func(net.Addr)) error {
	check := func(key string, in []string) ([]string, error) {
		var out []string
		for _, p := range in {
			n, err := profile.DomainPattern(p)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", key, err)
			}
			out = append(out, n)
		}
		return out, nil
	}
	allow, err := check("--allow", o.Allow)
	if err != nil {
		return err
	}
	deny, err := check("--deny", o.Deny)
	if err != nil {
		return err
	}
	for _, p := range o.LocalhostPorts {
		if p < 1 || p > 65535 {
			return fmt.Errorf("--localhost-port %d: not a TCP port", p)
		}
	}
	l, err := net.Listen("tcp", o.Listen)
	if err != nil {
		return fmt.Errorf("egress proxy: %w", err)
	}
	proxy := egress.NewProxy(egress.Rules{Allow: allow, Deny: deny, LocalhostPorts: o.LocalhostPorts}, log, nil)
	served := make(chan error, 1)
	go func() { served <- proxy.Serve(l) }()
	if ready != nil {
		ready(l.Addr())
	}
	select {
	case <-ctx.Done():
		l.Close()
		<-served
		return nil
	case err := <-served:
		return fmt.Errorf("egress proxy: %w", err)
	}
}

// ProbeEgressProxy reports whether something accepts TCP connections on
// addr within a second: the startup probe of a Pod's proxy sidecar.
func ProbeEgressProxy(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return fmt.Errorf("egress proxy probe: %w", err)
	}
	return c.Close()
}
