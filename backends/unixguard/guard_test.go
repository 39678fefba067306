package unixguard_test

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/claude-sandbox/claude-sandbox/backends/unixguard"
	"github.com/claude-sandbox/claude-sandbox/render"
	"golang.org/x/sys/unix"
)

// The test binary is also the helper (by its argv[0]) and the client the
// helper executes (by an environment variable), so that the filter runs
// for real in a child process.
func TestMain(m *testing.M) {
	if filepath.Base(os.Args[0]) == render.UnixGuardName {
		os.Exit(unixguard.HelperMain(os.Args))
	}
	if os.Getenv("UNIXGUARD_TEST_CLIENT") == "1" {
		os.Exit(client(os.Args[1:]))
	}
	os.Exit(m.Run())
}

// client runs each step: "connect PATH", "bind PATH" (bind, listen and
// connect to it from a second socket), "dgram", and prints one line per
// step: ok or the error.
func client(steps []string) int {
	for _, s := range steps {
		verb, arg, _ := strings.Cut(s, " ")
		var err error
		switch verb {
		case "connect":
			var fd int
			fd, err = unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM, 0)
			if err == nil {
				err = unix.Connect(fd, &unix.SockaddrUnix{Name: arg})
				unix.Close(fd)
			}
		case "bind":
			var l net.Listener
			l, err = net.Listen("unix", arg)
			if err == nil {
				var c net.Conn
				c, err = net.Dial("unix", arg)
				if err == nil {
					c.Close()
				}
				l.Close()
			}
		case "dgram":
			var fd int
			fd, err = unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
			if err == nil {
				unix.Close(fd)
			}
		case "dgrampair":
			var fds [2]int
			fds, err = unix.Socketpair(unix.AF_UNIX, unix.SOCK_DGRAM, 0)
			if err == nil {
				unix.Close(fds[0])
				unix.Close(fds[1])
			}
		case "dial":
			var c net.Conn
			c, err = net.DialTimeout("unix", arg, 2*time.Second)
			if err == nil {
				c.Close()
			}
		case "dialmany":
			// From many threads at once: each notification names a
			// thread, most of them not the process's leader.
			errs := make(chan error, 32)
			for range 32 {
				go func() {
					c, err := net.DialTimeout("unix", arg, 5*time.Second)
					if err == nil {
						c.Close()
					}
					errs <- err
				}()
			}
			for range 32 {
				if e := <-errs; e != nil {
					err = e
				}
			}
		case "killed":
			// Connects from children killed while they wait: "killed
			// PATH N".
			p, n, _ := strings.Cut(arg, " ")
			count, _ := strconv.Atoi(n)
			for range count {
				if err = killedConnect(p); err != nil {
					break
				}
			}
		case "nocaps":
			// The steps after this one run on this thread, which holds
			// no capabilities (root's included).
			runtime.LockOSThread()
			hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
			var data [2]unix.CapUserData
			err = unix.Capset(&hdr, &data[0])
		case "timeout":
			// A connect with the caller's own send timeout of 300 ms,
			// which it finds unchanged after.
			var fd int
			fd, err = unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM, 0)
			if err == nil {
				tv := unix.Timeval{Usec: 300000}
				unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_SNDTIMEO, &tv)
				start := time.Now()
				err = unix.Connect(fd, &unix.SockaddrUnix{Name: arg})
				took := time.Since(start)
				got, _ := unix.GetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_SNDTIMEO)
				if *got != tv {
					err = fmt.Errorf("send timeout %v after the connect, want %v", *got, tv)
				} else if took < 250*time.Millisecond || took > 5*time.Second {
					err = fmt.Errorf("%v after %v", err, took)
				}
				unix.Close(fd)
			}
		case "tcp":
			var c net.Conn
			c, err = net.Dial("tcp", arg)
			if err == nil {
				c.Close()
			}
		}
		if err != nil {
			fmt.Printf("%s: %v\n", verb, err)
		} else {
			fmt.Printf("%s: ok\n", verb)
		}
	}
	return 0
}

// killedConnect starts a client that connects to p, waits until it is
// in its connect (or done with it) and kills it.
func killedConnect(p string) error {
	self, _ := os.Executable()
	cmd := exec.Command(self, "connect "+p)
	cmd.Env = os.Environ()
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan struct{})
	go func() {
		cmd.Wait()
		close(done)
	}()
	defer func() { <-done }()
	defer cmd.Process.Kill()
	syscallFile := fmt.Sprintf("/proc/%d/syscall", cmd.Process.Pid)
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		select {
		case <-done:
			return nil
		default:
		}
		if data, err := os.ReadFile(syscallFile); err == nil && strings.HasPrefix(string(data), fmt.Sprint(unix.SYS_CONNECT)+" ") {
			return nil
		}
	}
	return fmt.Errorf("the client never waited in its connect")
}

// helperFiles makes what the guard's helper is given: a file holding the
// filter prog, read from its start, and the two ends of the channel the
// helper sends its listener on (theirs for the helper, ours for the
// launcher).
func helperFiles(t *testing.T, prog []byte) (filter, ours, theirs *os.File) {
	t.Helper()
	filter, err := os.CreateTemp(t.TempDir(), "filter")
	if err != nil {
		t.Fatal(err)
	}
	filter.Write(prog)
	filter.Seek(0, 0)
	pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	return filter, os.NewFile(uintptr(pair[0]), "ours"), os.NewFile(uintptr(pair[1]), "theirs")
}

// guarded runs the client with steps under the guard's filter.
func guarded(t *testing.T, cfg unixguard.Config, trapBind bool, steps ...string) (string, *unixguard.Guard) {
	t.Helper()
	prog, err := render.UnixGuardProgram(trapBind)
	if err != nil {
		t.Fatal(err)
	}
	filter, ours, theirs := helperFiles(t, prog)
	defer ours.Close()
	self, _ := os.Executable()
	cmd := exec.Command(self, append([]string{"--channel", "3", "--filter", "4", "--", self}, steps...)...)
	cmd.Args[0] = render.UnixGuardName
	cmd.Env = append(os.Environ(), "UNIXGUARD_TEST_CLIENT=1")
	cmd.ExtraFiles = []*os.File{theirs, filter}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	theirs.Close()
	filter.Close()
	listener, diag, err := unixguard.Receive(ours)
	if err != nil {
		cmd.Wait()
		t.Fatalf("%v: %s", err, out.String())
	}
	if diag != nil {
		t.Fatal("the helper sent a sock_diag socket unasked")
	}
	g := unixguard.Serve(listener, cfg)
	err = cmd.Wait()
	g.Stop()
	if err != nil {
		t.Fatalf("client: %v: %s", err, out.String())
	}
	return out.String(), g
}

func TestSupported(t *testing.T) {
	if err := unixguard.Supported(); err != nil {
		t.Fatalf("this kernel cannot run the guard: %v", err)
	}
	// The probe's filter stayed on its own thread, which runs nothing
	// any more: connects from every other thread still work (a filter
	// without a listener would fail them with ENOSYS).
	path := filepath.Join(t.TempDir(), "s.sock")
	hostListener(t, path)
	errs := make(chan error, 16)
	for range 16 {
		go func() {
			c, err := net.Dial("unix", path)
			if err == nil {
				c.Close()
			}
			errs <- err
		}()
	}
	for range 16 {
		if err := <-errs; err != nil {
			t.Errorf("connect after the probe: %v", err)
		}
	}
}

// hostListener listens on path as a host program would and counts the
// connections it accepts.
func hostListener(t *testing.T, path string) *int32 {
	t.Helper()
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	var n int32
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			n++
			c.Close()
		}
	}()
	return &n
}

// Abstract sockets are looked up in the socket's own network namespace;
// connects come from every thread of a multithreaded Go program.
func TestGuardAbstractAndThreads(t *testing.T) {
	name := fmt.Sprintf("@csbx-guard-test-%d", os.Getpid())
	hostListener(t, name)
	out, _ := guarded(t, unixguard.Config{UID: os.Geteuid(), GID: os.Getegid()}, false, "dial "+name, "dialmany "+name)
	if want := "dial: ok\ndialmany: ok\n"; out != want {
		t.Errorf("got %q, want %q", out, want)
	}
}

// A connect waiting for room in a full backlog is given up once its
// caller is killed: a sandbox that kills its own waiting connects piles
// up no calls of the guard (each a thread of the launcher's).
func TestGuardGivesUpConnectsOfKilledCallers(t *testing.T) {
	_, path := fullListener(t, t.TempDir(), "full.sock")
	before := runtime.NumGoroutine()
	out, _ := guarded(t, unixguard.Config{Granted: []string{path}, UID: os.Geteuid(), GID: os.Getegid()}, false, "killed "+path+" 20")
	if out != "killed: ok\n" {
		t.Fatalf("client: %q", out)
	}
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > before+2 {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines still wait for connects of killed callers (%d before)", runtime.NumGoroutine(), before)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A connect that waits for room in a backlog gets it once the listener
// accepts, however long that takes; the caller's own send timeout still
// ends it, and stays the socket's.
func TestGuardConnectWaitsForBacklog(t *testing.T) {
	dir := t.TempDir()
	slow, slowPath := fullListener(t, dir, "slow.sock")
	_, fullPath := fullListener(t, dir, "full.sock")
	// The slow listener makes room only after several of the guard's
	// steps.
	go func() {
		time.Sleep(time.Second)
		for {
			c, _, err := unix.Accept(slow)
			if err != nil {
				return
			}
			unix.Close(c)
		}
	}()
	out, _ := guarded(t, unixguard.Config{Granted: []string{slowPath, fullPath}, UID: os.Geteuid(), GID: os.Getegid()}, false,
		"connect "+slowPath, "timeout "+fullPath)
	if want := "connect: ok\ntimeout: resource temporarily unavailable\n"; out != want {
		t.Errorf("got %q, want %q", out, want)
	}
}

// fullListener listens on name in dir with a backlog that a connection
// nobody accepts has filled.
func fullListener(t *testing.T, dir, name string) (int, string) {
	t.Helper()
	p := filepath.Join(dir, name)
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	if err := unix.Bind(fd, &unix.SockaddrUnix{Name: p}); err != nil {
		t.Fatal(err)
	}
	if err := unix.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	c, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(c) })
	if err := unix.Connect(c, &unix.SockaddrUnix{Name: p}); err != nil {
		t.Fatal(err)
	}
	return fd, p
}

// A socket of the sandbox's own namespace bound to a file with the
// same inode number as a host socket's, on another file system (two
// fresh tmpfs count their inodes alike), admits no connect to the host
// socket.
func TestGuardInodeOfAnotherFileSystem(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting a tmpfs needs root")
	}
	dir := t.TempDir()
	var paths [2]string
	for i, name := range []string{"own", "host"} {
		d := filepath.Join(dir, name)
		os.Mkdir(d, 0o755)
		if err := unix.Mount("tmpfs", d, "tmpfs", 0, "size=64k"); err != nil {
			t.Fatalf("mount a tmpfs: %v", err)
		}
		t.Cleanup(func() { unix.Unmount(d, unix.MNT_DETACH) })
		paths[i] = filepath.Join(d, "s.sock")
	}
	// The sandbox's socket, bound in a network namespace of its own,
	// which the guard asks about through a sock_diag socket made there.
	made := make(chan error, 1)
	var diag *os.File
	go func() {
		// The thread keeps the namespace and ends with the goroutine.
		runtime.LockOSThread()
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			made <- err
			return
		}
		fd, err := unixguard.NewDiag()
		if err != nil {
			made <- err
			return
		}
		diag = os.NewFile(uintptr(fd), "diag")
		s, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err == nil {
			err = unix.Bind(s, &unix.SockaddrUnix{Name: paths[0]})
		}
		if err == nil {
			err = unix.Listen(s, 8)
			t.Cleanup(func() { unix.Close(s) })
		}
		made <- err
	}()
	if err := <-made; err != nil {
		t.Fatalf("the sandbox's namespace and socket: %v", err)
	}
	defer diag.Close()
	accepted := hostListener(t, paths[1])
	var a, b unix.Stat_t
	unix.Stat(paths[0], &a)
	unix.Stat(paths[1], &b)
	if a.Ino != b.Ino || a.Dev == b.Dev {
		t.Fatalf("inodes %d on %d and %d on %d, want the same number on two file systems", a.Ino, a.Dev, b.Ino, b.Dev)
	}
	out, _ := guarded(t, unixguard.Config{Diag: diag, UID: os.Geteuid(), GID: os.Getegid()}, false, "connect "+paths[1])
	if want := "connect: permission denied\n"; out != want {
		t.Errorf("got %q, want %q", out, want)
	}
	if *accepted != 0 {
		t.Errorf("the host listener accepted %d connections", *accepted)
	}
}

// The guard connects with no more privileges than its caller: a root
// launcher's capabilities (CAP_DAC_OVERRIDE) open no socket file the
// caller, root without capabilities, may not write to.
func TestGuardConnectsWithoutItsCapabilities(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the guard holds capabilities only as root")
	}
	path := filepath.Join(t.TempDir(), "locked.sock")
	accepted := hostListener(t, path)
	if err := os.Chmod(path, 0); err != nil {
		t.Fatal(err)
	}
	out, _ := guarded(t, unixguard.Config{Granted: []string{path}, UID: os.Geteuid(), GID: os.Getegid()}, false, "nocaps", "connect "+path)
	if want := "nocaps: ok\nconnect: permission denied\n"; out != want {
		t.Errorf("got %q, want %q", out, want)
	}
	if *accepted != 0 {
		t.Errorf("the listener accepted %d connections", *accepted)
	}
}

func TestGuardRefusesHostSocketsAndAllowsOwn(t *testing.T) {
	dir := t.TempDir()
	host := filepath.Join(dir, "host.sock")
	granted := filepath.Join(dir, "granted.sock")
	accepted := hostListener(t, host)
	hostListener(t, granted)
	os.Symlink(host, filepath.Join(dir, "link.sock"))
	out, g := guarded(t, unixguard.Config{Granted: []string{granted}, SharedNetns: true, UID: os.Geteuid(), GID: os.Getegid()}, true,
		"connect "+host, "connect "+filepath.Join(dir, "link.sock"), "connect /proc/self/root"+host,
		"connect "+granted, "bind "+filepath.Join(dir, "own.sock"), "dgram", "dgrampair")
	want := []string{
		"connect: permission denied", "connect: permission denied", "connect: permission denied",
		"connect: ok", "bind: ok", "dgram: permission denied", "dgrampair: permission denied",
	}
	got := strings.Split(strings.TrimSpace(out), "\n")
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if *accepted != 0 {
		t.Errorf("the host listener accepted %d connections", *accepted)
	}
	if s := g.Summary(); !strings.Contains(s, host) {
		t.Errorf("summary %q does not name %s", s, host)
	}
}

// A helper that cannot install the filter ends without running its
// command, and the launcher learns so: a launch never goes on unguarded.
func TestHelperFailureIsAnError(t *testing.T) {
	filter, ours, theirs := helperFiles(t, []byte("not a BPF program"))
	defer ours.Close()
	marker := filepath.Join(t.TempDir(), "ran")
	self, _ := os.Executable()
	cmd := exec.Command(self, "--channel", "3", "--filter", "4", "--", "/bin/touch", marker)
	cmd.Args[0] = render.UnixGuardName
	cmd.ExtraFiles = []*os.File{theirs, filter}
	var out bytes.Buffer
	cmd.Stderr = &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	theirs.Close()
	filter.Close()
	_, _, recvErr := unixguard.Receive(ours)
	err := cmd.Wait()
	if recvErr == nil {
		t.Errorf("the launcher received a listener from a helper that failed")
	}
	if err == nil || !strings.Contains(out.String(), "not a BPF program") {
		t.Errorf("helper: %v, %q; want a failure naming the filter", err, out.String())
	}
	if _, err := os.Stat(marker); err == nil {
		t.Errorf("the command ran without the guard")
	}
}

// StartHeld's thread hands the filter and no_new_privs to the child it
// starts and to no other thread of the process, and lives until release:
// the child's parent-death signal fires then, not before.
func TestStartHeld(t *testing.T) {
	prog, err := render.UnixGuardProgram(false)
	if err != nil {
		t.Fatal(err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	cmd := exec.Command("cat")
	cmd.Stdin = r
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	listener, release, err := unixguard.StartHeld(prog, cmd.Start)
	r.Close()
	if err != nil {
		t.Fatal(err)
	}
	defer listener.Close()
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	child := procStatus(t, fmt.Sprintf("/proc/%d/status", cmd.Process.Pid))
	if !strings.Contains(child, "\nSeccomp:\t2\n") || !strings.Contains(child, "\nNoNewPrivs:\t1\n") {
		t.Errorf("the child has no filter or no no_new_privs:\n%s", child)
	}
	if n := filteredThreads(t); n != 1 {
		t.Errorf("%d threads of the process carry a filter, want the held one only", n)
	}
	select {
	case err := <-waited:
		t.Fatalf("the child ended while the thread was held: %v", err)
	default:
	}
	release()
	select {
	case err := <-waited:
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
			t.Errorf("the child ended with %v, want its parent-death signal", err)
		}
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatal("the child outlived the released thread")
	}
	deadline := time.Now().Add(30 * time.Second)
	for filteredThreads(t) != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the released thread still runs")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func procStatus(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// filteredThreads counts the threads of this process that carry a
// seccomp filter.
func filteredThreads(t *testing.T) int {
	t.Helper()
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, task := range tasks {
		data, err := os.ReadFile(filepath.Join("/proc/self/task", task.Name(), "status"))
		if err == nil && strings.Contains(string(data), "\nSeccomp:\t2\n") {
			n++
		}
	}
	return n
}
