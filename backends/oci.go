package backends

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/claude-sandbox/claude-sandbox/profile"
	"github.com/claude-sandbox/claude-sandbox/render"
	"golang.org/x/sys/unix"
)

// runOCI runs the policy as an OCI runtime bundle: it writes the bundle
// into the run's private directory, runs it with crun or runc (rootless
// as the invoking user, or as root with the command still run as that
// user), forwards signals, and on every way out deletes the container and
// the bundle.
func runOCI(p *profile.Policy, h *render.Host, stdio IO) (int, error) {
	if !h.Is(p.ProjectDir, render.Dir) {
		return 0, fmt.Errorf("project dir %s does not exist", p.ProjectDir)
	}
	if !h.Root {
		if err := userNamespacesUsable(); err != nil {
			return 0, err
		}
	}
	plan, err := render.OCI(p, h)
	if err != nil {
		return 0, err
	}
	launchNotes(stdio.Stderr, plan.Notes)
	// Rootless the runtime runs as the user, who owns the run directory;
	// as root it stays root's.
	dir, err := createRunDir(h, 0, 0)
	if err != nil {
		return 0, err
	}
	defer dir.remove()
	undo, err := materialize(plan, h)
	defer undo()
	if err != nil {
		return 0, err
	}
	stopProxies, err := startProxies(p, h, plan, profile.OCI, stdio.Stderr)
	if err != nil {
		return 0, err
	}
	defer stopProxies()
	// Whatever happens, the runtime forgets the container before the run
	// directory holding its state goes (deferred below).
	cmd := exec.Command(plan.Argv[0], plan.Argv[1:]...)
	cmd.Env = plan.Env
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	// The lifeline: the container's init kills the sandbox when its end
	// reads end of file, which the launcher's death causes.
	lifeR, lifeW, err := os.Pipe()
	if err != nil {
		return 0, err
	}
	defer lifeW.Close()
	// The init writes a byte here once the command runs: a runtime that
	// ends without it failed to set the sandbox up.
	startedR, startedW, err := os.Pipe()
	if err != nil {
		return 0, err
	}
	defer startedR.Close()
	cmd.ExtraFiles = []*os.File{lifeR, startedW}
	// start starts the runtime and then closes the launcher's copies of
	// the ends the runtime inherits.
	var start func(*exec.Cmd) error
	rt, _, _ := ociRuntimeArgs(plan)
	if render.OCIOuterNamespace(h, rt) {
		var err error
		var inner func(*exec.Cmd) error
		var stopNetwork func()
		if cmd, inner, stopNetwork, err = ociInNamespace(cmd, h, plan.Network); err != nil {
			return 0, err
		}
		defer stopNetwork()
		start = func(c *exec.Cmd) error {
			err := inner(c)
			lifeR.Close()
			startedW.Close()
			return err
		}
		defer ociDeleteIn(h, plan)
	} else {
		netStart, stopNetwork, err := startIn(plan.Network)
		if err != nil {
			return 0, err
		}
		defer stopNetwork()
		start = func(c *exec.Cmd) error {
			err := netStart(c)
			lifeR.Close()
			startedW.Close()
			return err
		}
		defer ociDelete(plan, nil)
	}
	if !h.Root {
		lim, err := newRunLimits(plan, h)
		if err != nil {
			return 0, err
		}
		defer lim.Close()
		start = lim.StartWith(start)
	}
	status, interrupted, err := superviseStart(cmd, start, nil)
	if err != nil || interrupted {
		return status, err
	}
	startedR.SetReadDeadline(time.Now().Add(time.Second))
	if n, _ := startedR.Read(make([]byte, 1)); n != 1 {
		return 0, fmt.Errorf("%s could not start the sandbox (status %d; its message is above)", filepath.Base(rt), status)
	}
	return status, nil
}

// ociUserNSHelper is the launcher's helper mode that waits in a new user
// namespace until the launcher has mapped it, then becomes its root and
// executes the runtime.
const ociUserNSHelper = "claude-sandbox-oci-userns"

// ociInNamespace wraps cmd (the runtime) so that it runs as root of a new
// user namespace mapping 0 to the user's ids and 1 to their first
// subordinate ids: the launcher starts its helper in the namespace, maps
// it with newuidmap and newgidmap, and lets it execute the runtime. An
// execve by a process that is root of its namespace gains the
// namespace's capabilities, which the runtime needs to map the
// container's own namespace.
//
// With a network helper (slirp4netns), the namespace also has a network
// namespace of its own, which the helper connects before the runtime
// starts; stop ends the helper.
func ociInNamespace(cmd *exec.Cmd, h *render.Host, network []string) (w *exec.Cmd, startW func(*exec.Cmd) error, stop func(), err error) {
	w = exec.Command(h.Self, cmd.Args...)
	w.Args[0] = ociUserNSHelper
	w.Env = cmd.Env
	w.Stdin, w.Stdout, w.Stderr = cmd.Stdin, cmd.Stdout, cmd.Stderr
	w.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Cloneflags: syscall.CLONE_NEWUSER | syscall.CLONE_NEWNS}
	if len(network) > 0 {
		w.SysProcAttr.Cloneflags |= syscall.CLONE_NEWNET
	}
	var attached *attachedNetwork
	stop = func() {
		if attached != nil {
			attached.Close()
		}
	}
	start := func(w *exec.Cmd) error {
		r, wr, err := os.Pipe()
		if err != nil {
			return err
		}
		defer r.Close()
		defer wr.Close()
		w.ExtraFiles = append([]*os.File{r}, cmd.ExtraFiles...)
		if err := w.Start(); err != nil {
			return err
		}
		r.Close()
		pid := strconv.Itoa(w.Process.Pid)
		for _, m := range [][]string{
			{h.Tools["newuidmap"], pid, "0", strconv.Itoa(h.UID), "1", "1", strconv.Itoa(h.SubUID), "1"},
			{h.Tools["newgidmap"], pid, "0", strconv.Itoa(h.GID), "1", "1", strconv.Itoa(h.SubGID), "1"},
		} {
			if out, err := exec.Command(m[0], m[1:]...).CombinedOutput(); err != nil {
				w.Process.Kill()
				w.Wait()
				return fmt.Errorf("%s: %w: %s", filepath.Base(m[0]), err, strings.TrimSpace(string(out)))
			}
		}
		if len(network) > 0 {
			if attached, err = attachNetworkTo(network, w.Process.Pid); err != nil {
				w.Process.Kill()
				w.Wait()
				return err
			}
		}
		_, err = wr.Write([]byte{1})
		return err
	}
	return w, start, stop, nil
}

// attachNetworkTo starts the network helper (slirp4netns) on the network
// namespace of process pid, joining its user namespace first, and waits
// until it is up.
func attachNetworkTo(helper []string, pid int) (*attachedNetwork, error) {
	n := &attachedNetwork{}
	proc := "/proc/" + strconv.Itoa(pid) + "/ns/"
	// slirp4netns's own sandbox needs root in the user namespace it
	// starts from, which a helper joining another one lacks; its seccomp
	// filter stays.
	var opts []string
	for _, o := range helper[1:] {
		if o != "--enable-sandbox" {
			opts = append(opts, o)
		}
	}
	args := append(opts, "--userns-path="+proc+"user", "--netns-type=path", proc+"net", "tap0")
	if err := n.start(helper[0], args); err != nil {
		return nil, err
	}
	return n, nil
}

// ociUserNSMain is the helper: args are its name and the runtime's argv.
// It waits for the launcher's byte on descriptor 3, becomes root of its
// (now mapped) namespace and executes the runtime.
func ociUserNSMain(args []string) int {
	sync := os.NewFile(3, "sync")
	var b [1]byte
	if n, _ := sync.Read(b[:]); n != 1 {
		fmt.Fprintln(os.Stderr, "claude-sandbox: the user namespace was not mapped")
		return 125
	}
	sync.Close()
	// The runtime's preserved descriptors (the lifeline and the started
	// pipe) move from 4 and 5 to 3 and 4.
	if unix.Dup3(4, 3, 0) == nil && unix.Dup3(5, 4, 0) == nil {
		unix.Close(5)
	}
	if len(args) < 2 {
		return 125
	}
	if err := syscall.Setresgid(0, 0, 0); err != nil {
		fmt.Fprintf(os.Stderr, "claude-sandbox: setresgid in the user namespace: %v\n", err)
		return 125
	}
	if err := syscall.Setresuid(0, 0, 0); err != nil {
		fmt.Fprintf(os.Stderr, "claude-sandbox: setresuid in the user namespace: %v\n", err)
		return 125
	}
	err := syscall.Exec(args[1], args[1:], os.Environ())
	fmt.Fprintf(os.Stderr, "claude-sandbox: executing %s: %v\n", args[1], err)
	return 125
}

// ociDeleteIn deletes the container from inside a fresh namespace mapped
// like the run's, where the runtime's state belongs to root.
func ociDeleteIn(h *render.Host, plan *render.Plan) {
	rt, state, id := ociRuntimeArgs(plan)
	if _, err := os.Lstat(filepath.Join(state, id)); state == "" || errors.Is(err, os.ErrNotExist) {
		return
	}
	del := exec.Command(rt, "--root", state, "delete", "--force", id)
	del.Env = plan.Env
	w, start, _, err := ociInNamespace(del, h, nil)
	if err != nil {
		return
	}
	w.Stdin, w.Stdout, w.Stderr = nil, nil, nil
	ociDelete(plan, func() error {
		if err := start(w); err != nil {
			return err
		}
		return w.Wait()
	})
}

// ociDelete removes the container from the runtime's state, killing what
// is left of it.
// run, when set, runs the deletion instead of the runtime itself.
func ociDelete(plan *render.Plan, run func() error) {
	rt, state, id := ociRuntimeArgs(plan)
	if _, err := os.Lstat(filepath.Join(state, id)); state == "" || errors.Is(err, os.ErrNotExist) {
		// The runtime removed the container itself when it ended.
		return
	}
	if run == nil {
		del := exec.Command(rt, "--root", state, "delete", "--force", id)
		del.Env = plan.Env
		run = del.Run
	}
	done := make(chan struct{})
	go func() {
		run()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
	}
}

// ociRuntimeArgs finds the runtime, its state directory and the
// container id in an oci plan's argv: [PREFIX...] RUNTIME --root STATE
// ... run ... ID, where the prefix is the allowlist's network namespace
// helper.
func ociRuntimeArgs(plan *render.Plan) (rt, state, id string) {
	i := slices.Index(plan.Argv, "--root")
	if i < 1 || i+1 >= len(plan.Argv) {
		return plan.Argv[0], "", plan.Argv[len(plan.Argv)-1]
	}
	return plan.Argv[i-1], plan.Argv[i+1], plan.Argv[len(plan.Argv)-1]
}

// ociChecks says whether this host can run the oci backend: which runtime
// a launch would use, and whether it runs rootless with the user's own
// ids inside.
func ociChecks(p *profile.Policy) []check {
	var cs []check
	want := p.OCI.Runtime
	var found []string
	for _, r := range []string{"crun", "runc", "runsc"} {
		if path, err := lookTool(r); err == nil {
			found = append(found, path)
		}
	}
	crunHybrid := !cgroupUnified()
	var rt string
	for _, path := range found {
		name := filepath.Base(path)
		switch {
		case want != "auto" && name != want:
		case want == "auto" && name == "runsc":
		case want == "auto" && name == "crun" && crunHybrid:
			cs = append(cs, ok("crun", path+": not used, this host mounts cgroup v1 and v2 side by side, which crun refuses"))
		case rt == "":
			rt = path
		}
	}
	if rt == "" && want == "runsc" {
		return append(cs, bad("runtime", "oci.runtime = \"runsc\": gVisor's runsc is not on PATH: install gVisor (https://gvisor.dev/docs/user_guide/install/; Debian 12 has no package), or set oci.runtime = \"auto\""))
	}
	if rt == "" {
		return append(cs, bad("runtime", fmt.Sprintf("no usable OCI runtime for oci.runtime = %q: install runc or crun (Debian and Ubuntu: apt install runc)", want)))
	}
	cs = append(cs, ok("runtime", rt))
	if os.Getuid() == 0 {
		return append(cs, ok("privileges", "root: the runtime runs as root, the command as the invoking user"))
	}
	if err := userNamespacesUsable(); err != nil {
		return append(cs, bad("rootless", err.Error()))
	}
	if filepath.Base(rt) != "runc" {
		return append(cs, ok("rootless", "user namespaces usable; your ids are mapped to themselves"))
	}
	u, g := 0, 0
	if me, err := user.Current(); err == nil {
		u, g = subID("/etc/subuid", me.Username, os.Getuid()), subID("/etc/subgid", me.Username, os.Getuid())
	}
	_, e1 := lookTool("newuidmap")
	_, e2 := lookTool("newgidmap")
	if u == 0 || g == 0 || e1 != nil || e2 != nil {
		return append(cs, poorly("rootless", "runc without subordinate ids (/etc/subuid, /etc/subgid) or newuidmap (apt install uidmap): you appear as root inside; files still belong to you"))
	}
	return append(cs, ok("rootless", "runc in a user namespace mapped with newuidmap: your ids inside are your own"))
}
