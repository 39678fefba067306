package render

import (
	"path"
	"strings"

	"github.com/claude-sandbox/claude-sandbox/profile"
)

// ForwardedSockets returns the host sockets and devices that policy p
// forwards and host h has, placed under the sandbox's runtime directory
// (or at their conventional paths), the variables that point at them, and
// a note for each forward the policy asks for that the host lacks. A
// variable is set only when its socket is shared.
func ForwardedSockets(p *profile.Policy, h *Host) (env map[string]string, shares []Share, notes []string) {
	env = map[string]string{}
	s := &shareSet{h: h}
	rt := h.Env["XDG_RUNTIME_DIR"]
	if rt == "" {
		rt = Runtime(h)
	}
	in := Runtime(h)
	sock := func(src, dst, why string) bool {
		f, ok := s.present(src)
		if !ok || f.Kind != Socket {
			return false
		}
		return s.bind(src, dst, ShareRW, why)
	}
	if p.Forward.Display {
		found := false
		if n, ok := x11Display(h.Env["DISPLAY"]); ok {
			x := "/tmp/.X11-unix/X" + n
			if sock(x, x, "forward.display") {
				env["DISPLAY"] = ":" + n
				found = true
				// Only this display's cookies, matching the
				// sandbox's host name (see SandboxXauth).
				if h.Xauthority != nil {
					if data := SandboxXauth(h.Xauthority, n, h.Hostname); data != nil {
						s.shares = append(s.shares, Share{Target: path.Join(in, "Xauthority"), Mode: ShareData, Kind: Regular, Data: data, Private: true, Why: "forward.display"})
						env["XAUTHORITY"] = path.Join(in, "Xauthority")
					} else {
						notes = append(notes, "forward.display: the X authority file has no cookie for display :"+n+" on this host")
					}
				}
			}
		}
		if w := h.Env["WAYLAND_DISPLAY"]; w != "" {
			src := w
			if !path.IsAbs(w) {
				src = path.Join(rt, w)
			}
			if sock(src, path.Join(in, path.Base(w)), "forward.display") {
				env["WAYLAND_DISPLAY"] = path.Base(w)
				found = true
			}
		}
		if !found {
			notes = append(notes, "forward.display: no X11 or Wayland socket on this host (DISPLAY and WAYLAND_DISPLAY unset or their sockets missing)")
		}
	}
	if p.Forward.Audio {
		pw := sock(path.Join(rt, "pipewire-0"), path.Join(in, "pipewire-0"), "forward.audio")
		pulse := false
		if f, ok := s.present(path.Join(rt, "pulse", "native")); ok && f.Kind == Socket {
			pulse = s.bind(path.Join(rt, "pulse", "native"), path.Join(in, "pulse", "native"), ShareRW, "forward.audio")
		}
		if !pw && !pulse {
			notes = append(notes, "forward.audio: no PipeWire or PulseAudio socket in "+rt)
		}
	}
	if p.Forward.GPU {
		if !s.bind("/dev/dri", "/dev/dri", ShareDev, "forward.gpu") {
			notes = append(notes, "forward.gpu: /dev/dri does not exist on this host")
		}
		s.bind("/run/opengl-driver", "/run/opengl-driver", ShareRO, "forward.gpu")
	}
	if p.Forward.DBus && p.DBus.Filter {
		proxy, dnotes := DBusProxyFor(p, h)
		notes = append(notes, dnotes...)
		if proxy != nil {
			// The proxy's socket exists by the time the sandbox starts.
			s.shares = append(s.shares, Share{Source: proxy.Socket, Target: path.Join(in, "bus"), Mode: ShareRW, Kind: Socket, Why: "forward.dbus"})
			env["DBUS_SESSION_BUS_ADDRESS"] = "unix:path=" + path.Join(in, "bus")
		}
	} else if p.Forward.DBus {
		bus := sessionBusPath(h.Env["DBUS_SESSION_BUS_ADDRESS"])
		if bus == "" && strings.TrimSpace(h.Env["DBUS_SESSION_BUS_ADDRESS"]) == "" {
			bus = path.Join(rt, "bus")
		}
		if bus != "" && sock(bus, path.Join(in, "bus"), "forward.dbus") {
			env["DBUS_SESSION_BUS_ADDRESS"] = "unix:path=" + path.Join(in, "bus")
			notes = append(notes, "dbus: dbus.filter = false: the raw session bus (and the system bus when present) is shared, unfiltered")
		} else {
			notes = append(notes, "forward.dbus: no session bus socket (only unix:path= addresses can be shared)")
		}
		sock("/run/dbus/system_bus_socket", "/run/dbus/system_bus_socket", "forward.dbus")
	}
	if p.Forward.SSHAgent {
		if a := h.Env["SSH_AUTH_SOCK"]; a != "" && sock(a, path.Join(in, "ssh-agent.sock"), "forward.ssh_agent") {
			env["SSH_AUTH_SOCK"] = path.Join(in, "ssh-agent.sock")
		} else {
			notes = append(notes, "forward.ssh_agent: SSH_AUTH_SOCK is unset or its socket is missing")
		}
	}
	sortShares(s.shares)
	return env, s.shares, append(notes, s.notes...)
}
