// Command sandbox-probe runs inside a sandbox and reports, as JSON on
// standard output, what it can see and do there: its ids, host name, the
// processes it can see, its environment's names, which paths it can read
// and write, its network interfaces and connections, and whether terminal
// injection works. The integration tests of every backend run it and
// compare the report with what the policy promises.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/claude-sandbox/claude-sandbox/backends/probereport"
)

// Report is the probe's output.
type Report = probereport.Report

// PathReport says what the probe could do with a path.
type PathReport = probereport.PathReport

type list []string

func (l *list) String() string     { return strings.Join(*l, ",") }
func (l *list) Set(s string) error { *l = append(*l, s); return nil }

func main() {
	var paths, connects, lookups, abstract, writes list
	flag.Var(&paths, "path", "report on a path (repeatable)")
	flag.Var(&connects, "connect", "try a TCP connection to host:port (repeatable)")
	flag.Var(&lookups, "dns", "try to resolve a name (repeatable)")
	flag.Var(&abstract, "abstract", "try to connect to an abstract unix socket (repeatable)")
	flag.Var(&writes, "write", "create a file with this path and report its owner (repeatable)")
	exit := flag.Int("exit", 0, "exit with this status after reporting")
	findProc := flag.String("findproc", "", "report whether a visible process's command line contains this text, given reversed (so that the command lines carrying the probe's own arguments never match)")
	flag.Parse()

	r := Report{
		UID: os.Getuid(), GID: os.Getgid(), EUID: os.Geteuid(),
		Paths: map[string]PathReport{}, Connect: map[string]bool{}, DNS: map[string]bool{},
		Abstract: map[string]bool{}, Written: map[string]string{},
	}
	r.Groups, _ = os.Getgroups()
	r.Hostname, _ = os.Hostname()
	r.Cwd, _ = os.Getwd()
	if b, err := os.ReadFile("/proc/1/comm"); err == nil {
		r.PID1 = strings.TrimSpace(string(b))
	}
	if entries, err := os.ReadDir("/proc"); err == nil {
		for _, e := range entries {
			if e.Name()[0] >= '0' && e.Name()[0] <= '9' {
				r.Processes++
			}
		}
	}
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		r.Env = append(r.Env, name)
	}
	sort.Strings(r.Env)
	for _, p := range paths {
		r.Paths[p] = probePath(p)
	}
	if ifs, err := net.Interfaces(); err == nil {
		for _, i := range ifs {
			r.Interfaces = append(r.Interfaces, i.Name)
		}
	}
	for _, c := range connects {
		conn, err := net.DialTimeout("tcp", c, 2*time.Second)
		r.Connect[c] = err == nil
		if err == nil {
			conn.Close()
		}
	}
	for _, name := range lookups {
		_, err := net.LookupHost(name)
		r.DNS[name] = err == nil
	}
	for _, a := range abstract {
		conn, err := net.DialTimeout("unix", "@"+a, 2*time.Second)
		r.Abstract[a] = err == nil
		if err == nil {
			conn.Close()
		}
	}
	for _, w := range writes {
		r.Written[w] = writeFile(w)
	}
	if *findProc != "" {
		r.FoundProcess = findProcess(reverse(*findProc))
	}
	r.TIOCSTI = tiocsti()
	r.UserNamespace = canUnshareUser()
	r.Syscalls = trySyscalls()
	out, _ := json.Marshal(r)
	fmt.Println(string(out))
	os.Exit(*exit)
}

func probePath(p string) PathReport {
	var pr PathReport
	st, err := os.Stat(p)
	if err != nil {
		return pr
	}
	pr.Exists = true
	if s, ok := st.Sys().(*syscall.Stat_t); ok {
		pr.Owner = int(s.Uid)
	}
	if st.IsDir() {
		if _, err := os.ReadDir(p); err == nil {
			pr.Readable = true
		}
		f, err := os.CreateTemp(p, ".probe-")
		if err == nil {
			pr.Writable = true
			f.Close()
			os.Remove(f.Name())
		}
		return pr
	}
	if f, err := os.Open(p); err == nil {
		pr.Readable = true
		f.Close()
	}
	// Opening for writing without truncating changes nothing.
	if f, err := os.OpenFile(p, os.O_WRONLY, 0); err == nil {
		pr.Writable = true
		f.Close()
	}
	return pr
}

// writeFile creates path and reports the error, or "ok".
func writeFile(path string) string {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err.Error()
	}
	if err := os.WriteFile(path, []byte("written inside the sandbox\n"), 0o644); err != nil {
		return err.Error()
	}
	return "ok"
}

// tiocsti tries to push a character into the controlling terminal's input
// and reports "ok" when it worked, or the error.
func tiocsti() string {
	f, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
	if err != nil {
		// No controlling terminal: try standard input.
		f = os.Stdin
	} else {
		defer f.Close()
	}
	c := byte(' ')
	_, _, errno := unix.Syscall(unix.SYS_IOCTL, f.Fd(), unix.TIOCSTI, uintptr(unsafePointer(&c)))
	if errno != 0 {
		return errno.Error()
	}
	return "ok"
}

// canUnshareUser reports whether a new user namespace can be created.
func canUnshareUser() bool {
	done := make(chan bool)
	go func() {
		runtime.LockOSThread()
		// The thread is left locked so it exits with the goroutine and its
		// namespace never serves other code.
		done <- unix.Unshare(unix.CLONE_NEWUSER) == nil
	}()
	return <-done
}

// findProcess reports whether any visible process other than the probe
// and its parent has a command line containing text.
func findProcess(text string) bool {
	entries, _ := os.ReadDir("/proc")
	self, parent := fmt.Sprint(os.Getpid()), fmt.Sprint(os.Getppid())
	for _, e := range entries {
		if e.Name() == self || e.Name() == parent {
			continue
		}
		if b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline")); err == nil {
			if strings.Contains(strings.ReplaceAll(string(b), "\x00", " "), text) {
				return true
			}
		}
	}
	return false
}

func reverse(s string) string {
	r := []rune(s)
	for i, j := 0, len(r)-1; i < j; i, j = i+1, j-1 {
		r[i], r[j] = r[j], r[i]
	}
	return string(r)
}

// trySyscalls calls system calls the sandbox blocks, each with arguments
// that do no harm when the call is allowed, and reports each one's error,
// or "ok". Allowed, io_uring_setup fails with EINVAL or EFAULT, ptrace on
// an untraced process with ESRCH, clone3 with EINVAL; blocked, they fail
// with EPERM (clone3: ENOSYS).
func trySyscalls() map[string]string {
	ppid := uintptr(os.Getppid())
	fdcwd := unix.AT_FDCWD
	atFDCWD := uintptr(fdcwd)
	root := append([]byte("/"), 0)
	calls := map[string][4]uintptr{
		"io_uring_setup":   {unix.SYS_IO_URING_SETUP, 0, 0, 0},
		"ptrace":           {unix.SYS_PTRACE, unix.PTRACE_PEEKDATA, ppid, 0},
		"process_vm_readv": {unix.SYS_PROCESS_VM_READV, ppid, 0, 0},
		"open_tree":        {unix.SYS_OPEN_TREE, atFDCWD, uintptr(unsafePointer(&root[0])), unix.OPEN_TREE_CLOEXEC},
		"clone3":           {unix.SYS_CLONE3, 0, 0, 0},
	}
	out := map[string]string{}
	for name, c := range calls {
		r, _, errno := unix.Syscall6(c[0], c[1], c[2], c[3], 0, 0, 0)
		if errno != 0 {
			out[name] = errno.Error()
			continue
		}
		if name == "open_tree" {
			unix.Close(int(r))
		}
		out[name] = "ok"
	}
	return out
}
