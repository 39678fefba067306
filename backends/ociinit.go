package backends

import (
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/claude-sandbox/claude-sandbox/backends/unixguard"
	"github.com/claude-sandbox/claude-sandbox/render"
	"golang.org/x/sys/unix"
)

// ociInitMain is an oci container's init (PID 1): args are its name, the
// Unix socket guard's options (see render.UnixGuard.Args), "--" and the
// command. It starts the command as its child, passes on the
// signals a PID 1 would otherwise ignore (an interrupt typed on the
// terminal already reached the command), reaps every orphan, and returns
// the command's status (128+N when signal N killed it). When descriptor 3,
// the launcher's lifeline, reaches end of file (the launcher died), it
// kills everything in the container. It first writes a byte on
// descriptor 4: the sandbox is set up.
func ociInitMain(args []string) int {
	guardOpts, rest, err := unixguard.ParseInitArgs(args[1:])
	if err != nil {
		fmt.Fprintf(os.Stderr, "claude-sandbox: %v\n", err)
		return 125
	}
	args = append([]string{args[0]}, rest...)
	if len(args) < 3 || args[1] != "--" {
		fmt.Fprintln(os.Stderr, "claude-sandbox: usage: claude-sandbox-init [--unix-guard ...] -- COMMAND...")
		return 125
	}
	// The sandbox is set up: say so to the launcher.
	if started := os.NewFile(4, "started"); started != nil {
		started.Write([]byte{1})
		started.Close()
	}
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGQUIT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGCHLD)
	argv0, err := lookPathEnv(args[2], os.Getenv("PATH"))
	if err != nil {
		fmt.Fprintf(os.Stderr, "claude-sandbox: %v\n", err)
		return 127
	}
	// The lifeline stays out of the command.
	unix.CloseOnExec(3)
	wd, _ := os.Getwd()
	var pid int
	start := func() error {
		var err error
		pid, err = syscall.ForkExec(argv0, args[2:], &syscall.ProcAttr{Dir: wd, Env: os.Environ(), Files: []uintptr{0, 1, 2}})
		return err
	}
	if guardOpts.On {
		guard, err := startOCIGuarded(guardOpts, start)
		if err != nil {
			fmt.Fprintf(os.Stderr, "claude-sandbox: starting %s: %v\n", args[2], err)
			return 126
		}
		defer func() {
			guard.Stop()
			if s := guard.Summary(); s != "" {
				fmt.Fprintf(os.Stderr, "claude-sandbox: %s\n", s)
			}
		}()
	} else if err := start(); err != nil {
		fmt.Fprintf(os.Stderr, "claude-sandbox: starting %s: %v\n", args[2], err)
		return 126
	}
	lifeline := os.NewFile(3, "lifeline")
	if lifeline != nil {
		go func() {
			var b [1]byte
			for {
				if _, err := lifeline.Read(b[:]); err != nil {
					unix.Kill(-1, unix.SIGKILL)
					os.Exit(137)
				}
			}
		}()
	}
	for sig := range sigs {
		if sig != syscall.SIGCHLD {
			if sig == syscall.SIGINT || sig == syscall.SIGQUIT {
				if pgrp, err := unix.IoctlGetInt(0, unix.TIOCGPGRP); err == nil && pgrp == unix.Getpgrp() {
					continue
				}
			}
			syscall.Kill(pid, sig.(syscall.Signal))
			continue
		}
		for {
			var ws syscall.WaitStatus
			got, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
			if err != nil || got <= 0 {
				break
			}
			if got == pid {
				// The command is done: what it left behind ends with
				// this init.
				if ws.Signaled() {
					return 128 + int(ws.Signal())
				}
				return ws.ExitStatus()
			}
		}
	}
	return 125
}

// startOCIGuarded starts the command with start under the Unix socket
// guard's filter and answers its notifications.
func startOCIGuarded(o unixguard.InitOptions, start func() error) (*unixguard.Guard, error) {
	prog, err := render.UnixGuardProgram(o.SharedNetns)
	if err != nil {
		return nil, err
	}
	// The command may take descriptors from processes it may trace: the
	// init, which holds the listener, is not one of them.
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		return nil, fmt.Errorf("unix socket guard: %w", err)
	}
	listener, err := unixguard.StartFiltered(prog, start)
	if err != nil {
		return nil, err
	}
	return unixguard.Serve(listener, unixguard.Config{
		Granted: o.Granted, SharedNetns: o.SharedNetns, OwnNetns: !o.SharedNetns,
		UID: os.Geteuid(), GID: os.Getegid(),
	}), nil
}

// lookPathEnv finds name on path (names with a slash are taken as they are).
func lookPathEnv(name, path string) (string, error) {
	for _, c := range name {
		if c == '/' {
			return name, nil
		}
	}
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			dir = "."
		}
		p := dir + "/" + name
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s: command not found", name)
}
