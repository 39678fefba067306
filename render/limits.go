package render

import (
	"fmt"
	"slices"

	"github.com/claude-sandbox/claude-sandbox/profile"
)

// LimitPlan is how a plan's resource limits are enforced on this host:
// the cgroup the backend creates for the run, the rlimits it sets on the
// sandbox's first process, and for explain which mechanism carries each
// limit.
type LimitPlan struct {
	// Values are the policy's limits.
	Values profile.Limits
	// Cgroup holds the cgroup settings; zero when the run needs no cgroup.
	Cgroup CgroupLimits
	// Rlimits are set, soft and hard, on the sandbox's first process
	// before it runs (for the container they are nspawn arguments instead,
	// since nspawn resets its payload's rlimits).
	Rlimits []Rlimit
	// Mechanisms says, per [limits] key in schema order, what enforces it.
	Mechanisms []LimitMechanism
}

// CgroupLimits are the settings of a run's cgroup. A zero field is not
// limited.
type CgroupLimits struct {
	// Pids is pids.max.
	Pids int64 `json:"pids,omitempty"`
	// MemoryBytes is memory.max (and memory.swap.max 0; the v1 memory and
	// memsw limits).
	MemoryBytes int64 `json:"memory_bytes,omitempty"`
	// CPUQuotaMicros is the CPU time allowed per CPUPeriodMicros.
	CPUQuotaMicros int64 `json:"cpu_quota_us,omitempty"`
	// CPUPeriodMicros is cpu.max's period.
	CPUPeriodMicros int64 `json:"cpu_period_us,omitempty"`
}

// Empty reports whether the cgroup limits nothing.
func (c CgroupLimits) Empty() bool { return c == CgroupLimits{} }

// Rlimit is one resource limit of setrlimit(2), by its name without the
// RLIMIT_ prefix.
type Rlimit struct {
	// Name is NPROC, DATA, NOFILE or FSIZE.
	Name string `json:"name"`
	// Value is the soft and hard limit.
	Value uint64 `json:"value"`
}

// LimitMechanism says what enforces one limit.
type LimitMechanism struct {
	// Key is the [limits] key.
	Key string
	// How names the mechanism, or why the limit is not enforced.
	How string
}

// Cgroup controllers a run's cgroup may use.
const (
	CgroupPids   = "pids"
	CgroupMemory = "memory"
	CgroupCPU    = "cpu"
)

// cpuPeriod is the cpu.max period: 100 ms, the kernel's default.
const cpuPeriod = 100000

// Limits decides how backend enforces p's limits on host h.
func Limits(p *profile.Policy, h *Host, backend profile.Backend) LimitPlan {
	l := p.Limits
	lp := LimitPlan{Values: l}
	how := func(key, format string, args ...any) {
		lp.Mechanisms = append(lp.Mechanisms, LimitMechanism{Key: key, How: fmt.Sprintf(format, args...)})
	}
	if backend == profile.VM {
		// The guest is its own kernel: its init creates a cgroup v2 for
		// the command and sets the rlimits itself (GuestConfig.Limits).
		lp.Cgroup = cgroupFor(l, []string{CgroupPids, CgroupMemory, CgroupCPU})
		lp.Rlimits = rlimitsFor(l, 0, false, false)
		how("processes", "%s", orUnlimited(l.Processes, "cgroup v2 pids.max in the guest"))
		how("memory", "%s", orUnlimited(l.MemoryMiB, "guest memory (qemu -m) and cgroup v2 memory.max in the guest"))
		how("cpus", "%s", orUnlimited(l.MilliCPUs, "guest CPUs (qemu -smp) and cgroup v2 cpu.max in the guest"))
		how("open_files", "%s", orUnlimited(l.OpenFiles, "RLIMIT_NOFILE in the guest"))
		how("file_size", "%s", orUnlimited(l.FileSizeMiB, "RLIMIT_FSIZE in the guest"))
		how("disk", "%s", orUnlimited(l.DiskMiB, "size of each tmpfs in the guest (/tmp, /var/tmp, /dev/shm, the home)"))
		return lp
	}
	has := func(c string) bool { return slices.Contains(h.CgroupControllers, c) }
	cg := "cgroup " + h.Cgroup
	if h.CgroupDelegated {
		cg += " (delegated)"
	}
	var ctrls []string
	for _, c := range []string{CgroupPids, CgroupMemory, CgroupCPU} {
		if has(c) {
			ctrls = append(ctrls, c)
		}
	}
	lp.Cgroup = cgroupFor(l, ctrls)
	// The sandbox's processes run as the invoking user; root is exempt
	// from RLIMIT_NPROC.
	nproc := !has(CgroupPids) && h.UID != 0
	data := !has(CgroupMemory)
	lp.Rlimits = rlimitsFor(l, h.UserTasks, nproc, data)

	switch {
	case l.Processes == 0:
		how("processes", "unlimited")
	case has(CgroupPids):
		how("processes", "%s pids.max", cg)
	case h.UID != 0:
		how("processes", "RLIMIT_NPROC %d: the limit plus the %d processes and threads your user runs now (no writable cgroup)", l.Processes+int64(h.UserTasks), h.UserTasks)
	default:
		how("processes", "not enforced: no writable cgroup with the pids controller, and root is exempt from RLIMIT_NPROC")
	}
	switch {
	case l.MemoryMiB == 0:
		how("memory", "unlimited")
	case has(CgroupMemory):
		how("memory", "%s memory.max, no swap", cg)
	default:
		how("memory", "RLIMIT_DATA for each process (no writable cgroup with the memory controller)")
	}
	switch {
	case l.MilliCPUs == 0:
		how("cpus", "unlimited")
	case has(CgroupCPU):
		how("cpus", "%s cpu.max", cg)
	default:
		how("cpus", "not enforced: needs a writable cgroup with the cpu controller (RLIMIT_CPU counts CPU seconds, not cores)")
	}
	how("open_files", "%s", orUnlimited(l.OpenFiles, "RLIMIT_NOFILE"))
	how("file_size", "%s", orUnlimited(l.FileSizeMiB, "RLIMIT_FSIZE"))
	switch {
	case l.DiskMiB == 0:
		how("disk", "unlimited")
	case backend == profile.Container:
		how("disk", "size of the tmpfs holding the container's root")
	case backend == profile.OCI:
		how("disk", "not enforced: the home is a directory of the run's bundle on the host's disk, removed at exit")
	default:
		how("disk", "not applicable: bubblewrap writes only to shared host directories and to tmpfs mounts in memory")
	}
	return lp
}

func orUnlimited(v int64, how string) string {
	if v == 0 {
		return "unlimited"
	}
	return how
}

// cgroupFor returns the cgroup settings of l that the controllers allow.
func cgroupFor(l profile.Limits, ctrls []string) CgroupLimits {
	var c CgroupLimits
	if slices.Contains(ctrls, CgroupPids) {
		c.Pids = l.Processes
	}
	if slices.Contains(ctrls, CgroupMemory) {
		c.MemoryBytes = l.MemoryMiB << 20
	}
	if slices.Contains(ctrls, CgroupCPU) && l.MilliCPUs > 0 {
		c.CPUQuotaMicros = l.MilliCPUs * cpuPeriod / 1000
		c.CPUPeriodMicros = cpuPeriod
	}
	return c
}

// rlimitsFor returns the rlimits that carry l: open files and file size
// always, processes (on top of the user's current tasks) and memory when
// asked to.
func rlimitsFor(l profile.Limits, userTasks int, nproc, data bool) []Rlimit {
	var out []Rlimit
	if nproc && l.Processes > 0 {
		out = append(out, Rlimit{Name: "NPROC", Value: uint64(l.Processes) + uint64(userTasks)})
	}
	if data && l.MemoryMiB > 0 {
		out = append(out, Rlimit{Name: "DATA", Value: uint64(l.MemoryMiB) << 20})
	}
	if l.OpenFiles > 0 {
		out = append(out, Rlimit{Name: "NOFILE", Value: uint64(l.OpenFiles)})
	}
	if l.FileSizeMiB > 0 {
		out = append(out, Rlimit{Name: "FSIZE", Value: uint64(l.FileSizeMiB) << 20})
	}
	return out
}
