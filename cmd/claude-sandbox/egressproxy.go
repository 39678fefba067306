package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/claude-sandbox/claude-sandbox/backends"
)

// egressProxyCmd serves the allowlist mode's filtering proxy on a TCP
// address: the sidecar of an exported Kubernetes Pod.
type egressProxyCmd struct {
	Listen         string   `default:"127.0.0.1:3128" help:"TCP address to serve the proxy on." placeholder:"ADDR"`
	Allow          []string `help:"Domain pattern to admit, as egress.allow (repeatable)." placeholder:"PATTERN"`
	Deny           []string `help:"Domain pattern to refuse even when allowed, as egress.deny (repeatable)." placeholder:"PATTERN"`
	LocalhostPorts []int    `name:"localhost-port" help:"Loopback TCP port to admit, as egress.localhost_ports (repeatable)." placeholder:"PORT"`
	Probe          string   `help:"Serve nothing: exit 0 when a proxy accepts connections on this TCP address (a startup probe)." placeholder:"ADDR"`
}

// Run serves until SIGINT or SIGTERM, logging each refused connection
// on standard error.
func (c *egressProxyCmd) Run(s stdio) error {
	if c.Probe != "" {
		return backends.ProbeEgressProxy(c.Probe)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return backends.ServeEgressProxy(ctx, backends.EgressProxyOptions{Listen: c.Listen, Allow: c.Allow, Deny: c.Deny, LocalhostPorts: c.LocalhostPorts},
		s.err, func(a net.Addr) { fmt.Fprintf(s.err, "claude-sandbox: egress proxy on %s\n", a) })
}
