package render

import (
	"fmt"
	"sort"
	"strings"
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

// XorgEvdevDriver is the X input driver the guest's X server reads QEMU's
// keyboard and tablet with. libinput, Debian's default, ignores devices
// without udev's properties, and the guest runs no udevd; evdev opens the
// device nodes it is given by itself.
const XorgEvdevDriver = "/usr/lib/xorg/modules/input/evdev_drv.so"

// GuestXorgConfig is where the guest writes its X server's configuration.
const GuestXorgConfig = "/run/X11/xorg.conf"

// GuestXorg is the configuration of the X server the guest starts.
type GuestXorg struct {
	// Config is the server's xorg.conf, written to GuestXorgConfig.
	Config string `json:"config"`
	// Inputs are the input devices Config names.
	Inputs []GuestInput `json:"inputs"`
}

// GuestInput is an input device of the guest, found by the kernel's name
// for it.
type GuestInput struct {
	// Name is the kernel's name of the device
	// (/sys/class/input/eventN/device/name).
	Name string `json:"name"`
	// Link is the symlink to the device's /dev/input/eventN that the
	// guest creates: the path Config names.
	Link string `json:"link"`
}

// qemuInput is an input device QEMU gives a guest with a window.
type qemuInput struct {
	// device is QEMU's device and name the kernel's name for it.
	device, name string
	// id names it in xorg.conf and role is its place in the layout.
	id, role string
}

// qemuInputs are the window's keyboard and its absolute pointer: the
// pointer follows the host's without a grab.
var qemuInputs = []qemuInput{
	{"virtio-keyboard-pci", "QEMU Virtio Keyboard", "keyboard", "CoreKeyboard"},
	{"virtio-tablet-pci", "QEMU Virtio Tablet", "tablet", "CorePointer"},
}

// qemuInputArgs are QEMU's arguments for the window's input devices.
func qemuInputArgs() []string {
	var args []string
	for _, in := range qemuInputs {
		args = append(args, "-device", in.device)
	}
	return args
}

// guestXorg returns the guest X server's configuration on host h: QEMU's
// keyboard and tablet through the evdev driver of the host's root, which
// the guest uses. Without udev the server adds no device by itself. When
// the host's root lacks the driver it returns nil and a note.
func guestXorg(h *Host) (*GuestXorg, string) {
	if !h.Is(XorgEvdevDriver, Regular) {
		return nil, "vm.display: keyboard and mouse do not reach the guest's X server: the host has no X evdev input driver (" + XorgEvdevDriver + "; Debian: apt install xserver-xorg-input-evdev)"
	}
	var b strings.Builder
	b.WriteString("# The guest's X server, written by claude-sandbox. The guest has no udev:\n" +
		"# the server opens QEMU's keyboard and tablet named here and nothing else.\n" +
		"Section \"ServerFlags\"\n\tOption \"AutoAddDevices\" \"false\"\n\tOption \"AutoEnableDevices\" \"false\"\nEndSection\n")
	x := &GuestXorg{}
	layout := "\nSection \"ServerLayout\"\n\tIdentifier \"claude-sandbox\"\n"
	for _, in := range qemuInputs {
		link := "/dev/input/virtio-" + in.id
		x.Inputs = append(x.Inputs, GuestInput{Name: in.name, Link: link})
		fmt.Fprintf(&b, "\nSection \"InputDevice\"\n\tIdentifier %q\n\tDriver \"evdev\"\n\tOption \"Device\" %q\nEndSection\n", in.id, link)
		layout += fmt.Sprintf("\tInputDevice %q %q\n", in.id, in.role)
	}
	b.WriteString(layout + "EndSection\n")
	x.Config = b.String()
	return x, ""
}
