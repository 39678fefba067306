package render

import (
	"fmt"
	"sort"
)

// QEMUDisplayEnv returns the only host variables QEMU's window needs on
// host h: DISPLAY and XAUTHORITY for X11, WAYLAND_DISPLAY and
// XDG_RUNTIME_DIR for Wayland (both sets when both are present; GTK picks
// Wayland first). It fails when the host has no display, since vm.display
// asks for a window.
func QEMUDisplayEnv(h *Host) ([]string, error) {
	env := map[string]string{}
	if d := h.Env["DISPLAY"]; d != "" {
		env["DISPLAY"] = d
		if xa := h.Env["XAUTHORITY"]; xa != "" {
			env["XAUTHORITY"] = xa
		}
	}
	if w := h.Env["WAYLAND_DISPLAY"]; w != "" {
		if rt := h.Env["XDG_RUNTIME_DIR"]; rt != "" || w[0] == '/' {
			env["WAYLAND_DISPLAY"] = w
			if rt != "" {
				env["XDG_RUNTIME_DIR"] = rt
			}
		}
	}
	if len(env) == 0 {
		return nil, fmt.Errorf("vm.display = true needs a host display for the QEMU window, but DISPLAY (X11) and WAYLAND_DISPLAY (Wayland) are unset: run from a graphical session or set vm.display = false")
	}
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out, nil
}
