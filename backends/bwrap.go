package backends

import (
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"

	"github.com/claude-sandbox/claude-sandbox/profile"
	"github.com/claude-sandbox/claude-sandbox/render"
	"golang.org/x/sys/unix"
)

// runBwrap launches the bubblewrap sandbox. The launcher stays bwrap's
// parent: it forwards signals, serves the egress proxy, runs the D-Bus
// proxy or the network helper when the policy needs them, removes the
// placeholders of missing protected paths, and audits the project when
// the command ends. The generated files reach bwrap on inherited memory
// file descriptors and never touch the disk.
func runBwrap(p *profile.Policy, h *render.Host, stdio IO) (int, error) {
	if !h.Is(p.ProjectDir, render.Dir) {
		return 0, fmt.Errorf("project dir %s does not exist", p.ProjectDir)
	}
	if !h.Root {
		if err := userNamespacesUsable(); err != nil {
			return 0, err
		}
	}
	plan, err := render.Bwrap(p, h)
	if err != nil {
		return 0, err
	}
	undo, err := materialize(plan, h)
	defer undo()
	if err != nil {
		return 0, err
	}
	launchNotes(stdio.Stderr, plan.Notes)
	lim, err := newRunLimits(plan, h)
	if err != nil {
		return 0, err
	}
	defer lim.Close()
	network := render.NetworkFor(p, h, profile.Bubblewrap)
	if plan.DBusProxy != nil || network.Proxy || usesRunDir(plan, h.RunDir) {
		dir, err := createRunDir(h, h.UID, h.GID)
		if err != nil {
			return 0, err
		}
		defer dir.remove()
	}
	if plan.DBusProxy != nil {
		stop, err := startDBusProxy(plan.DBusProxy, h, stdio.Stderr)
		if err != nil {
			return 0, err
		}
		defer stop()
	}
	if network.Proxy {
		stop, err := startEgress(p, h, stdio.Stderr)
		if err != nil {
			return 0, err
		}
		defer stop()
	}
	start, stopNetwork, err := startIn(plan.Network)
	if err != nil {
		return 0, err
	}
	defer stopNetwork()
	cmd := exec.Command(plan.Argv[0], plan.Argv[1:]...)
	cmd.Env = plan.Env
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	// bwrap's --die-with-parent ends the sandbox if the launcher is
	// killed; the parent-death signal also covers a pasta in front of it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if h.Root && h.UID != 0 {
		// Through sudo the sandbox is the invoking user's: bwrap runs as
		// that user, never as root.
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: uint32(h.UID), Gid: uint32(h.GID), Groups: uint32s(h.Groups)}
	}
	for _, f := range plan.Files {
		if f.FD == 0 {
			continue
		}
		r, err := memFile(f.Content)
		if err != nil {
			return 0, err
		}
		defer r.Close()
		for len(cmd.ExtraFiles) <= f.FD-3 {
			cmd.ExtraFiles = append(cmd.ExtraFiles, nil)
		}
		cmd.ExtraFiles[f.FD-3] = r
	}
	// bwrap itself, or the guard helper that executes it in the same
	// process, is the child the limits can be set on from outside.
	at := slices.Index(cmd.Args, h.Tools["bwrap"])
	if at >= 0 && len(network.Prefix) == 0 && cmd.SysProcAttr.Credential == nil {
		if err := lim.GateBwrap(cmd, at); err != nil {
			return 0, err
		}
	} else if guard := slices.Index(cmd.Args, render.UnixGuardArg); plan.UnixGuard != nil && guard >= 0 {
		// A network program in front forks the guard's helper, a
		// start of the launcher that executes bwrap: it sets the
		// limits on itself.
		lim.GateGuardHelper(cmd, guard)
	} else {
		// A network program in front forks bwrap, and a bwrap of
		// another user (through sudo) takes limits from a launcher
		// without CAP_SYS_RESOURCE only from inside: the child starts
		// under the limits, through the helper.
		lim.Cmd(cmd)
	}
	startWith := lim.StartWith(start)
	if plan.UnixGuard != nil {
		g, err := prepareUnixGuard(plan.UnixGuard, h, cmd)
		if err != nil {
			return 0, err
		}
		defer g.stop(stdio.Stderr)
		startWith = g.wrap(startWith)
	}
	status, _, err := superviseStart(cmd, startWith, nil)
	return status, err
}

// usesRunDir reports whether plan names anything in the run directory
// dir (a helper, a socket, a generated file): a plan that does not, such
// as one without a proxy, a network helper or a D-Bus proxy, runs
// without creating it.
func usesRunDir(plan *render.Plan, dir string) bool {
	words := slices.Concat(plan.Argv, plan.Env, plan.Network, plan.HostDirs)
	for _, f := range plan.Files {
		words = append(words, f.Path)
	}
	for _, d := range plan.Dirs {
		words = append(words, d.Path)
	}
	for _, l := range plan.Symlinks {
		words = append(words, l.Path)
	}
	for _, sf := range plan.Seed {
		words = append(words, sf.To)
	}
	return slices.ContainsFunc(words, func(w string) bool { return strings.Contains(w, dir) })
}

// memFile returns a file holding content, positioned at its start.
func memFile(content []byte) (*os.File, error) {
	fd, err := unix.MemfdCreate("claude-sandbox", unix.MFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("memfd: %w", err)
	}
	f := os.NewFile(uintptr(fd), "memfd")
	if _, err := f.Write(content); err != nil {
		f.Close()
		return nil, fmt.Errorf("memfd: %w", err)
	}
	if _, err := f.Seek(0, 0); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

func uint32s(v []int) []uint32 {
	out := make([]uint32, len(v))
	for i, n := range v {
		out[i] = uint32(n)
	}
	return out
}
