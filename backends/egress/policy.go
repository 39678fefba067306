// Package egress is the allowlist network mode: a proxy on the host that
// lets a sandbox reach only the domains its policy names, and the bridge
// that runs inside the sandbox's empty network namespace and carries its
// connections to that proxy over a Unix socket.
package egress

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/claude-sandbox/claude-sandbox/profile"
)

// Rules decide which destinations a sandbox may reach.
type Rules struct {
	// Allow holds domain patterns as the profile checks them: exact names,
	// "*.example.com" for every name below example.com (not example.com
	// itself), or IP addresses.
	Allow []string
	// Deny holds patterns refused even when Allow matches.
	Deny []string
	// LocalhostPorts are host loopback ports the sandbox may reach.
	LocalhostPorts []int
}

// Decision is the outcome of checking a host name.
type Decision struct {
	// Allowed is true when the name may be resolved and dialled.
	Allowed bool
	// Exact is true when an exact (not wildcard) allow entry matched, which
	// also admits private and loopback addresses.
	Exact bool
	// Reason names the rule that refused, for the log.
	Reason string
}

// CheckHost applies the name rules to host. It matches with the
// profile's matcher, so the proxy enforces exactly what the profile check
// accepts.
func (r *Rules) CheckHost(host string) Decision {
	for _, d := range r.Deny {
		if profile.MatchDomain(d, host) {
			return Decision{Reason: "denied by " + d}
		}
	}
	for _, a := range r.Allow {
		if profile.MatchDomain(a, host) {
			return Decision{Allowed: true, Exact: !strings.HasPrefix(a, "*.")}
		}
	}
	if _, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil {
		return Decision{Reason: "raw IP address not in allowlist"}
	}
	return Decision{Reason: "not in allowlist"}
}

// CheckAddr refuses addresses a sandbox must not reach through a name
// unless that exact name is allowed: loopback, private, link-local
// (cloud metadata among them), shared (CGNAT), unspecified and multicast.
func CheckAddr(a netip.Addr, exact bool) error {
	a = a.Unmap()
	if exact {
		return nil
	}
	cgnat := netip.MustParsePrefix("100.64.0.0/10")
	switch {
	case a.IsLoopback():
		return fmt.Errorf("resolves to loopback %s", a)
	case a.IsPrivate():
		return fmt.Errorf("resolves to private %s", a)
	case a.IsLinkLocalUnicast(), a.IsLinkLocalMulticast():
		return fmt.Errorf("resolves to link-local %s", a)
	case a.IsUnspecified(), a.IsMulticast(), a.IsInterfaceLocalMulticast():
		return fmt.Errorf("resolves to %s", a)
	case cgnat.Contains(a):
		return fmt.Errorf("resolves to shared address %s", a)
	}
	return nil
}

// LocalhostAllowed reports whether the sandbox may reach host loopback
// port port.
func (r *Rules) LocalhostAllowed(port int) bool {
	for _, p := range r.LocalhostPorts {
		if p == port {
			return true
		}
	}
	return false
}

// splitHostPort splits "host:port" with a default port.
func splitHostPort(hostport string, def int) (string, int, error) {
	host, portText, ok := strings.Cut(hostport, ":")
	if strings.HasPrefix(hostport, "[") {
		i := strings.Index(hostport, "]")
		if i < 0 {
			return "", 0, fmt.Errorf("bad address %q", hostport)
		}
		host = hostport[1:i]
		portText, ok = strings.CutPrefix(hostport[i+1:], ":")
	}
	if !ok || portText == "" {
		return host, def, nil
	}
	port, err := strconv.Atoi(portText)
	if err != nil || port < 1 || port > 65535 {
		return "", 0, fmt.Errorf("bad port in %q", hostport)
	}
	return host, port, nil
}
