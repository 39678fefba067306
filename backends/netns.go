package backends

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// helperReadyTimeout bounds the wait for the network helper to come up.
const helperReadyTimeout = 30 * time.Second

// attachedNetwork is a new network namespace, made by the launcher and
// connected to the outside by a user-mode network helper (slirp4netns)
// before the sandbox starts in it. The namespace lives as long as the
// launcher holds it or a process runs in it; the helper exits when the
// launcher closes its exit pipe, or dies.
type attachedNetwork struct {
	ns     *os.File
	helper *exec.Cmd
	exit   *os.File
	stderr bytes.Buffer
}

// attachNetwork creates the namespace, starts helper (argv without its
// target) attached to it, and waits until the helper reports it is up.
func attachNetwork(helper []string) (*attachedNetwork, error) {
	ns, err := newNetworkNamespace()
	if err != nil {
		return nil, err
	}
	n := &attachedNetwork{ns: ns}
	// Descriptor 5 of the helper is the namespace.
	args := append(append([]string{}, helper[1:]...), "--netns-type=path", "/proc/self/fd/5", "tap0")
	if err := n.start(helper[0], args, ns); err != nil {
		return nil, err
	}
	return n, nil
}

// start starts the network helper prog (slirp4netns) with args after its
// ready and exit pipes (its descriptors 3 and 4; extra files follow from
// 5) and waits until it reports it is up. On failure n is closed.
func (n *attachedNetwork) start(prog string, args []string, extra ...*os.File) error {
	readyR, readyW, err := os.Pipe()
	if err != nil {
		n.Close()
		return fmt.Errorf("network helper: %w", err)
	}
	defer readyR.Close()
	exitR, exitW, err := os.Pipe()
	if err != nil {
		readyW.Close()
		n.Close()
		return fmt.Errorf("network helper: %w", err)
	}
	n.exit = exitW
	n.helper = exec.Command(prog, append([]string{"--ready-fd=3", "--exit-fd=4"}, args...)...)
	n.helper.ExtraFiles = append([]*os.File{readyW, exitR}, extra...)
	n.helper.Stderr = &n.stderr
	n.helper.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	err = n.helper.Start()
	readyW.Close()
	exitR.Close()
	if err != nil {
		n.helper = nil
		n.Close()
		return fmt.Errorf("starting %s: %w", prog, err)
	}
	readyR.SetReadDeadline(time.Now().Add(helperReadyTimeout))
	b := make([]byte, 1)
	if _, err := readyR.Read(b); err != nil {
		n.Close()
		return fmt.Errorf("%s did not come up: %v: %s", prog, err, strings.TrimSpace(n.stderr.String()))
	}
	return nil
}

// newNetworkNamespace makes a network namespace holding only a loopback
// device that is down, and returns it as an open file. The namespace is
// made on a thread of its own that then exits, so no other code runs in
// it.
func newNetworkNamespace() (*os.File, error) {
	type result struct {
		f   *os.File
		err error
	}
	done := make(chan result, 1)
	go func() {
		// Never unlocked: the thread ends with this goroutine.
		runtime.LockOSThread()
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			done <- result{err: fmt.Errorf("new network namespace: %w", err)}
			return
		}
		f, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			done <- result{err: fmt.Errorf("new network namespace: %w", err)}
			return
		}
		done <- result{f: f}
	}()
	r := <-done
	return r.f, r.err
}

// Start starts cmd inside the namespace: it is forked from a thread that
// joins the namespace and returns to the launcher's own afterwards.
func (n *attachedNetwork) Start(cmd *exec.Cmd) error {
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		own, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			done <- fmt.Errorf("network namespace: %w", err)
			return
		}
		defer own.Close()
		if err := unix.Setns(int(n.ns.Fd()), unix.CLONE_NEWNET); err != nil {
			done <- fmt.Errorf("joining the sandbox's network namespace: %w", err)
			return
		}
		err = cmd.Start()
		// A thread that cannot return stays locked and ends with this
		// goroutine.
		if unix.Setns(int(own.Fd()), unix.CLONE_NEWNET) == nil {
			runtime.UnlockOSThread()
		}
		done <- err
	}()
	return <-done
}

// Close stops the helper and releases the namespace.
func (n *attachedNetwork) Close() {
	if n.exit != nil {
		n.exit.Close()
	}
	if n.helper != nil {
		waited := make(chan error, 1)
		go func() { waited <- n.helper.Wait() }()
		select {
		case <-waited:
		case <-time.After(5 * time.Second):
			n.helper.Process.Kill()
			<-waited
		}
	}
	if n.ns != nil {
		n.ns.Close()
	}
}

// startIn returns the start function for a plan: the plain start, or a
// start inside a new network namespace attached to the plan's network
// helper, with the function that undoes it.
func startIn(helper []string) (func(*exec.Cmd) error, func(), error) {
	if len(helper) == 0 {
		return (*exec.Cmd).Start, func() {}, nil
	}
	if os.Geteuid() != 0 {
		return nil, nil, errors.New("a network helper attached by the launcher needs root")
	}
	n, err := attachNetwork(helper)
	if err != nil {
		return nil, nil, err
	}
	return n.Start, n.Close, nil
}
