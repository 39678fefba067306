package backends

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"

	"github.com/claude-sandbox/claude-sandbox/backends/limits"
	"github.com/claude-sandbox/claude-sandbox/backends/vmimage"
	"github.com/claude-sandbox/claude-sandbox/render"
)

// check is one readiness check: ok with a detail, or a problem with what
// to do about it.
type check struct {
	name   string
	ok     bool
	detail string
}

// Doctor reports, for each backend, whether this host can run it and what
// to install or change when it cannot. It returns false when no backend can
// run.
func Doctor(w io.Writer) bool {
	any := false
	for _, b := range []struct {
		name   string
		checks []check
	}{
		{"bubblewrap", bwrapChecks()},
		{"container", containerChecks()},
		{"vm", vmChecks()},
	} {
		ready := true
		for _, c := range b.checks {
			ready = ready && c.ok
		}
		state := "ready"
		if !ready {
			state = "not available"
		}
		fmt.Fprintf(w, "%s: %s\n", b.name, state)
		for _, c := range b.checks {
			mark := "ok  "
			if !c.ok {
				mark = "FAIL"
			}
			fmt.Fprintf(w, "  %s %s: %s\n", mark, c.name, c.detail)
		}
		any = any || ready
	}
	fmt.Fprintln(w, "resource limits:")
	for _, c := range limitsChecks() {
		fmt.Fprintf(w, "  %s: %s\n", c.name, c.detail)
	}
	return any
}

// limitsChecks says which mechanisms enforce [limits] on this host for
// the bubblewrap and container backends (the vm enforces them inside the
// guest's own kernel).
func limitsChecks() []check {
	s := limits.Probe()
	var cs []check
	if ctrls := s.Controllers(); len(ctrls) > 0 {
		how := "writable"
		if s.Delegated {
			how = "delegated to this user"
		}
		parent := s.Parents[ctrls[0]]
		cs = append(cs, check{"cgroup", true, fmt.Sprintf("cgroup %s %s below %s: %s", s.Version, how, parent, strings.Join(ctrls, ", "))})
		for _, c := range []string{render.CgroupPids, render.CgroupMemory, render.CgroupCPU} {
			if !slices.Contains(ctrls, c) {
				cs = append(cs, check{"cgroup", true, "no " + c + " controller: " + rlimitFallback(c)})
			}
		}
	} else {
		cs = append(cs, check{"cgroup", true, s.Why + ": rlimits only (processes: RLIMIT_NPROC, memory: RLIMIT_DATA per process, cpus: not enforced); run as root or in a delegated cgroup for more"})
	}
	cs = append(cs, check{"rlimits", true, "open_files and file_size: RLIMIT_NOFILE and RLIMIT_FSIZE"})
	cs = append(cs, check{"vm", true, "limits apply inside the guest (cgroup v2 and rlimits); memory and cpus also size the machine"})
	return cs
}

func rlimitFallback(ctrl string) string {
	switch ctrl {
	case render.CgroupPids:
		return "processes falls back to RLIMIT_NPROC (not enforced for root)"
	case render.CgroupMemory:
		return "memory falls back to RLIMIT_DATA per process"
	}
	return "cpus is not enforced"
}

func bwrapChecks() []check {
	var cs []check
	path, err := exec.LookPath("bwrap")
	if err != nil {
		return append(cs, check{"bwrap", false, "not found on PATH; install bubblewrap (apt install bubblewrap, dnf install bubblewrap)"})
	}
	out, _ := exec.Command(path, "--version").Output()
	version := strings.TrimSpace(string(out))
	cs = append(cs, check{"bwrap", true, path + " (" + version + ")"})
	if os.Getuid() != 0 {
		if err := userNamespacesUsable(); err != nil {
			cs = append(cs, check{"user namespaces", false, err.Error()})
		} else {
			cs = append(cs, check{"user namespaces", true, "unprivileged user namespaces are available"})
		}
	}
	switch v := readTrim("/proc/sys/dev/tty/legacy_tiocsti"); v {
	case "0":
		cs = append(cs, check{"TIOCSTI", true, "dev.tty.legacy_tiocsti = 0: the kernel refuses terminal injection; the seccomp filter blocks it as well"})
	case "":
		cs = append(cs, check{"TIOCSTI", true, "kernel without dev.tty.legacy_tiocsti: the seccomp filter blocks terminal injection"})
	default:
		cs = append(cs, check{"TIOCSTI", true, "dev.tty.legacy_tiocsti = " + v + ": the seccomp filter blocks terminal injection"})
	}
	return cs
}

func containerChecks() []check {
	var cs []check
	if path, err := exec.LookPath("systemd-nspawn"); err != nil {
		cs = append(cs, check{"systemd-nspawn", false, "not found on PATH; install systemd-container (apt install systemd-container)"})
	} else {
		cs = append(cs, check{"systemd-nspawn", true, path})
	}
	if os.Getuid() == 0 {
		cs = append(cs, check{"root", true, "running as root"})
	} else {
		cs = append(cs, check{"root", false, "the container backend needs root: run it through sudo"})
	}
	return cs
}

func vmChecks() []check {
	var cs []check
	if path, err := exec.LookPath("qemu-system-x86_64"); err != nil {
		cs = append(cs, check{"qemu", false, "qemu-system-x86_64 not found on PATH; install QEMU (apt install qemu-system-x86)"})
	} else {
		cs = append(cs, check{"qemu", true, path})
	}
	if k, err := vmimage.FindKernel("/boot", "/lib/modules", ""); err != nil {
		cs = append(cs, check{"kernel", false, err.Error()})
	} else {
		cs = append(cs, check{"kernel", true, k.Image + " with modules in " + k.Modules})
	}
	if kvmUsable() {
		cs = append(cs, check{"kvm", true, "hardware virtualisation is usable"})
	} else {
		cs = append(cs, check{"kvm", true, "not usable (no VT-x/AMD-V, or /dev/kvm not accessible: add yourself to the kvm group); the VM runs under software emulation, several times slower"})
	}
	return cs
}

func readTrim(p string) string {
	b, _ := os.ReadFile(p)
	return strings.TrimSpace(string(b))
}
