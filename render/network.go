package render

import (
	"path"
	"strconv"
	"strings"

	"github.com/claude-sandbox/claude-sandbox/profile"
)

// NetworkPlan is how a backend realises the policy's network mode.
type NetworkPlan struct {
	// Prefix is argv run in front of the backend's own command (for
	// example a user-mode network helper that creates the namespace).
	Prefix []string
	// Unshare asks the backend for a new network namespace.
	Unshare bool
	// Binds are host paths (sockets) bound into the sandbox: host → target.
	Binds [][2]string
	// ROBinds are host files bound read-only into the sandbox: host → target.
	ROBinds [][2]string
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
	// Err is set when this host cannot provide the mode; renderers fail
	// with it rather than run with a different network.
	Err error
	// Symlinks are links the runner creates in the run directory.
	Symlinks []Symlink
	// Attach is a user-mode network helper (slirp4netns and its options,
	// without its target): the runner creates a new network namespace,
	// attaches the helper to it, waits until it is up, and starts the
	// backend inside it. The backend then neither creates a namespace of
	// its own nor runs Prefix.
	Attach []string
	// JoinPrefix tells the backend that Prefix created the network
	// namespace it runs in and that the sandbox joins it.
	JoinPrefix bool
	// ResolvConf, when set, is the sandbox's /etc/resolv.conf in place of
	// the host's.
	ResolvConf []byte
	// GuestProxy is the proxy's address for the vm guest's init, which
	// serves the names itself (see GuestConfig.Proxy).
	GuestProxy string
}

// SandboxEtc lists the host /etc entries to share and the generated
// /etc files for backend b with network plan net: the network mode's own
// resolv.conf, when it has one, replaces the host's.
func SandboxEtc(p *profile.Policy, h *Host, b profile.Backend, net NetworkPlan) ([]string, []EtcFile) {
	gen := GeneratedEtc(p, h, b)
	if net.ResolvConf == nil {
		return HostEtc(p, h), gen
	}
	var host []string
	for _, e := range HostEtc(p, h) {
		if e != "/etc/resolv.conf" {
			host = append(host, e)
		}
	}
	return host, append(gen, EtcFile{"resolv.conf", net.ResolvConf})
}

// Paths of the allowlist mode inside a sandbox.
const (
	// ProxySocketInside is where the proxy's socket appears.
	ProxySocketInside = "/run/claude-sandbox/proxy.sock"
	// BridgeInside is where the launcher appears as the bridge.
	BridgeInside = "/run/claude-sandbox/bin/claude-sandbox-bridge"
	// proxyPort is the bridge's loopback port for the proxy.
	proxyPort = 3128
	// guestProxyAddr is the address the vm backend forwards to the proxy.
	guestProxyAddr = "10.0.2.100"
	// netnsName is the launcher's helper mode that creates the allowlist
	// mode's network namespace.
	netnsName = "claude-sandbox-netns"
	// bridgeDNS is the bridge's DNS address inside the sandbox.
	bridgeDNS = "127.0.0.53"
)

// ProxySocket is the host side of the allowlist proxy's socket.
func ProxySocket(h *Host) string { return path.Join(h.RunDir, "proxy.sock") }

// NetnsHelper is the link to the launcher, in the run directory, that
// runs it as the allowlist mode's network namespace helper; the runner
// creates it with the proxy.
func NetnsHelper(h *Host) string { return path.Join(h.RunDir, "bin", netnsName) }

// Network plans the network of policy p's own backend on host h.
func Network(p *profile.Policy, h *Host) NetworkPlan { return NetworkFor(p, h, p.Backend) }

// NetworkFor plans the network for backend b:
//
//   - off: a new network namespace holding only lo (the vm: no network
//     card at all);
//   - host: the host's network namespace, as it is (its loopback services
//     and abstract Unix sockets included);
//   - full: a new namespace connected to the outside through pasta, with
//     the host's loopback unreachable except localhost_ports; as root
//     (where pasta does not run) and on the container, a namespace the
//     launcher creates and connects through slirp4netns with the host's
//     loopback unreachable (the vm: QEMU user networking);
//   - allowlist: a new, empty namespace; the sandbox reaches the outside
//     only through the launcher's proxy, which admits the allowed domains
//     and localhost_ports. Outside the vm the namespace is made by the
//     launcher's netns helper in front of the backend, and the bridge
//     inside also answers DNS (the sandbox's resolv.conf names it) and
//     carries ports 80 and 443 of the names it hands out to the proxy, so
//     clients that ignore the proxy variables obey the same rules.
func NetworkFor(p *profile.Policy, h *Host, b profile.Backend) NetworkPlan {
	ports := p.Network.LocalhostPorts
	switch p.Network.Mode {
	case profile.NetworkHost:
		return NetworkPlan{Notes: []string{"network: the host's own network namespace (loopback services and abstract sockets reachable)"}}
	case profile.NetworkFull:
		if b == profile.VM {
			return NetworkPlan{Notes: []string{"network: QEMU user networking (NAT)"}}
		}
		if b == profile.Container || h.UID == 0 {
			return slirpNetwork(p, h)
		}
		pasta := h.Tools["pasta"]
		if pasta == "" {
			return NetworkPlan{Err: errorf("network \"full\" needs pasta for a private network namespace: install passt (apt install passt), or choose network = \"host\" to share the host's")}
		}
		fwd := "none"
		if len(ports) > 0 {
			fwd = joinPorts(ports, ",")
		}
		return NetworkPlan{Prefix: []string{pasta, "--config-net", "--quiet", "--no-map-gw",
			"-t", "none", "-u", "none", "-T", fwd, "-U", "none", "--"}}
	case profile.NetworkAllowlist:
		env := map[string]string{}
		proxy := "http://127.0.0.1:" + strconv.Itoa(proxyPort)
		if b == profile.VM {
			proxy = "http://" + guestProxyAddr + ":" + strconv.Itoa(proxyPort)
		}
		for _, k := range []string{"HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"} {
			env[k] = proxy
		}
		env["NO_PROXY"] = "localhost,127.0.0.1,::1"
		env["no_proxy"] = env["NO_PROXY"]
		np := NetworkPlan{Unshare: true, Proxy: true, Env: env,
			Notes: []string{"network: allowlist through the launcher's proxy: " + joinNonEmpty(", ", strings.Join(p.Network.Allow, ", "))}}
		if b == profile.VM {
			connect := path.Join(h.RunDir, "bin", "claude-sandbox-connect")
			np.Symlinks = []Symlink{{Path: connect, Target: h.Self}}
			fwd := ",restrict=on,guestfwd=tcp:" + guestProxyAddr + ":" + strconv.Itoa(proxyPort) + "-cmd:" + qemuEscape(connect+" --socket "+ProxySocket(h))
			for _, port := range ports {
				fwd += ",guestfwd=tcp:" + guestProxyAddr + ":" + strconv.Itoa(port) + "-cmd:" +
					qemuEscape(connect+" --socket "+ProxySocket(h)+" --target 127.0.0.1:"+strconv.Itoa(port))
			}
			np.QEMUNetdev = fwd
			np.ResolvConf = []byte("nameserver " + bridgeDNS + "\n")
			np.GuestProxy = "tcp:" + guestProxyAddr + ":" + strconv.Itoa(proxyPort)
			np.Notes = append(np.Notes, "network: DNS inside answers the allowed names with local addresses whose ports 80 and 443 lead to the proxy")
			return np
		}
		np.Unshare, np.JoinPrefix = false, true
		np.Prefix = []string{NetnsHelper(h), "--socket", ProxySocket(h), "--"}
		np.ResolvConf = []byte("nameserver " + bridgeDNS + "\n")
		np.Notes = append(np.Notes, "network: DNS inside answers the allowed names with local addresses whose ports 80 and 443 lead to the proxy")
		np.Binds = [][2]string{{ProxySocket(h), ProxySocketInside}}
		np.ROBinds = [][2]string{{h.Self, BridgeInside}}
		np.Wrap = []string{BridgeInside, "--socket", ProxySocketInside, "--dns"}
		for _, port := range ports {
			np.Wrap = append(np.Wrap, "--port", strconv.Itoa(port))
		}
		np.Wrap = append(np.Wrap, "--")
		return np
	}
	if b == profile.VM {
		return NetworkPlan{Unshare: true, Notes: []string{"network: none (the guest has no network card)"}}
	}
	return NetworkPlan{Unshare: true, Notes: []string{"network: none (only lo)"}}
}

// SlirpOptions are slirp4netns's options for the full mode: it configures
// the namespace's tap device, address and routes itself, uses the largest
// MTU, keeps the host's loopback unreachable, and confines itself (its
// own mount namespace and seccomp filter).
var SlirpOptions = []string{"--configure", "--mtu=65520", "--disable-host-loopback", "--enable-sandbox", "--enable-seccomp"}

// slirpNetwork is the full mode through slirp4netns, for root (pasta
// does not run as root) and the container backend.
func slirpNetwork(p *profile.Policy, h *Host) NetworkPlan {
	slirp := h.Tools["slirp4netns"]
	if slirp == "" {
		return NetworkPlan{Err: errorf("network \"full\" as root and on the container backend needs slirp4netns for a private network namespace: install it (apt install slirp4netns), or choose network = \"host\" to share the host's")}
	}
	np := NetworkPlan{Attach: append([]string{slirp}, SlirpOptions...),
		Notes: []string{"network: a new network namespace made by the launcher and connected through slirp4netns (host loopback and abstract sockets unreachable)"}}
	if p.Forward.HostConfig {
		// Where the host's DNS configuration is shared: slirp4netns's own
		// DNS forwarder, which asks the host's resolver even when that
		// listens on the host's loopback.
		np.ResolvConf = []byte("nameserver 10.0.2.3\n")
	}
	if len(p.Network.LocalhostPorts) > 0 {
		np.Notes = append(np.Notes, "network: localhost_ports "+joinPorts(p.Network.LocalhostPorts, ", ")+" are not reachable in full mode through slirp4netns; the allowlist mode reaches them through its proxy")
	}
	return np
}

func joinPorts(ports []int, sep string) string {
	s := make([]string, len(ports))
	for i, p := range ports {
		s[i] = strconv.Itoa(p)
	}
	return strings.Join(s, sep)
}
