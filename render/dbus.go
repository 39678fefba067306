package render

import (
	"path"
	"strings"

	"github.com/claude-sandbox/claude-sandbox/profile"
)

// DBusProxy is the filtering proxy a run starts on the host, as the
// invoking user, before the sandbox: xdg-dbus-proxy connected to the
// user's session bus, listening on a socket in the run's private
// directory that the sandbox sees as its session bus. It lives as long as
// the run: the backend passes it --fd=N, the write end of a pipe whose
// read end only the launcher holds, so the proxy stops when the launcher
// does, however it ends.
type DBusProxy struct {
	// Argv is the proxy's command line without --fd.
	Argv []string
	// Dir is the directory holding the socket, created by the backend
	// (mode 0700, owned by the invoking user) inside the run directory.
	Dir string
	// Socket is the host path of the proxy's listening socket.
	Socket string
}

// DBusProxyFor returns the proxy policy p needs on host h, or nil when
// the session bus is not forwarded, is forwarded raw (dbus.filter =
// false), or cannot be: then a note says why.
func DBusProxyFor(p *profile.Policy, h *Host) (*DBusProxy, []string) {
	if !p.Forward.DBus || !p.DBus.Filter {
		return nil, nil
	}
	addr := sessionBusAddress(h)
	if addr == "" {
		return nil, []string{"forward.dbus: no session bus (DBUS_SESSION_BUS_ADDRESS is unset and $XDG_RUNTIME_DIR/bus is missing); the sandbox gets none"}
	}
	if bus := sessionBusPath(addr); bus != "" && !h.Is(bus, Socket) {
		return nil, []string{"forward.dbus: the session bus socket " + bus + " is missing; the sandbox gets none"}
	}
	tool := h.Tools["xdg-dbus-proxy"]
	if tool == "" {
		return nil, []string{"forward.dbus: xdg-dbus-proxy is not installed, so the session bus is not shared (install it: apt install xdg-dbus-proxy; or set dbus.filter = false for the raw bus)"}
	}
	if h.RunDir == "" {
		return nil, []string{"forward.dbus: no run directory for the proxy socket"}
	}
	dir := path.Join(h.RunDir, "dbus")
	sock := path.Join(dir, "bus")
	argv := []string{tool, addr, sock, "--filter"}
	for _, n := range p.DBus.See {
		argv = append(argv, "--see="+n)
	}
	for _, n := range p.DBus.Talk {
		argv = append(argv, "--talk="+n)
	}
	for _, n := range p.DBus.Own {
		argv = append(argv, "--own="+n)
	}
	note := "dbus: the session bus is filtered by xdg-dbus-proxy: talk to " + listOrNone(p.DBus.Talk) +
		"; own " + listOrNone(p.DBus.Own) + "; see " + listOrNone(p.DBus.See) +
		"; everything else (eavesdropping included) is refused; the system bus is not shared"
	return &DBusProxy{Argv: argv, Dir: dir, Socket: sock}, []string{note}
}

// sessionBusAddress is the host's session bus address: the variable's
// value, or the conventional socket in the runtime directory.
func sessionBusAddress(h *Host) string {
	if a := strings.TrimSpace(h.Env["DBUS_SESSION_BUS_ADDRESS"]); a != "" {
		return a
	}
	rt := h.Env["XDG_RUNTIME_DIR"]
	if rt == "" {
		rt = Runtime(h)
	}
	if bus := path.Join(rt, "bus"); h.Is(bus, Socket) {
		return "unix:path=" + bus
	}
	return ""
}

func listOrNone(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}
