package backends

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/claude-sandbox/claude-sandbox/render"
	"golang.org/x/sys/unix"
)

// runDir is a run's private directory. It is created 0700 and must not
// exist before; remove never crosses into a file system mounted below it,
// so a bind mount left behind can never take host files with it.
type runDir struct {
	path string
}

// createRunDir creates h.RunDir, owned by owner (the invoking user when
// the sandbox process runs as that user).
func createRunDir(h *render.Host, uid, gid int) (*runDir, error) {
	sweepRunDirs(filepath.Dir(h.RunDir))
	if err := os.Mkdir(h.RunDir, 0o700); err != nil {
		return nil, fmt.Errorf("creating the run directory: %w", err)
	}
	if err := os.WriteFile(filepath.Join(h.RunDir, "pid"), []byte(strconv.Itoa(os.Getpid())), 0o600); err != nil {
		os.Remove(h.RunDir)
		return nil, fmt.Errorf("run directory: %w", err)
	}
	if os.Getuid() == 0 && uid != 0 {
		if err := os.Chown(h.RunDir, uid, gid); err != nil {
			os.Remove(h.RunDir)
			return nil, fmt.Errorf("run directory: %w", err)
		}
	}
	return &runDir{path: h.RunDir}, nil
}

// sweepRunDirs removes run directories in base that this user's earlier
// launchers left behind when they were killed (SIGKILL cannot be
// caught): those whose launcher process no longer exists.
func sweepRunDirs(base string) {
	dirs, _ := filepath.Glob(filepath.Join(base, "claude-sandbox-"+strconv.Itoa(os.Getuid())+"-*"))
	for _, d := range dirs {
		data, err := os.ReadFile(filepath.Join(d, "pid"))
		if err != nil {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
		if err != nil || pid <= 0 {
			continue
		}
		if err := unix.Kill(pid, 0); errors.Is(err, unix.ESRCH) {
			(&runDir{path: d}).remove()
		}
	}
}

// remove deletes the run directory without crossing mount points.
func (d *runDir) remove() error {
	var root unix.Stat_t
	if err := unix.Lstat(d.path, &root); err != nil {
		if errors.Is(err, unix.ENOENT) {
			return nil
		}
		return err
	}
	return removeSameDevice(d.path, root.Dev)
}

// removeSameDevice removes path and everything below it that lives on
// device dev. A directory on another device (a mount) is detached if it
// can be, and left alone otherwise.
func removeSameDevice(path string, dev uint64) error {
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		if errors.Is(err, unix.ENOENT) {
			return nil
		}
		return err
	}
	if st.Dev != dev {
		if err := unix.Unmount(path, unix.MNT_DETACH); err != nil {
			return fmt.Errorf("%s is still mounted: %w", path, err)
		}
		if err := unix.Lstat(path, &st); err != nil || st.Dev != dev {
			return fmt.Errorf("%s is still mounted", path)
		}
	}
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		entries, err := os.ReadDir(path)
		if err != nil {
			return err
		}
		var first error
		for _, e := range entries {
			if err := removeSameDevice(filepath.Join(path, e.Name()), dev); err != nil && first == nil {
				first = err
			}
		}
		if first != nil {
			return first
		}
	}
	return os.Remove(path)
}

// materialize creates what plan asks for on the host before a launch:
// host directories (owned by the user), placeholders of missing protected
// paths, seed copies, directories, generated files and symlinks inside a
// prepared root. It returns the function that removes the placeholders
// again at exit (while they are still empty).
func materialize(plan *render.Plan, h *render.Host) (func(), error) {
	undo := func() {}
	if err := materializeDirs(plan, h); err != nil {
		return undo, err
	}
	undo, err := createPlaceholders(plan.Placeholders, h)
	if err != nil {
		return func() {}, err
	}
	if err := materializeFiles(plan, h); err != nil {
		undo()
		return func() {}, err
	}
	return undo, nil
}

// materializeDirs creates the plan's host directories.
func materializeDirs(plan *render.Plan, h *render.Host) error {
	chown := func(p string) error {
		if os.Getuid() == 0 && h.UID != 0 {
			return os.Lchown(p, h.UID, h.GID)
		}
		return nil
	}
	for _, d := range plan.HostDirs {
		if err := mkdirAllOwned(d, h, chown); err != nil {
			return err
		}
	}
	return nil
}

// materializeFiles creates the plan's seeds, root directories, generated
// files and symlinks.
func materializeFiles(plan *render.Plan, h *render.Host) error {
	chown := func(p string) error {
		if os.Getuid() == 0 && h.UID != 0 {
			return os.Lchown(p, h.UID, h.GID)
		}
		return nil
	}
	for _, d := range plan.Dirs {
		if err := os.MkdirAll(d.Path, 0o755); err != nil {
			return fmt.Errorf("creating %s: %w", d.Path, err)
		}
		if err := os.Chmod(d.Path, os.FileMode(d.Mode)&os.ModePerm|modeBits(d.Mode)); err != nil {
			return err
		}
		if d.UserOwned {
			if err := chown(d.Path); err != nil {
				return err
			}
		}
	}
	for _, s := range plan.Seed {
		if err := seed(s, chown); err != nil {
			return err
		}
	}
	for _, f := range plan.Files {
		if f.FD != 0 {
			continue
		}
		if err := os.MkdirAll(filepath.Dir(f.Path), 0o755); err != nil {
			return fmt.Errorf("creating %s: %w", filepath.Dir(f.Path), err)
		}
		if err := os.WriteFile(f.Path, f.Content, os.FileMode(f.Mode)); err != nil {
			return fmt.Errorf("writing %s: %w", f.Path, err)
		}
		if err := os.Chmod(f.Path, os.FileMode(f.Mode)); err != nil {
			return err
		}
	}
	for _, l := range plan.Symlinks {
		if err := os.MkdirAll(filepath.Dir(l.Path), 0o755); err != nil {
			return fmt.Errorf("creating %s: %w", filepath.Dir(l.Path), err)
		}
		if err := os.Symlink(l.Target, l.Path); err != nil {
			return fmt.Errorf("creating link %s: %w", l.Path, err)
		}
	}
	return nil
}

// modeBits keeps the sticky bit of a directory mode.
func modeBits(mode uint32) os.FileMode {
	if mode&0o1000 != 0 {
		return os.ModeSticky
	}
	return 0
}

// mkdirAllOwned creates dir and its missing parents below the user's home
// as the user's, mode 0700.
func mkdirAllOwned(dir string, h *render.Host, chown func(string) error) error {
	var missing []string
	for p := dir; p != "/" && p != "."; p = filepath.Dir(p) {
		if _, err := os.Lstat(p); err == nil {
			break
		}
		missing = append(missing, p)
	}
	for i := len(missing) - 1; i >= 0; i-- {
		if err := os.Mkdir(missing[i], 0o700); err != nil && !os.IsExist(err) {
			return fmt.Errorf("creating %s: %w", missing[i], err)
		}
		if err := chown(missing[i]); err != nil {
			return err
		}
	}
	return nil
}

// seed copies s.From to s.To unless To exists.
func seed(s render.SeedFile, chown func(string) error) error {
	in, err := os.Open(s.From)
	if err != nil {
		if os.IsNotExist(err) {
			return nil
		}
		return fmt.Errorf("seeding %s: %w", s.To, err)
	}
	defer in.Close()
	out, err := os.OpenFile(s.To, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if os.IsExist(err) {
			return nil
		}
		return fmt.Errorf("seeding %s: %w", s.To, err)
	}
	_, err = io.Copy(out, in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(s.To)
		return fmt.Errorf("seeding %s: %w", s.To, err)
	}
	return chown(s.To)
}

// supervise runs cmd as a child, forwards SIGINT, SIGTERM and SIGHUP to it
// (as forward, when given, turns them into something else), and returns
// its exit status: its own, or 128+N when signal N killed it. When the
// launcher itself was sent one of those signals, the status is 128+N for
// the first of them, whatever the child reports after it: a run that was
// interrupted never looks like a success or like the launcher's own
// failure; interrupted says so. A SIGINT typed on the terminal the
// sandbox shares reaches the command directly; it is neither forwarded a
// second time nor counted.
func supervise(cmd *exec.Cmd, forward func(os.Signal)) (status int, interrupted bool, err error) {
	return superviseStart(cmd, (*exec.Cmd).Start, forward)
}

// superviseStart is supervise with cmd started by start (inside a
// network namespace the launcher made, or inside the run's cgroup).
func superviseStart(cmd *exec.Cmd, start func(*exec.Cmd) error, forward func(os.Signal)) (status int, interrupted bool, err error) {
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)
	// What the child leaves behind when it dies first (bwrap's process
	// inside the sandbox, a container's init) becomes the launcher's, so
	// that the run ends only when the sandbox has.
	unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
	defer reapOrphans()
	if err := start(cmd); err != nil {
		return 0, false, err
	}
	done := make(chan error, 1)
	go func() {
		awaitExit(cmd.Process.Pid)
		done <- cmd.Wait()
	}()
	received := 0
	for {
		select {
		case sig := <-sigs:
			if sig == syscall.SIGINT && fromTerminal() {
				continue
			}
			if received == 0 {
				received = int(sig.(syscall.Signal))
			}
			if forward != nil {
				forward(sig)
			} else {
				cmd.Process.Signal(sig)
			}
		case err := <-done:
			status, err := exitStatus(cmd, err)
			if received != 0 {
				return 128 + received, true, nil
			}
			return status, false, err
		}
	}
}

// awaitExit returns once the child pid has ended (or at once where the
// kernel has no process descriptors), leaving it to be reaped. It waits
// in the runtime's poller rather than in a blocking system call: the
// launcher then sits idle for the sandbox's whole life instead of
// polling its own blocked thread many times a second.
func awaitExit(pid int) {
	fd, err := unix.PidfdOpen(pid, unix.PIDFD_NONBLOCK)
	if err != nil {
		return
	}
	f := os.NewFile(uintptr(fd), "pidfd")
	defer f.Close()
	rc, err := f.SyscallConn()
	if err != nil {
		return
	}
	// A process descriptor reads as ready once the process has ended;
	// each wake-up (the first call included) checks, without reaping.
	rc.Read(func(uintptr) bool {
		var info unix.Siginfo
		err := unix.Waitid(unix.P_PIDFD, fd, &info, unix.WEXITED|unix.WNOHANG|unix.WNOWAIT, nil)
		return err != nil || info.Signo != 0
	})
}

// reapOrphans ends what the sandbox left behind when its top process
// died first (it was reparented to the launcher): each leftover child is
// killed, which ends a PID namespace it is the init of, and waited for,
// up to a bound, so the exit audit never runs beside a live sandbox.
func reapOrphans() {
	kids := children()
	if len(kids) == 0 {
		return
	}
	for _, pid := range kids {
		unix.Kill(pid, unix.SIGKILL)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			var ws unix.WaitStatus
			if _, err := unix.Wait4(-1, &ws, 0, nil); errors.Is(err, unix.ECHILD) {
				return
			} else if err != nil && !errors.Is(err, unix.EINTR) {
				return
			}
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
	}
}

// children lists the launcher's child processes.
func children() []int {
	tasks, _ := os.ReadDir("/proc/self/task")
	var out []int
	for _, t := range tasks {
		data, err := os.ReadFile("/proc/self/task/" + t.Name() + "/children")
		if err != nil {
			continue
		}
		for _, f := range strings.Fields(string(data)) {
			if pid, err := strconv.Atoi(f); err == nil {
				out = append(out, pid)
			}
		}
	}
	return out
}

// fromTerminal reports whether the launcher is in the foreground process
// group of the terminal on its standard input, where a typed interrupt
// reaches every process of the group, the sandboxed command included.
func fromTerminal() bool {
	pgrp, err := unix.IoctlGetInt(0, unix.TIOCGPGRP)
	return err == nil && pgrp == unix.Getpgrp()
}

// exitStatus maps a finished command to a shell-style status.
func exitStatus(cmd *exec.Cmd, err error) (int, error) {
	if cmd.ProcessState == nil {
		return 0, err
	}
	ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if !ok {
		return cmd.ProcessState.ExitCode(), nil
	}
	if ws.Signaled() {
		return 128 + int(ws.Signal()), nil
	}
	return ws.ExitStatus(), nil
}

// userNamespacesUsable explains why this host cannot create unprivileged
// user namespaces, or returns nil.
func userNamespacesUsable() error {
	read := func(p string) string {
		b, _ := os.ReadFile(p)
		return strings.TrimSpace(string(b))
	}
	if read("/proc/sys/user/max_user_namespaces") == "0" {
		return errors.New("user namespaces are disabled (user.max_user_namespaces = 0): enable them with sysctl -w user.max_user_namespaces=15000")
	}
	if read("/proc/sys/kernel/unprivileged_userns_clone") == "0" {
		return errors.New("unprivileged user namespaces are disabled (kernel.unprivileged_userns_clone = 0): enable them with sysctl -w kernel.unprivileged_userns_clone=1")
	}
	if read("/proc/sys/kernel/apparmor_restrict_unprivileged_userns") == "1" {
		return errors.New("AppArmor restricts unprivileged user namespaces (kernel.apparmor_restrict_unprivileged_userns = 1): install an AppArmor profile for bwrap that allows userns, or set the sysctl to 0")
	}
	return nil
}

// launchNotes prints, one line each on stderr, the notes about host
// resources the policy asks to forward (display, audio, GPU, D-Bus, SSH
// agent: all off by default) that this host cannot give, so the user
// learns at launch what explain says. The run goes on without them.
func launchNotes(w io.Writer, notes []string) {
	for _, n := range notes {
		for _, key := range []string{"display", "audio", "gpu", "dbus", "ssh_agent"} {
			if strings.HasPrefix(n, "forward."+key+": ") {
				fmt.Fprintln(w, "claude-sandbox: "+n)
			}
		}
	}
}
