package guest

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"github.com/claude-sandbox/claude-sandbox/render"
	"golang.org/x/sys/unix"
)

// nixSocket is where Nix clients find the daemon (NIX_REMOTE=daemon).
const nixSocket = "/nix/var/nix/daemon-socket/socket"

// setupNix gives the guest a local Nix store: an overlay on /nix whose
// lower layer is the host's read-only /nix and whose upper layer lives on
// a tmpfs of the guest, so the store and the database (copied up from the
// host's on the daemon's first write) take writes that never reach the
// host. A socket at Nix's usual place starts the daemon on the first
// connection, so a command that never uses Nix pays for none of it.
func setupNix(n *render.GuestNix, size string, etc map[string]string) error {
	const rw = "/nixrw"
	os.MkdirAll(rw, 0o755)
	if err := unix.Mount("tmpfs", rw, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "mode=755"+size); err != nil {
		return fmt.Errorf("nix store tmpfs: %w", err)
	}
	// The host's lock files are its root's alone (0600): the guest's
	// daemon gets fresh ones instead of copying them up.
	db := filepath.Join(rw, "upper/var/nix/db")
	for _, d := range []string{db, filepath.Join(rw, "work")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("nix store layer: %w", err)
		}
	}
	if err := os.WriteFile(filepath.Join(db, "big-lock"), nil, 0o600); err != nil {
		return fmt.Errorf("nix store layer: %w", err)
	}
	nix := filepath.Join(newRoot, "nix")
	opts := "lowerdir=" + nix + ",upperdir=" + filepath.Join(rw, "upper") + ",workdir=" + filepath.Join(rw, "work")
	if err := unix.Mount("overlay", nix, "overlay", unix.MS_NOSUID|unix.MS_NODEV, opts); err != nil {
		return fmt.Errorf("nix store overlay: %w", err)
	}
	sock := filepath.Join(newRoot, nixSocket)
	if err := os.MkdirAll(filepath.Dir(sock), 0o755); err != nil {
		return fmt.Errorf("nix daemon socket: %w", err)
	}
	// The host's daemon socket, seen through the lower layer, is no way
	// to the host's daemon from here: the guest's own replaces it.
	if err := os.Remove(sock); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("nix daemon socket: %w", err)
	}
	// A blocking socket: the daemon accepts on it as its own.
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("nix daemon socket: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrUnix{Name: sock}); err != nil {
		unix.Close(fd)
		return fmt.Errorf("nix daemon socket: %w", err)
	}
	os.Chmod(sock, 0o666)
	if err := unix.Listen(fd, 128); err != nil {
		unix.Close(fd)
		return fmt.Errorf("nix daemon socket: %w", err)
	}
	if err := daemonRootView(size, etc); err != nil {
		unix.Close(fd)
		return err
	}
	if err := readOnlyStore(filepath.Join(newRoot, "nix/store")); err != nil {
		unix.Close(fd)
		return err
	}
	go startNixDaemon(n, fd)
	return nil
}

// nixDaemonRoot is the nix-daemon's root: the command's, but with an /etc,
// a /run and a /tmp of its own. The guest's root owns the command's
// writable /etc and /run; if the daemon, which runs as root with every
// capability, read them, the guest's root could make it run its code
// (/etc/ld.so.preload, a nix.conf, ~/.config/nix of the daemon's home).
const nixDaemonRoot = "/nixdaemon"

// daemonRootView builds nixDaemonRoot from the command's finished root:
// /etc is the host's with the generated files, read-only.
func daemonRootView(size string, etc map[string]string) error {
	if err := os.MkdirAll(nixDaemonRoot, 0o755); err != nil {
		return fmt.Errorf("nix daemon root: %w", err)
	}
	if err := unix.Mount(newRoot, nixDaemonRoot, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("nix daemon root: %w", err)
	}
	// Mounts made in the command's root from now on (the read-only
	// store) stay out of the daemon's.
	if err := unix.Mount("", nixDaemonRoot, "", unix.MS_PRIVATE|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("nix daemon root: %w", err)
	}
	// The host root share alone (no guest mounts over it) is the lower
	// layer of the daemon's /etc.
	const bare = "/nixdaemon-host"
	os.MkdirAll(bare, 0o755)
	if err := unix.Mount(newRoot, bare, "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("nix daemon root: %w", err)
	}
	err := etcOverlay(filepath.Join(bare, "etc"), filepath.Join(nixDaemonRoot, "etc"), "/nixdaemon-etc", etc,
		unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV)
	if uerr := unix.Unmount(bare, unix.MNT_DETACH); err == nil && uerr != nil {
		err = uerr
	}
	if err != nil {
		return fmt.Errorf("nix daemon root: %w", err)
	}
	for _, m := range []struct{ dir, mode string }{{"run", "755"}, {"tmp", "1777"}} {
		if err := unix.Mount("tmpfs", filepath.Join(nixDaemonRoot, m.dir), "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "mode="+m.mode+size); err != nil {
			return fmt.Errorf("nix daemon root: %w", err)
		}
	}
	return nil
}

// readOnlyStore binds the command's view of the store read-only onto
// itself, as a multi-user Nix host has it: the guest's root owns the
// store's files and could otherwise replace the daemon's own program or
// its libraries (under /nix/store on NixOS and installer hosts) before
// the daemon, which runs as root with every capability, first starts.
// The daemon's root keeps the writable store.
func readOnlyStore(store string) error {
	if err := unix.Mount(store, store, "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("read-only nix store: %w", err)
	}
	if err := unix.Mount("", store, "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV, ""); err != nil {
		return fmt.Errorf("read-only nix store: %w", err)
	}
	return nil
}

// startNixDaemon waits for the first connection on the listening socket fd
// and starts the daemon on it as root in nixDaemonRoot, handing the
// socket over through systemd's socket activation (LISTEN_FDS, and
// LISTEN_PID, which a shell sets to its own pid before it becomes the
// daemon).
func startNixDaemon(n *render.GuestNix, fd int) {
	for {
		_, err := unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, -1)
		if err == nil {
			break
		}
		if !errors.Is(err, unix.EINTR) {
			logf("nix daemon socket: %v", err)
			unix.Close(fd)
			return
		}
	}
	null, err := os.OpenFile("/dev/null", os.O_RDWR, 0)
	if err != nil {
		logf("nix daemon: %v", err)
		unix.Close(fd)
		return
	}
	defer null.Close()
	listener := os.NewFile(uintptr(fd), "nix-daemon-socket")
	defer listener.Close()
	os.MkdirAll(filepath.Join(nixDaemonRoot, "run/nix-daemon"), 0o700)
	_, err = os.StartProcess("/bin/sh", []string{"sh", "-c", `export LISTEN_PID=$$; exec "$0"`, n.Daemon}, &os.ProcAttr{
		Dir:   "/",
		Env:   []string{"PATH=" + render.SystemPath, "HOME=/run/nix-daemon", "LISTEN_FDS=1", "NIX_CONFIG=" + n.Config},
		Files: []*os.File{null, null, null, listener},
		Sys:   &syscall.SysProcAttr{Chroot: nixDaemonRoot, Setsid: true},
	})
	if err != nil {
		logf("starting %s: %v", n.Daemon, err)
	}
}
