// Package unixguard confines the sandbox's connect() to Unix sockets. A
// seccomp filter installed in front of the sandbox hands every connect
// (and, where the sandbox shares the launcher's network namespace, every
// bind) to the launcher through a user notification. The launcher never
// lets the call continue in the sandbox: it takes the sandbox's socket
// (pidfd_getfd), copies the address out, resolves a path in the sandbox's
// root to the exact inode, decides on that inode, and connects the socket
// itself, returning the result.
package unixguard

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"unsafe"

	"github.com/claude-sandbox/claude-sandbox/backends/limits"
	"github.com/claude-sandbox/claude-sandbox/render"
	"golang.org/x/sys/unix"
)

// HelperMain is the helper mode that runs in front of the sandbox: it
// installs the filter read from the --filter descriptor on its thread,
// sends the filter's listener to the launcher on the --channel
// descriptor, sets the rlimits given as --rlimit NAME=VALUE on itself,
// and executes the rest of its arguments, which inherit the filter and
// the limits. args[0] is the helper's name.
func HelperMain(args []string) int {
	if err := helper(args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "claude-sandbox: unix socket guard:", err)
		return 125
	}
	return 0
}

func helper(args []string) error {
	channel, filter := -1, -1
	diag := false
	var rl []render.Rlimit
	for len(args) > 0 && args[0] != "--" {
		if args[0] == "--diag" {
			diag = true
			args = args[1:]
			continue
		}
		if len(args) < 2 {
			return fmt.Errorf("%s needs a value", args[0])
		}
		if args[0] == "--rlimit" {
			r, err := limits.Parse(args[1])
			if err != nil {
				return err
			}
			rl = append(rl, r)
			args = args[2:]
			continue
		}
		n, err := strconv.Atoi(args[1])
		if err != nil {
			return fmt.Errorf("%s %q: %w", args[0], args[1], err)
		}
		switch args[0] {
		case "--channel":
			channel = n
		case "--filter":
			filter = n
		default:
			return fmt.Errorf("unknown option %s", args[0])
		}
		args = args[2:]
	}
	if len(args) < 2 || channel < 0 || filter < 0 {
		return errors.New("usage: --channel FD --filter FD [--diag] [--rlimit NAME=VALUE...] -- PROGRAM [ARG...]")
	}
	argv := args[1:]
	f := os.NewFile(uintptr(filter), "filter")
	prog, err := io.ReadAll(f)
	f.Close()
	if err != nil {
		return fmt.Errorf("reading the filter: %w", err)
	}
	unix.CloseOnExec(channel)
	// The filter and no_new_privs are properties of this thread: the
	// program executed from it inherits them.
	runtime.LockOSThread()
	listener, err := Install(prog)
	if err != nil {
		return err
	}
	fds := []int{listener}
	if diag {
		// The helper lives in the sandbox's network namespace: the
		// launcher asks about the sandbox's sockets through this.
		d, err := NewDiag()
		if err != nil {
			return err
		}
		fds = append(fds, d)
	}
	rights := unix.UnixRights(fds...)
	if err := unix.Sendmsg(channel, []byte{1}, rights, nil, 0); err != nil {
		return fmt.Errorf("handing the listener to the launcher: %w", err)
	}
	for _, fd := range fds {
		unix.Close(fd)
	}
	unix.Close(channel)
	// Last, with no descriptor left to open: the sandbox starts under
	// the limits.
	if err := limits.SetSelf(rl); err != nil {
		return err
	}
	if err := unix.Exec(argv[0], argv, os.Environ()); err != nil {
		return fmt.Errorf("executing %s: %w", argv[0], err)
	}
	return nil
}

// Install sets no_new_privs and installs prog (an array of struct
// sock_filter) on the calling thread, which must be locked to its
// goroutine, and returns the filter's notification listener.
func Install(prog []byte) (int, error) {
	if len(prog) == 0 || len(prog)%8 != 0 {
		return -1, fmt.Errorf("filter of %d bytes is not a BPF program", len(prog))
	}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return -1, fmt.Errorf("no_new_privs: %w", err)
	}
	fprog := unix.SockFprog{Len: uint16(len(prog) / 8), Filter: (*unix.SockFilter)(unsafe.Pointer(&prog[0]))}
	// Once the launcher has taken a call, a signal that does not kill
	// the caller no longer interrupts it (Linux 5.19): an interrupted
	// connect would be restarted while the launcher still performs the
	// first one on the same socket.
	fd, _, errno := unix.RawSyscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER,
		unix.SECCOMP_FILTER_FLAG_NEW_LISTENER|unix.SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV, uintptr(unsafe.Pointer(&fprog)))
	runtime.KeepAlive(prog)
	if errno != 0 {
		return -1, fmt.Errorf("installing the seccomp filter with a user notification listener (Linux 5.19 or later): %w", errno)
	}
	unix.CloseOnExec(int(fd))
	return int(fd), nil
}

// Receive takes the listener the helper sends on channel, and the
// sock_diag socket of the sandbox's network namespace when it sends one.
func Receive(channel *os.File) (listener, diag *os.File, err error) {
	buf := make([]byte, 1)
	oob := make([]byte, unix.CmsgSpace(8))
	n, oobn, _, _, err := unix.Recvmsg(int(channel.Fd()), buf, oob, unix.MSG_CMSG_CLOEXEC)
	if err != nil {
		return nil, nil, fmt.Errorf("unix socket guard: receiving the listener: %w", err)
	}
	if n == 0 {
		return nil, nil, errors.New("unix socket guard: the helper ended before installing the filter")
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 {
		return nil, nil, errors.New("unix socket guard: no listener received")
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) < 1 || len(fds) > 2 {
		for _, fd := range fds {
			unix.Close(fd)
		}
		return nil, nil, errors.New("unix socket guard: no listener received")
	}
	listener = os.NewFile(uintptr(fds[0]), "seccomp-listener")
	if len(fds) == 2 {
		diag = os.NewFile(uintptr(fds[1]), "sock-diag")
	}
	return listener, diag, nil
}

// StartFiltered installs prog on a thread of its own and calls start
// there, so that only the process start creates inherits the filter; the
// thread ends afterwards. It returns the filter's listener.
func StartFiltered(prog []byte, start func() error) (*os.File, error) {
	listener, release, err := StartHeld(prog, start)
	if err != nil {
		return nil, err
	}
	release()
	return listener, nil
}

// StartHeld is StartFiltered with the thread kept until release is
// called: a child's parent-death signal (bwrap's --die-with-parent, and
// Pdeathsig) fires when the thread that started it ends, so the thread
// must outlive the child. The held thread runs nothing else: a goroutine
// locked to it waits, and the Go runtime starts no thread from a locked
// one. On error nothing was started, or what start started has ended.
func StartHeld(prog []byte, start func() error) (listener *os.File, release func(), err error) {
	type started struct {
		listener int
		err      error
	}
	ch := make(chan started, 1)
	hold := make(chan struct{})
	onOwnThread(func() {
		fd, err := Install(prog)
		if err != nil {
			ch <- started{-1, fmt.Errorf("unix socket guard: %w (unix_sockets = \"all\" runs without it)", err)}
			return
		}
		if err := start(); err != nil {
			unix.Close(fd)
			ch <- started{-1, err}
			return
		}
		ch <- started{fd, nil}
		<-hold
	})
	s := <-ch
	if s.err != nil {
		return nil, nil, s.err
	}
	var once sync.Once
	return os.NewFile(uintptr(s.listener), "seccomp-listener"), func() { once.Do(func() { close(hold) }) }, nil
}

// onOwnThread runs f in a new goroutine locked to a thread that ends
// with it: never unlocked, and never the process's main thread, which
// the Go runtime does not end but parks for good (with whatever f left
// on it, such as a filter, and a child's parent-death signal unsent).
func onOwnThread(f func()) {
	go func() {
		runtime.LockOSThread()
		if unix.Gettid() == unix.Getpid() {
			// While this goroutine holds the main thread, the next
			// one locks another.
			locked := make(chan struct{})
			onOwnThread(func() {
				close(locked)
				f()
			})
			<-locked
			runtime.UnlockOSThread()
			return
		}
		f()
	}()
}

// StartFilteredHere installs prog on the calling thread, which must be
// locked to its goroutine and keeps the filter, and calls start there.
// It is for a caller whose thread holds state the started process must
// inherit (dropped capabilities, no_new_privs): those belong to a thread.
// It returns the filter's listener.
func StartFilteredHere(prog []byte, start func() error) (*os.File, error) {
	fd, err := Install(prog)
	if err != nil {
		return nil, fmt.Errorf("unix socket guard: %w (unix_sockets = \"all\" runs without it)", err)
	}
	if err := start(); err != nil {
		unix.Close(fd)
		return nil, err
	}
	return os.NewFile(uintptr(fd), "seccomp-listener"), nil
}

// InitOptions are the guard's options on the command line of the
// launcher's init inside a container (see render.UnixGuard.Args).
type InitOptions struct {
	// On asks for the guard.
	On bool
	// SharedNetns: the container shares the host's network namespace.
	SharedNetns bool
	// Granted are the forwarded sockets, as paths inside.
	Granted []string
}

// ParseInitArgs takes the guard's options from the front of args and
// returns the rest.
func ParseInitArgs(args []string) (InitOptions, []string, error) {
	var o InitOptions
	for len(args) > 0 {
		a := args[0]
		switch {
		case a == "--unix-guard":
			o.On = true
		case a == "--unix-guard-shared-netns":
			o.SharedNetns = true
		case strings.HasPrefix(a, "--unix-granted="):
			p := strings.TrimPrefix(a, "--unix-granted=")
			if !strings.HasPrefix(p, "/") {
				return o, nil, fmt.Errorf("--unix-granted %q is not absolute", p)
			}
			o.Granted = append(o.Granted, p)
		default:
			return o, args, nil
		}
		args = args[1:]
	}
	return o, args, nil
}
