package backends

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"
	"time"

	"github.com/claude-sandbox/claude-sandbox/render"
)

// dbusProxyReady bounds the wait for the proxy's socket.
const dbusProxyReady = 10 * time.Second

// startDBusProxy starts the run's filtering D-Bus proxy on the host, as
// the invoking user, and returns once its socket accepts connections.
// The proxy gets --fd=3, the write end of a pipe whose read end only the
// launcher holds: it reports readiness there and exits when the pipe
// breaks, so it never outlives the launcher, even one killed by SIGKILL.
// stop ends it and removes its directory; call it after the sandbox.
func startDBusProxy(px *render.DBusProxy, h *render.Host, stderr io.Writer) (stop func(), err error) {
	if err := os.Mkdir(px.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("dbus proxy directory: %w", err)
	}
	if err := chownToUser(px.Dir, h); err != nil {
		os.Remove(px.Dir)
		return nil, fmt.Errorf("dbus proxy directory: %w", err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		os.Remove(px.Dir)
		return nil, fmt.Errorf("dbus proxy: %w", err)
	}
	args := append([]string{px.Argv[0], "--fd=3"}, px.Argv[1:]...)
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = []string{"PATH=" + render.SystemPath}
	cmd.Stdout, cmd.Stderr = nil, stderr
	cmd.ExtraFiles = []*os.File{w}
	// Its own process group: a terminal's ^C reaches the sandbox, and
	// the launcher decides when the proxy ends.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if os.Getuid() == 0 && h.UID != 0 {
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: uint32(h.UID), Gid: uint32(h.GID), Groups: uint32s(h.Groups)}
	}
	if err := cmd.Start(); err != nil {
		r.Close()
		w.Close()
		os.Remove(px.Dir)
		return nil, fmt.Errorf("starting xdg-dbus-proxy: %w", err)
	}
	w.Close()
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	stop = func() {
		r.Close()
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(2 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		os.RemoveAll(px.Dir)
	}
	r.SetReadDeadline(time.Now().Add(dbusProxyReady))
	buf := make([]byte, 1)
	if _, err := r.Read(buf); err != nil {
		stop()
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return nil, fmt.Errorf("xdg-dbus-proxy did not get ready within %s", dbusProxyReady)
		}
		return nil, fmt.Errorf("xdg-dbus-proxy exited before it was ready (is the session bus %s reachable?)", px.Argv[1])
	}
	r.SetReadDeadline(time.Time{})
	return stop, nil
}
