package guest

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/claude-sandbox/claude-sandbox/render"
	"golang.org/x/sys/unix"
)

// displayBanner is shown on the guest's console in QEMU's window.
const displayBanner = "\033[2J\033[Hclaude-sandbox: this window is the virtual machine's display.\r\n" +
	"The command runs on the serial console, in the terminal that started it.\r\n" +
	"Programs inside can draw here through /dev/dri/card0.\r\n"

// giveDisplay gives the user the guest's GPU and framebuffer: the VM is
// theirs, and an X server or compositor started inside draws on them. The
// console in the window says what the window is.
func giveDisplay(cfg *render.GuestConfig) {
	if f, err := os.OpenFile("/dev/tty1", os.O_WRONLY|unix.O_NOCTTY, 0); err == nil {
		f.WriteString(displayBanner)
		f.Close()
	}
	nodes, _ := filepath.Glob(filepath.Join(newRoot, "dev/dri/*"))
	fb, _ := filepath.Glob(filepath.Join(newRoot, "dev/fb[0-9]*"))
	for _, n := range append(nodes, fb...) {
		if st, err := os.Lstat(n); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			os.Chown(n, cfg.UID, cfg.GID)
		}
	}
}

// xorg is the X server the guest starts on its GPU when the host's root
// has one.
const xorg = "/usr/lib/xorg/Xorg"

// guestDisplay is the X display the guest's server listens on.
const guestDisplay = ":0"

// startX starts the X server on the guest's GPU, when the host's root has
// one, and returns the DISPLAY value for the command ("" without one). It
// runs in the guest (the VM is the sandbox), listens on no network, never
// blanks the screen, and logs to /run. With x it reads the window's
// keyboard and tablet as x configures.
func startX(x *render.GuestXorg) string {
	if st, err := os.Stat(filepath.Join(newRoot, xorg)); err != nil || !st.Mode().IsRegular() {
		return ""
	}
	argv := []string{xorg, guestDisplay, "vt1", "-nolisten", "tcp", "-noreset", "-novtswitch", "-s", "0", "-dpms",
		"-logfile", "/run/Xorg.0.log"}
	if x != nil {
		linkInputs(x.Inputs, 5*time.Second)
		conf := filepath.Join(newRoot, render.GuestXorgConfig)
		os.MkdirAll(filepath.Dir(conf), 0o755)
		if err := os.WriteFile(conf, []byte(x.Config), 0o644); err != nil {
			logf("writing the X server's configuration: %v", err)
		} else {
			argv = append(argv, "-config", render.GuestXorgConfig)
		}
	}
	null, err := os.OpenFile("/dev/null", os.O_RDWR, 0)
	if err != nil {
		return ""
	}
	defer null.Close()
	_, err = os.StartProcess(xorg, argv, &os.ProcAttr{
		Dir:   "/",
		Env:   []string{"PATH=" + render.SystemPath},
		Files: []*os.File{null, null, null},
		Sys:   &syscall.SysProcAttr{Chroot: newRoot, Setsid: true},
	})
	if err != nil {
		logf("starting the X server: %v", err)
		return ""
	}
	sock := filepath.Join(newRoot, "tmp/.X11-unix/X"+strings.TrimPrefix(guestDisplay, ":"))
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if st, err := os.Stat(sock); err == nil && st.Mode()&os.ModeSocket != 0 {
			return guestDisplay
		}
	}
	logf("the X server did not start (see /run/Xorg.0.log in the guest)")
	return ""
}

// linkInputs links each input device of inputs, found by its kernel name
// under /sys/class/input, to its /dev/input/eventN node at the input's
// path in the new root (udev's job on other systems). It waits up to
// timeout for devices still being probed.
func linkInputs(inputs []render.GuestInput, timeout time.Duration) {
	missing := map[string]render.GuestInput{}
	for _, in := range inputs {
		missing[in.Name] = in
	}
	for deadline := time.Now().Add(timeout); ; time.Sleep(20 * time.Millisecond) {
		events, _ := filepath.Glob("/sys/class/input/event[0-9]*")
		for _, ev := range events {
			name, err := os.ReadFile(filepath.Join(ev, "device/name"))
			if err != nil {
				continue
			}
			in, ok := missing[strings.TrimSpace(string(name))]
			if !ok {
				continue
			}
			link := filepath.Join(newRoot, in.Link)
			os.MkdirAll(filepath.Dir(link), 0o755)
			os.Remove(link)
			if err := os.Symlink(filepath.Base(ev), link); err != nil {
				logf("input device %s: %v", in.Name, err)
			}
			delete(missing, in.Name)
		}
		if len(missing) == 0 {
			return
		}
		if time.Now().After(deadline) {
			for name := range missing {
				logf("input device %q not found: the X server runs without it", name)
			}
			return
		}
	}
}
