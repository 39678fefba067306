// Package container holds the code that runs inside a systemd-nspawn
// container on the launcher's behalf: the entrypoint that drops
// privileges and executes the sandboxed command.
package container

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/claude-sandbox/claude-sandbox/backends/unixguard"
	"github.com/claude-sandbox/claude-sandbox/render"
)

// EnvFile is where the entrypoint finds the command's environment.
const EnvFile = "/.claude-sandbox/env"

// Options are the entrypoint's arguments.
type Options struct {
	UID, GID   int
	Groups     []int
	Chdir      string
	RuntimeDir string
	// UserDirs are directories nspawn created as root for mount points
	// that belong to the user (see render.UserDirs).
	UserDirs []string
	// UnixGuard asks for the Unix socket guard (see package unixguard):
	// UnixGranted are the forwarded sockets inside, and
	// UnixSharedNetns says the container shares the host's network
	// namespace.
	UnixGuard       bool
	UnixGranted     []string
	UnixSharedNetns bool
	Argv            []string
}

// ParseArgs parses the entrypoint's command line:
// --uid=N --gid=N --groups=N,N --chdir=DIR --runtime-dir=DIR
// [--user-dir=DIR]... [--unix-guard [--unix-guard-shared-netns]
// [--unix-granted=PATH]...] -- COMMAND...
func ParseArgs(args []string) (*Options, error) {
	fs := flag.NewFlagSet("claude-sandbox-entrypoint", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	o := &Options{}
	var groups string
	fs.IntVar(&o.UID, "uid", -1, "")
	fs.IntVar(&o.GID, "gid", -1, "")
	fs.StringVar(&groups, "groups", "", "")
	fs.StringVar(&o.Chdir, "chdir", "", "")
	fs.StringVar(&o.RuntimeDir, "runtime-dir", "", "")
	fs.Func("user-dir", "", func(d string) error {
		if !filepath.IsAbs(d) {
			return fmt.Errorf("--user-dir %q is not absolute", d)
		}
		o.UserDirs = append(o.UserDirs, filepath.Clean(d))
		return nil
	})
	fs.BoolVar(&o.UnixGuard, "unix-guard", false, "")
	fs.BoolVar(&o.UnixSharedNetns, "unix-guard-shared-netns", false, "")
	fs.Func("unix-granted", "", func(p string) error {
		if !filepath.IsAbs(p) {
			return fmt.Errorf("--unix-granted %q is not absolute", p)
		}
		o.UnixGranted = append(o.UnixGranted, p)
		return nil
	})
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if o.UID < 0 || o.GID < 0 {
		return nil, fmt.Errorf("--uid and --gid are required")
	}
	for _, g := range strings.Split(groups, ",") {
		if g == "" {
			continue
		}
		n, err := strconv.Atoi(g)
		if err != nil {
			return nil, fmt.Errorf("bad group %q", g)
		}
		o.Groups = append(o.Groups, n)
	}
	o.Argv = fs.Args()
	if len(o.Argv) == 0 {
		return nil, fmt.Errorf("no command")
	}
	return o, nil
}

// ParseEnv decodes NUL-terminated NAME=VALUE entries.
func ParseEnv(data []byte) []string {
	var env []string
	for _, e := range bytes.Split(data, []byte{0}) {
		if bytes.IndexByte(e, '=') > 0 {
			env = append(env, string(e))
		}
	}
	return env
}

// Main is the entrypoint: it reads and removes the environment file,
// creates the user's runtime directory, drops to the user's uid, gid and
// groups with no new privileges and an empty capability bounding set,
// installs the sandbox's seccomp filter, and runs the command as its
// child, forwarding signals to it. It returns the command's status, 128+N
// when signal N killed it (the container's stub init would turn a death
// by signal into 255), or 125 when it could not start the command.
func Main(args []string) int {
	o, err := ParseArgs(args[1:])
	if err != nil {
		fmt.Fprintf(os.Stderr, "claude-sandbox-entrypoint: %v\n", err)
		return 125
	}
	status, err := run(o)
	if err != nil {
		fmt.Fprintf(os.Stderr, "claude-sandbox-entrypoint: %v\n", err)
		return 125
	}
	return status
}

func run(o *Options) (int, error) {
	data, err := os.ReadFile(EnvFile)
	if err != nil {
		return 0, fmt.Errorf("reading the environment: %w", err)
	}
	if err := os.Remove(EnvFile); err != nil {
		return 0, fmt.Errorf("removing the environment file: %w", err)
	}
	env := ParseEnv(data)
	if o.RuntimeDir != "" {
		if err := os.MkdirAll(o.RuntimeDir, 0o700); err != nil {
			return 0, fmt.Errorf("creating %s: %w", o.RuntimeDir, err)
		}
		if err := os.Chown(o.RuntimeDir, o.UID, o.GID); err != nil {
			return 0, fmt.Errorf("chown %s: %w", o.RuntimeDir, err)
		}
		if err := os.Chmod(o.RuntimeDir, 0o700); err != nil {
			return 0, fmt.Errorf("chmod %s: %w", o.RuntimeDir, err)
		}
	}
	if err := GiveDirs(o.UserDirs, o.UID, o.GID); err != nil {
		return 0, err
	}
	argv0, err := lookPath(o.Argv[0], env)
	if err != nil {
		return 0, err
	}
	// Capabilities and no_new_privs belong to a thread: drop them, install
	// the filters and start the command on this one thread, never
	// unlocked (the entrypoint only waits afterwards).
	runtime.LockOSThread()
	if err := dropPrivileges(o); err != nil {
		return 0, err
	}
	if o.Chdir != "" {
		if err := os.Chdir(o.Chdir); err != nil {
			return 0, fmt.Errorf("chdir: %w", err)
		}
	}
	// The filter is inherited by the command; the entrypoint itself only
	// waits for it and passes signals on.
	if err := installSeccomp(); err != nil {
		return 0, err
	}
	if !o.UnixGuard {
		return runChild(argv0, o.Argv, env)
	}
	var guard *unixguard.Guard
	status, err := runChildWith(newChild(argv0, o.Argv, env), func(cmd *exec.Cmd) error {
		g, err := startGuarded(cmd, o)
		guard = g
		return err
	})
	if guard != nil {
		guard.Stop()
		if s := guard.Summary(); s != "" {
			fmt.Fprintf(os.Stderr, "claude-sandbox: %s\n", s)
		}
	}
	return status, err
}

// newChild is the command on the entrypoint's standard streams.
func newChild(argv0 string, argv, env []string) *exec.Cmd {
	cmd := exec.Command(argv0)
	cmd.Args = argv
	cmd.Env = env
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	return cmd
}

// startGuarded starts cmd under the Unix socket guard's filter, from the
// calling thread (locked, and the one that dropped the privileges), and
// answers the filter's notifications.
func startGuarded(cmd *exec.Cmd, o *Options) (*unixguard.Guard, error) {
	prog, err := render.UnixGuardProgram(o.UnixSharedNetns)
	if err != nil {
		return nil, err
	}
	// The command may take descriptors from processes it may trace: the
	// entrypoint, which holds the listener, is not one of them.
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		return nil, fmt.Errorf("unix socket guard: %w", err)
	}
	listener, err := unixguard.StartFilteredHere(prog, cmd.Start)
	if err != nil {
		return nil, err
	}
	return unixguard.Serve(listener, unixguard.Config{
		Granted: o.UnixGranted, SharedNetns: o.UnixSharedNetns, OwnNetns: !o.UnixSharedNetns,
		UID: o.UID, GID: o.GID, Groups: o.Groups,
	}), nil
}

// runChild runs the command and waits for it, forwarding the signals a
// container stop or a user sends (an interrupt typed on the terminal
// already reached the command, and is not sent twice).
func runChild(argv0 string, argv, env []string) (int, error) {
	return runChildWith(newChild(argv0, argv, env), (*exec.Cmd).Start)
}

// runChildWith is runChild with the command started by start.
func runChildWith(cmd *exec.Cmd, start func(*exec.Cmd) error) (int, error) {
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGQUIT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGUSR1, syscall.SIGUSR2)
	if err := start(cmd); err != nil {
		return 0, fmt.Errorf("starting %s: %w", cmd.Path, err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	for {
		select {
		case sig := <-sigs:
			if sig == syscall.SIGINT || sig == syscall.SIGQUIT {
				if pgrp, err := unix.IoctlGetInt(0, unix.TIOCGPGRP); err == nil && pgrp == unix.Getpgrp() {
					continue
				}
			}
			cmd.Process.Signal(sig)
		case <-done:
			ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus)
			if ok && ws.Signaled() {
				return 128 + int(ws.Signal()), nil
			}
			return cmd.ProcessState.ExitCode(), nil
		}
	}
}

// GiveDirs gives each existing directory in dirs (created as root for
// mount points) to uid and gid. Links and anything but a directory are
// left alone, and nothing is followed: only the named directory changes.
func GiveDirs(dirs []string, uid, gid int) error {
	for _, d := range dirs {
		var st unix.Stat_t
		if err := unix.Lstat(d, &st); err != nil {
			if os.IsNotExist(err) {
				continue
			}
			return fmt.Errorf("%s: %w", d, err)
		}
		if st.Mode&unix.S_IFMT != unix.S_IFDIR {
			continue
		}
		if err := unix.Lchown(d, uid, gid); err != nil {
			return fmt.Errorf("chown %s: %w", d, err)
		}
	}
	return nil
}

// installSeccomp installs the sandbox's seccomp filter, the one bubblewrap
// gets, on every thread of the process. The container shares the host's
// user namespace, so the filter also refuses new user namespaces (which
// user.max_user_namespaces could only do for the whole host). It needs
// no_new_privs, set by dropPrivileges.
func installSeccomp() error {
	raw, err := render.SeccompRaw(render.SeccompOptions{BlockUserNamespaces: true})
	if err != nil {
		return err
	}
	filter := make([]unix.SockFilter, len(raw))
	for i, ins := range raw {
		filter[i] = unix.SockFilter{Code: ins.Op, Jt: ins.Jt, Jf: ins.Jf, K: ins.K}
	}
	prog := unix.SockFprog{Len: uint16(len(filter)), Filter: &filter[0]}
	_, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, unix.SECCOMP_FILTER_FLAG_TSYNC, uintptr(unsafe.Pointer(&prog)))
	if errno != 0 {
		return fmt.Errorf("installing the seccomp filter: %w", errno)
	}
	return nil
}

// dropPrivileges empties the capability bounding set, sets no_new_privs
// and switches to the user's ids. After setresuid to a non-zero uid the
// kernel clears the permitted, effective and ambient capabilities.
func dropPrivileges(o *Options) error {
	for c := 0; c <= unix.CAP_LAST_CAP; c++ {
		if err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0); err != nil && err != unix.EINVAL {
			return fmt.Errorf("dropping capability %d: %w", c, err)
		}
	}
	if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); err != nil && err != unix.EINVAL {
		return fmt.Errorf("clearing ambient capabilities: %w", err)
	}
	if err := SwitchUser(o.UID, o.GID, o.Groups); err != nil {
		return err
	}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("no_new_privs: %w", err)
	}
	// Root inside keeps no capabilities either, and nobody keeps an
	// inheritable set.
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return fmt.Errorf("capset: %w", err)
	}
	return nil
}

// SwitchUser sets the supplementary groups, then the real, effective and
// saved group and user ids of every thread of the process.
func SwitchUser(uid, gid int, groups []int) error {
	if err := syscall.Setgroups(groups); err != nil {
		return fmt.Errorf("setgroups: %w", err)
	}
	if err := syscall.Setresgid(gid, gid, gid); err != nil {
		return fmt.Errorf("setresgid: %w", err)
	}
	if err := syscall.Setresuid(uid, uid, uid); err != nil {
		return fmt.Errorf("setresuid: %w", err)
	}
	return nil
}

// lookPath finds name on the PATH of env.
func lookPath(name string, env []string) (string, error) {
	if strings.Contains(name, "/") {
		return name, nil
	}
	path := ""
	for _, e := range env {
		if v, ok := strings.CutPrefix(e, "PATH="); ok {
			path = v
		}
	}
	for _, dir := range filepath.SplitList(path) {
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found on PATH %s", name, path)
}
