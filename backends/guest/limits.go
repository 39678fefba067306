package guest

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"

	"github.com/claude-sandbox/claude-sandbox/backends/limits"
	"github.com/claude-sandbox/claude-sandbox/render"
	"golang.org/x/sys/unix"
)

// cgroupResult is prepareCgroup's answer, computed while the init
// mounts the shares.
type cgroupResult struct {
	cgroup *limits.Cgroup
	err    error
}

// applyLimits puts the command under its limits: cg (from prepareCgroup,
// nil for none), which attr places the command in as it starts, and the
// rlimits, which init sets on itself for the command to inherit (init is
// root and does nothing they bound). Call the returned function once the
// command has started.
func applyLimits(l render.GuestLimits, cg *limits.Cgroup, attr *syscall.SysProcAttr) (func(), error) {
	if err := limits.SetSelf(l.Rlimits); err != nil {
		return nil, err
	}
	if cg == nil {
		return func() {}, nil
	}
	return cg.Place(attr)
}

// prepareCgroup creates the command's cgroup v2 in the guest's own cgroup
// file system with limits c (nil when c sets none).
func prepareCgroup(c render.CgroupLimits) (*limits.Cgroup, error) {
	if c.Empty() {
		return nil, nil
	}
	if err := os.MkdirAll("/sys/fs/cgroup", 0o755); err != nil {
		return nil, err
	}
	if err := unix.Mount("cgroup2", "/sys/fs/cgroup", "cgroup2", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil && !errors.Is(err, unix.EBUSY) {
		return nil, fmt.Errorf("mounting the cgroup file system: %w", err)
	}
	// Leave the kernel room: the command is stopped by its cgroup, before
	// the guest itself runs out of memory.
	if total := memTotal(); c.MemoryBytes > 0 && total > 0 {
		c.MemoryBytes = min(c.MemoryBytes, total-total/8)
	}
	s := limits.Probe()
	if s.Version != "v2" {
		return nil, fmt.Errorf("the guest kernel offers no cgroup v2 for the limits")
	}
	return limits.Create(s, c, "guest")
}

// memTotal returns the guest's memory in bytes, 0 when unknown.
func memTotal() int64 {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				kb, _ := strconv.ParseInt(f[0], 10, 64)
				return kb << 10
			}
		}
	}
	return 0
}
