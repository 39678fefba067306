package unixguard

import (
	"fmt"
	"os"

	"github.com/claude-sandbox/claude-sandbox/render"
	"golang.org/x/sys/unix"
)

// Supported tells whether this kernel has what the guard needs: seccomp
// user notifications whose callers wait unkillably once taken (Linux
// 5.19), pidfd_getfd (5.6) and openat2 (5.6). It installs the guard's
// filter on a thread of its own, which makes no other call and then ends.
func Supported() error {
	pidfd, err := unix.PidfdOpen(os.Getpid(), 0)
	if err != nil {
		return fmt.Errorf("pidfd_open (Linux 5.3 or later): %w", err)
	}
	fd, err := unix.PidfdGetfd(pidfd, 0, 0)
	unix.Close(pidfd)
	if err != nil {
		return fmt.Errorf("pidfd_getfd (Linux 5.6 or later): %w", err)
	}
	unix.Close(fd)
	fd, err = unix.Openat2(unix.AT_FDCWD, "/", &unix.OpenHow{Flags: unix.O_PATH | unix.O_CLOEXEC, Resolve: unix.RESOLVE_IN_ROOT})
	if err != nil {
		return fmt.Errorf("openat2 (Linux 5.6 or later): %w", err)
	}
	unix.Close(fd)
	prog, err := render.UnixGuardProgram(true)
	if err != nil {
		return err
	}
	done := make(chan error, 1)
	onOwnThread(func() {
		fd, err := Install(prog)
		if err == nil {
			unix.Close(fd)
		}
		done <- err
	})
	return <-done
}
