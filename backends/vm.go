package backends

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/claude-sandbox/claude-sandbox/backends/vmimage"
	"github.com/claude-sandbox/claude-sandbox/profile"
	"github.com/claude-sandbox/claude-sandbox/render"
	"golang.org/x/term"
)

// runVM boots the policy's virtual machine. QEMU runs as the invoking
// user, on the user's terminal; the guest reports the command's exit
// status through the run directory, which is removed on every way out.
func runVM(p *profile.Policy, h *render.Host, stdio IO) (int, error) {
	if !h.Is(p.ProjectDir, render.Dir) {
		return 0, fmt.Errorf("project dir %s does not exist", p.ProjectDir)
	}
	if p.VM.Flavour == "nix" {
		return 0, fmt.Errorf("vm.flavour = \"nix\" (a complete NixOS guest) cannot be launched yet; use flavour \"host\" with vm.kernel set to a Nix kernel package's bzImage, as the Nix package's defaults do")
	}
	{
		k, err := vmimage.FindKernel("/boot", "/lib/modules", p.VM.Kernel)
		if err != nil {
			return 0, err
		}
		cache := vmCacheDir(h)
		if err := mkdirAllOwned(cache, h, func(p string) error { return chownToUser(p, h) }); err != nil {
			return 0, err
		}
		img, err := vmimage.Prepare(cache, k, h.Self)
		if err != nil {
			return 0, fmt.Errorf("preparing the guest: %w", err)
		}
		if h.Root && h.UID != 0 {
			chownTree(cache, h.UID, h.GID)
		}
		h.Kernel = render.Kernel{Version: k.Version, Image: img.Kernel, Modules: k.Modules, Initramfs: img.InitramfsFor(p.VM.Display)}
	}
	if p.VM.Accel == "kvm" && !h.KVM {
		return 0, fmt.Errorf("vm.accel = \"kvm\" but KVM is not usable here (no VT-x/AMD-V in /proc/cpuinfo, or /dev/kvm cannot be opened)")
	}
	plan, err := render.QEMU(p, h)
	if err != nil {
		return 0, err
	}
	for _, n := range plan.Notes {
		if strings.HasPrefix(n, "vm: KVM") || strings.HasPrefix(n, "vm.display: ") {
			fmt.Fprintln(stdio.Stderr, "claude-sandbox: "+strings.TrimPrefix(n, "vm: "))
		}
	}
	launchNotes(stdio.Stderr, plan.Notes)
	dir, err := createRunDir(h, h.UID, h.GID)
	if err != nil {
		return 0, err
	}
	defer dir.remove()
	undo, err := materialize(plan, h)
	defer undo()
	if err != nil {
		return 0, err
	}
	if h.Root && h.UID != 0 {
		chownTree(h.RunDir, h.UID, h.GID)
	}
	if render.NetworkFor(p, h, profile.VM).Proxy {
		stop, err := startEgress(p, h, stdio.Stderr)
		if err != nil {
			return 0, err
		}
		defer stop()
	}
	var restore func()
	if term.IsTerminal(0) {
		if state, err := term.GetState(0); err == nil {
			restore = func() {
				term.Restore(0, state)
				// The firmware turns line wrapping off.
				os.Stdout.WriteString("\x1b[?7h")
			}
		}
	}
	cmd := exec.Command(plan.Argv[0], plan.Argv[1:]...)
	cmd.Env = plan.Env
	cmd.Stdin, cmd.Stdout = os.Stdin, os.Stdout
	watch := &kvmWatch{w: stdio.Stderr, kill: func() { cmd.Process.Kill() }}
	cmd.Stderr = watch
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if h.Root && h.UID != 0 {
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: uint32(h.UID), Gid: uint32(h.GID), Groups: uint32s(h.Groups)}
	}
	status, interrupted, err := supervise(cmd, func(os.Signal) {
		// QEMU shuts the guest down cleanly on SIGTERM.
		cmd.Process.Signal(syscall.SIGTERM)
	})
	if restore != nil {
		restore()
	}
	if err != nil {
		return 0, fmt.Errorf("running QEMU: %w", err)
	}
	if interrupted {
		return status, nil
	}
	data, rerr := os.ReadFile(filepath.Join(render.GuestDir(h), render.GuestStatusName))
	if rerr != nil {
		if watch.noGTK {
			return 0, fmt.Errorf("vm.display: this QEMU has no GTK display: install it (Debian and Ubuntu: apt install qemu-system-gui)")
		}
		if watch.noWindow {
			return 0, fmt.Errorf("vm.display: QEMU could not open its window on the host display (DISPLAY=%q, WAYLAND_DISPLAY=%q): check that the display accepts you (XAUTHORITY)", h.Env["DISPLAY"], h.Env["WAYLAND_DISPLAY"])
		}
		if status != 0 {
			return 0, fmt.Errorf("QEMU exited with status %d before the guest reported", status)
		}
		return 0, fmt.Errorf("the guest stopped without reporting an exit status")
	}
	guestStatus, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		return 0, fmt.Errorf("the guest reported %q", data)
	}
	return guestStatus, nil
}

// kvmWatch copies QEMU's standard error and kills QEMU when it reports a
// KVM internal error, after which it would wait forever.
type kvmWatch struct {
	w    io.Writer
	kill func()
	line []byte
	// noGTK is set when QEMU lacks its GTK display (vm.display).
	noGTK bool
	// noWindow is set when GTK could not open the host's display.
	noWindow bool
}

func (k *kvmWatch) Write(b []byte) (int, error) {
	k.line = append(k.line, b...)
	if bytes.Contains(k.line, []byte("KVM internal error")) {
		k.kill()
	}
	if bytes.Contains(k.line, []byte("Display 'gtk' is not available")) {
		k.noGTK = true
	}
	if bytes.Contains(k.line, []byte("gtk initialization failed")) {
		k.noWindow = true
	}
	if i := bytes.LastIndexByte(k.line, '\n'); i >= 0 {
		k.line = append(k.line[:0], k.line[i+1:]...)
	}
	return k.w.Write(b)
}

// chownToUser gives p to the invoking user when the launcher runs as root
// on their behalf.
func chownToUser(p string, h *render.Host) error {
	if os.Getuid() == 0 && h.UID != 0 {
		return os.Lchown(p, h.UID, h.GID)
	}
	return nil
}

// chownTree gives dir and everything in it to uid:gid.
func chownTree(dir string, uid, gid int) {
	filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		if err == nil {
			os.Lchown(p, uid, gid)
		}
		return nil
	})
}
