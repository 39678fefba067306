package guest

import (
	"fmt"
	"os"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/claude-sandbox/claude-sandbox/render"
)

// startConfined starts the command from a thread of its own with an empty
// capability bounding set, no ambient capabilities, no_new_privs and the
// sandbox's seccomp filter, all of which the command inherits: even as
// root it holds no capabilities, so it cannot undo the guest's mounts
// (the read-only binds over protected paths) or gain privileges through
// a set-user-id program. These are properties of a thread: the init keeps
// its own privileges on its other threads, and the confined thread ends
// with its goroutine.
func startConfined(argv0 string, argv []string, attr *os.ProcAttr, filter []unix.SockFilter) (*os.Process, error) {
	type started struct {
		proc *os.Process
		err  error
	}
	ch := make(chan started, 1)
	go func() {
		// Never unlocked: the thread ends with this goroutine.
		runtime.LockOSThread()
		if err := confineThread(filter); err != nil {
			ch <- started{nil, err}
			return
		}
		proc, err := os.StartProcess(argv0, argv, attr)
		ch <- started{proc, err}
	}()
	s := <-ch
	return s.proc, s.err
}

// filterResult is seccompFilter's answer, computed while the init waits
// for the host.
type filterResult struct {
	filter []unix.SockFilter
	err    error
}

// seccompFilter is the sandbox's seccomp filter for the command.
func seccompFilter() ([]unix.SockFilter, error) {
	raw, err := render.SeccompRaw(render.SeccompOptions{})
	if err != nil {
		return nil, fmt.Errorf("seccomp filter: %w", err)
	}
	filter := make([]unix.SockFilter, len(raw))
	for i, ins := range raw {
		filter[i] = unix.SockFilter{Code: ins.Op, Jt: ins.Jt, Jf: ins.Jf, K: ins.K}
	}
	return filter, nil
}

// confineThread drops the calling thread's capability bounding set and
// ambient capabilities, sets no_new_privs and installs filter on it. Its
// effective capabilities stay, for what the child does before it executes
// the command (chroot, switching ids).
func confineThread(filter []unix.SockFilter) error {
	for c := 0; c <= unix.CAP_LAST_CAP; c++ {
		if err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0); err != nil && err != unix.EINVAL {
			return fmt.Errorf("dropping capability %d: %w", c, err)
		}
	}
	if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); err != nil && err != unix.EINVAL {
		return fmt.Errorf("clearing ambient capabilities: %w", err)
	}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("no_new_privs: %w", err)
	}
	prog := unix.SockFprog{Len: uint16(len(filter)), Filter: &filter[0]}
	if _, _, errno := unix.RawSyscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, 0, uintptr(unsafe.Pointer(&prog))); errno != 0 {
		return fmt.Errorf("installing the seccomp filter: %w", errno)
	}
	runtime.KeepAlive(filter)
	return nil
}
