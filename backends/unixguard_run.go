package backends

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"

	"github.com/claude-sandbox/claude-sandbox/backends/unixguard"
	"github.com/claude-sandbox/claude-sandbox/render"
	"golang.org/x/sys/unix"
)

// unixGuardRun is a run's Unix socket guard: the channel on which the
// helper in front of the sandbox hands over its filter's listener, then
// the service answering it.
type unixGuardRun struct {
	plan   *render.UnixGuard
	h      *render.Host
	ours   *os.File
	theirs *os.File
	guard  *unixguard.Guard
	// logMu guards the log of refused connects, opened on the first
	// refusal (logOpened).
	logMu     sync.Mutex
	logOpened bool
	log       *os.File
	logPath   string
	// release ends the launcher's thread that started the sandbox with
	// the filter (no helper), once the sandbox has ended.
	release func()
}

// prepareUnixGuard passes the helper's end of the channel to cmd; start
// (see wrap) receives the listener once cmd runs. A plan without a
// helper needs none: the launcher starts cmd with the filter itself.
func prepareUnixGuard(g *render.UnixGuard, h *render.Host, cmd *exec.Cmd) (*unixGuardRun, error) {
	if g.Helper == "" {
		return &unixGuardRun{plan: g, h: h}, nil
	}
	pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("unix socket guard: %w", err)
	}
	r := &unixGuardRun{plan: g, h: h, ours: os.NewFile(uintptr(pair[0]), "guard"), theirs: os.NewFile(uintptr(pair[1]), "guard-helper")}
	for len(cmd.ExtraFiles) <= render.UnixGuardFD-3 {
		cmd.ExtraFiles = append(cmd.ExtraFiles, nil)
	}
	cmd.ExtraFiles[render.UnixGuardFD-3] = r.theirs
	return r, nil
}

// wrap returns start followed by taking the listener and serving it. A
// helper that cannot install the filter ends, and the launch fails with
// its message: the sandbox never runs unguarded.
func (r *unixGuardRun) wrap(start func(*exec.Cmd) error) func(*exec.Cmd) error {
	return func(cmd *exec.Cmd) error {
		listener, diag, err := r.start(start, cmd)
		if err != nil {
			return err
		}
		r.guard = unixguard.Serve(listener, unixguard.Config{
			Granted: r.plan.Granted, Private: r.plan.Private, SharedNetns: r.plan.SharedNetns, Diag: diag,
			UID: r.h.UID, GID: r.h.GID, Groups: r.h.Groups, Log: refusalLog{r},
		})
		return nil
	}
}

// start starts cmd with the filter and returns its listener, and the
// sock_diag socket a helper in the sandbox's network namespace sends.
func (r *unixGuardRun) start(start func(*exec.Cmd) error, cmd *exec.Cmd) (listener, diag *os.File, err error) {
	if r.plan.Helper == "" {
		// bwrap is the launcher's child: it is started from a thread
		// of the launcher that carries the filter, with no second
		// start of the launcher in front of it.
		listener, r.release, err = unixguard.StartHeld(r.plan.Filter, func() error { return start(cmd) })
		return listener, nil, err
	}
	err = start(cmd)
	r.theirs.Close()
	if err != nil {
		return nil, nil, err
	}
	listener, diag, err = unixguard.Receive(r.ours)
	if err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		return nil, nil, fmt.Errorf("%w (this host cannot run the Unix socket guard; unix_sockets = \"all\" runs without it)", err)
	}
	return listener, diag, nil
}

// refusalLog writes to the run's log of refused connects, which it opens
// on the first refusal: a run without one creates no file.
type refusalLog struct{ r *unixGuardRun }

func (l refusalLog) Write(p []byte) (int, error) {
	r := l.r
	r.logMu.Lock()
	defer r.logMu.Unlock()
	if !r.logOpened {
		r.logOpened = true
		// The refusal is reported from a thread that may hold the
		// sandbox user's ids for its call: the log is opened from
		// another, as the launcher.
		opened := make(chan struct{})
		go func() {
			r.openLog()
			close(opened)
		}()
		<-opened
	}
	if r.log == nil {
		return len(p), nil
	}
	return r.log.Write(p)
}

// openLog opens the run's log of refused connects next to the egress
// log.
func (r *unixGuardRun) openLog() {
	if r.h.StateDir == "" {
		return
	}
	dir := filepath.Join(filepath.Dir(filepath.Dir(r.h.StateDir)), "logs")
	if err := mkdirAllOwned(dir, r.h, func(p string) error { return chownToUser(p, r.h) }); err != nil {
		return
	}
	r.logPath = filepath.Join(dir, "unix-sockets-"+r.h.RunID+".log")
	f, err := os.OpenFile(r.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return
	}
	chownToUser(r.logPath, r.h)
	r.log = f
}

// stop ends the service and prints the summary of refused connects to w.
func (r *unixGuardRun) stop(w io.Writer) {
	if r.release != nil {
		r.release()
	}
	if r.ours != nil {
		r.ours.Close()
		r.theirs.Close()
	}
	if r.guard == nil {
		return
	}
	r.guard.Stop()
	s := r.guard.Summary()
	r.logMu.Lock()
	// A refusal still being answered after this writes nowhere.
	r.logOpened = true
	logged := r.log != nil
	if logged {
		r.log.Close()
		r.log = nil
	}
	r.logMu.Unlock()
	if s != "" {
		if logged {
			fmt.Fprintf(w, "claude-sandbox: %s (log: %s)\n", s, r.logPath)
		} else {
			fmt.Fprintf(w, "claude-sandbox: %s\n", s)
		}
	}
}
