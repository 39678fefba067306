package backends

import (
	"fmt"
	"os"
	"os/exec"
	"syscall"

	"github.com/claude-sandbox/claude-sandbox/backends/container"
	"github.com/claude-sandbox/claude-sandbox/profile"
	"github.com/claude-sandbox/claude-sandbox/render"
	"golang.org/x/sys/unix"
)

// runBwrap launches the bubblewrap sandbox. Unless the network mode needs
// the launcher to stay (the egress proxy), it replaces itself with bwrap,
// so no launcher process stays resident; the generated files reach bwrap
// on inherited memory file descriptors and never touch the disk.
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
	if err != nil {
		return 0, err
	}
	launchNotes(stdio.Stderr, plan.Notes)
	lim, err := newRunLimits(plan, h)
	if err != nil {
		undo()
		return 0, err
	}
	if render.NetworkFor(p, h, profile.Bubblewrap).Proxy || plan.DBusProxy != nil || len(plan.Network) > 0 || len(plan.Placeholders) > 0 {
		// The launcher stays to serve the proxy, run the D-Bus proxy or the
		// network helper, or to remove the placeholders of missing
		// protected paths at exit.
		defer undo()
		defer lim.Close()
		return superviseBwrap(p, h, plan, lim, stdio)
	}
	// The launcher becomes bwrap: it joins the run's cgroup (which a
	// later launch removes once empty) and takes the rlimits along.
	if err := lim.JoinCgroup(); err != nil {
		lim.Close()
		return 0, err
	}
	if h.Root && h.UID != 0 {
		// Through sudo the sandbox is the invoking user's: bwrap runs as
		// that user, never as root.
		if err := container.SwitchUser(h.UID, h.GID, h.Groups); err != nil {
			return 0, err
		}
	}
	if err := placeFiles(plan.Files); err != nil {
		return 0, err
	}
	if err := lim.SetRlimits(); err != nil {
		return 0, err
	}
	err = unix.Exec(plan.Argv[0], plan.Argv, plan.Env)
	return 0, fmt.Errorf("exec %s: %w", plan.Argv[0], err)
}

// placeFiles puts each generated file with a descriptor number on exactly
// that descriptor (render.FirstFD and up, above the runtime's own),
// inheritable across exec. The contents live in memory files; they are
// first moved above the target range so that placing one never closes
// another.
func placeFiles(files []render.GeneratedFile) error {
	high := make([]int, len(files))
	for i, f := range files {
		fd, err := unix.MemfdCreate("claude-sandbox", unix.MFD_CLOEXEC)
		if err != nil {
			return fmt.Errorf("memfd: %w", err)
		}
		if _, err := unix.Pwrite(fd, f.Content, 0); err != nil {
			return fmt.Errorf("memfd: %w", err)
		}
		moved, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 200)
		if err != nil {
			return fmt.Errorf("memfd: %w", err)
		}
		unix.Close(fd)
		high[i] = moved
	}
	for i, f := range files {
		if f.FD == 0 {
			continue
		}
		if err := unix.Dup3(high[i], f.FD, 0); err != nil {
			return fmt.Errorf("placing fd %d: %w", f.FD, err)
		}
	}
	return nil
}

// superviseBwrap runs bwrap as a child while the launcher serves the
// network proxy, runs the D-Bus proxy or keeps the network helper it
// attached, then cleans up.
func superviseBwrap(p *profile.Policy, h *render.Host, plan *render.Plan, lim *runLimits, stdio IO) (int, error) {
	dir, err := createRunDir(h, h.UID, h.GID)
	if err != nil {
		return 0, err
	}
	defer dir.remove()
	if plan.DBusProxy != nil {
		stop, err := startDBusProxy(plan.DBusProxy, h, stdio.Stderr)
		if err != nil {
			return 0, err
		}
		defer stop()
	}
	if render.NetworkFor(p, h, profile.Bubblewrap).Proxy {
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
	// bwrap dies with the launcher, so a killed launcher leaves no
	// sandbox running (nor its cgroup populated).
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if h.Root && h.UID != 0 {
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: uint32(h.UID), Gid: uint32(h.GID), Groups: uint32s(h.Groups)}
	}
	for _, f := range plan.Files {
		r, err := memFile(f.Content)
		if err != nil {
			return 0, err
		}
		for len(cmd.ExtraFiles) < f.FD-3 {
			cmd.ExtraFiles = append(cmd.ExtraFiles, nil)
		}
		cmd.ExtraFiles = append(cmd.ExtraFiles, r)
	}
	lim.Cmd(cmd)
	return superviseStart(cmd, lim.StartWith(start), nil)
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
