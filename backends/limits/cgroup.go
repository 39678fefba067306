package limits

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/claude-sandbox/claude-sandbox/render"
	"golang.org/x/sys/unix"
)

// namePrefix starts the name of every run's cgroup.
const namePrefix = "claude-sandbox-"

// Cgroup is a run's cgroup: one directory with cgroup v2, one per
// controller with v1.
type Cgroup struct {
	version string
	// dirs are the run's cgroup directories; origins the launcher's own
	// cgroups in the same hierarchies.
	dirs, origins []string
}

// Create creates the run's cgroup in the parents s offers and sets c's
// limits in it. It returns nil and no error when c limits nothing the
// host can enforce with a cgroup. id makes the name unique; the
// launcher's pid in the name lets later runs remove what a killed
// launcher left behind.
func Create(s Support, c render.CgroupLimits, id string) (*Cgroup, error) {
	if c.Empty() || s.Version == "" {
		return nil, nil
	}
	need := map[string]bool{
		render.CgroupPids:   c.Pids > 0,
		render.CgroupMemory: c.MemoryBytes > 0,
		render.CgroupCPU:    c.CPUQuotaMicros > 0,
	}
	name := cgroupName(os.Getpid(), id)
	cg := &Cgroup{version: s.Version}
	fail := func(err error) (*Cgroup, error) {
		cg.Remove()
		return nil, fmt.Errorf("creating the run's cgroup: %w", err)
	}
	if s.Version == "v2" {
		var parent, origin string
		var enable []string
		for _, ctrl := range s.Controllers() {
			if need[ctrl] {
				parent, origin = s.Parents[ctrl], s.Origins[ctrl]
				enable = append(enable, ctrl)
			}
		}
		if parent == "" {
			return nil, nil
		}
		sweep(parent)
		on := words(filepath.Join(parent, "cgroup.subtree_control"))
		for _, ctrl := range enable {
			if !contains(on, ctrl) {
				if err := write(filepath.Join(parent, "cgroup.subtree_control"), "+"+ctrl); err != nil {
					return fail(err)
				}
			}
		}
		dir := filepath.Join(parent, name)
		if err := os.Mkdir(dir, 0o755); err != nil {
			return fail(err)
		}
		cg.dirs, cg.origins = []string{dir}, []string{origin}
		for _, ctrl := range enable {
			if err := setV2(dir, ctrl, c); err != nil {
				return fail(err)
			}
		}
		return cg, nil
	}
	for _, ctrl := range s.Controllers() {
		if !need[ctrl] {
			continue
		}
		sweep(s.Parents[ctrl])
		dir := filepath.Join(s.Parents[ctrl], name)
		if err := os.Mkdir(dir, 0o755); err != nil {
			return fail(err)
		}
		cg.dirs, cg.origins = append(cg.dirs, dir), append(cg.origins, s.Origins[ctrl])
		if err := setV1(dir, ctrl, c); err != nil {
			return fail(err)
		}
	}
	if len(cg.dirs) == 0 {
		return nil, nil
	}
	return cg, nil
}

func setV2(dir, ctrl string, c render.CgroupLimits) error {
	switch ctrl {
	case render.CgroupPids:
		return write(filepath.Join(dir, "pids.max"), strconv.FormatInt(c.Pids, 10))
	case render.CgroupMemory:
		if err := write(filepath.Join(dir, "memory.max"), strconv.FormatInt(c.MemoryBytes, 10)); err != nil {
			return err
		}
		// Without swap the limit is the whole memory; a kernel without
		// swap accounting has no such file.
		if err := write(filepath.Join(dir, "memory.swap.max"), "0"); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	case render.CgroupCPU:
		return write(filepath.Join(dir, "cpu.max"), strconv.FormatInt(c.CPUQuotaMicros, 10)+" "+strconv.FormatInt(c.CPUPeriodMicros, 10))
	}
	return nil
}

func setV1(dir, ctrl string, c render.CgroupLimits) error {
	switch ctrl {
	case render.CgroupPids:
		return write(filepath.Join(dir, "pids.max"), strconv.FormatInt(c.Pids, 10))
	case render.CgroupMemory:
		v := strconv.FormatInt(c.MemoryBytes, 10)
		if err := write(filepath.Join(dir, "memory.limit_in_bytes"), v); err != nil {
			return err
		}
		if err := write(filepath.Join(dir, "memory.memsw.limit_in_bytes"), v); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	case render.CgroupCPU:
		if err := write(filepath.Join(dir, "cpu.cfs_period_us"), strconv.FormatInt(c.CPUPeriodMicros, 10)); err != nil {
			return err
		}
		return write(filepath.Join(dir, "cpu.cfs_quota_us"), strconv.FormatInt(c.CPUQuotaMicros, 10))
	}
	return nil
}

// Version is "v2" or "v1".
func (cg *Cgroup) Version() string { return cg.version }

// Dirs are the run's cgroup directories.
func (cg *Cgroup) Dirs() []string { return append([]string(nil), cg.dirs...) }

// Start starts cmd inside the cgroup: with cgroup v2 the kernel places
// the child there as it is created (clone3 with CLONE_INTO_CGROUP); with
// v1 the launcher joins the cgroup, starts the child (which inherits it)
// and returns to its own cgroup. Either way the child runs nothing
// outside the cgroup.
func (cg *Cgroup) Start(cmd *exec.Cmd) error { return cg.StartWith(cmd, (*exec.Cmd).Start) }

// StartWith is Start with start doing the starting itself (inside a
// network namespace the launcher made, for example).
func (cg *Cgroup) StartWith(cmd *exec.Cmd, start func(*exec.Cmd) error) error {
	if cg == nil {
		return start(cmd)
	}
	if cg.version == "v2" {
		if cmd.SysProcAttr == nil {
			cmd.SysProcAttr = &syscall.SysProcAttr{}
		}
		done, err := cg.Place(cmd.SysProcAttr)
		if err != nil {
			return err
		}
		defer done()
		return start(cmd)
	}
	if err := cg.Join(); err != nil {
		cg.leave()
		return err
	}
	err := start(cmd)
	// The child is placed either way; a launcher that could not leave
	// only counts against the run's limits.
	cg.leave()
	return err
}

// Place sets attr so that the process started with it is created inside
// the cgroup (cgroup v2 only). Call the returned function once the
// process has started.
func (cg *Cgroup) Place(attr *syscall.SysProcAttr) (func(), error) {
	if cg == nil {
		return func() {}, nil
	}
	if cg.version != "v2" {
		return nil, fmt.Errorf("placing a process at creation needs cgroup v2")
	}
	fd, err := unix.Open(cg.dirs[0], unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("opening the run's cgroup: %w", err)
	}
	attr.UseCgroupFD, attr.CgroupFD = true, fd
	return func() { unix.Close(fd) }, nil
}

// Join moves the calling process (every thread) into the cgroup, as
// before it replaces itself with the sandbox.
func (cg *Cgroup) Join() error {
	if cg == nil {
		return nil
	}
	pid := strconv.Itoa(os.Getpid())
	for _, d := range cg.dirs {
		if err := write(filepath.Join(d, "cgroup.procs"), pid); err != nil {
			return fmt.Errorf("joining the run's cgroup: %w", err)
		}
	}
	return nil
}

// leave moves the launcher back to its own cgroups.
func (cg *Cgroup) leave() error {
	pid := strconv.Itoa(os.Getpid())
	var first error
	for _, d := range cg.origins {
		if err := write(filepath.Join(d, "cgroup.procs"), pid); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// Remove kills whatever still runs in the cgroup and removes it. It is
// safe to call on a nil or partly created cgroup and more than once.
func (cg *Cgroup) Remove() error {
	if cg == nil {
		return nil
	}
	var first error
	for _, d := range cg.dirs {
		if err := removeCgroup(d); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// removeCgroup empties dir (cgroup.kill where the kernel has it, SIGKILL
// to each listed process otherwise) and removes it, after the cgroups a
// payload manager (nspawn on cgroup v2) created below it.
func removeCgroup(dir string) error {
	if err := unix.Rmdir(dir); err == nil || errors.Is(err, unix.ENOENT) {
		return nil
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if e.IsDir() {
			if err := removeCgroup(filepath.Join(dir, e.Name())); err != nil {
				return err
			}
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		if write(filepath.Join(dir, "cgroup.kill"), "1") != nil {
			for _, p := range words(filepath.Join(dir, "cgroup.procs")) {
				if pid, err := strconv.Atoi(p); err == nil && pid != os.Getpid() {
					unix.Kill(pid, unix.SIGKILL)
				}
			}
		}
		err := unix.Rmdir(dir)
		if err == nil || errors.Is(err, unix.ENOENT) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("removing the run's cgroup %s: %w", dir, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// sweep removes the cgroups that launchers which no longer run left in
// parent (a launcher killed with SIGKILL, or one that replaced itself
// with the sandbox and has exited), killing what still runs in them: the
// remains of a sandbox whose launcher is gone.
func sweep(parent string) {
	entries, err := os.ReadDir(parent)
	if err != nil {
		return
	}
	ns := pidNamespace()
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), namePrefix)
		if !ok || !e.IsDir() {
			continue
		}
		parts := strings.Split(rest, "-")
		if len(parts) < 3 || parts[len(parts)-1] != ns {
			continue
		}
		pid, err := strconv.Atoi(parts[0])
		if err != nil || pid <= 0 {
			continue
		}
		if err := unix.Kill(pid, 0); errors.Is(err, unix.ESRCH) {
			removeCgroup(filepath.Join(parent, e.Name()))
		}
	}
}

// cgroupName names a run's cgroup after the launcher's pid, the run id and
// the launcher's pid namespace: the sweep judges only launchers whose pids
// it can see.
func cgroupName(pid int, id string) string {
	return namePrefix + strconv.Itoa(pid) + "-" + id + "-" + pidNamespace()
}

// pidNamespace identifies the calling process's pid namespace.
func pidNamespace() string {
	var st unix.Stat_t
	if err := unix.Stat("/proc/self/ns/pid", &st); err != nil {
		return "0"
	}
	return strconv.FormatUint(st.Ino, 10)
}

// write writes a cgroup control file.
func write(p, v string) error {
	f, err := os.OpenFile(p, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteString(v)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("writing %q to %s: %w", v, p, err)
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
