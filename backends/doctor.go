package backends

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/claude-sandbox/claude-sandbox/backends/limits"
	"github.com/claude-sandbox/claude-sandbox/backends/unixguard"
	"github.com/claude-sandbox/claude-sandbox/backends/vmimage"
	"github.com/claude-sandbox/claude-sandbox/profile"
	"github.com/claude-sandbox/claude-sandbox/render"
)

// level is how a readiness check came out.
type level int

const (
	pass level = iota
	warn       // works, but worse than it could
	fail       // the backend cannot run
)

// check is one readiness check: how it came out and a detail, or what to
// do about it.
type check struct {
	name   string
	level  level
	detail string
}

func ok(name, detail string) check     { return check{name, pass, detail} }
func bad(name, detail string) check    { return check{name, fail, detail} }
func poorly(name, detail string) check { return check{name, warn, detail} }

// Doctor reports whether this host can launch policy p (the defaults and
// the user's configuration for the current directory): its command, and
// for each backend whether it can run and what to install or change when
// it cannot. It returns false when p's own launch cannot run.
func Doctor(w io.Writer, p *profile.Policy) bool {
	cmd := commandChecks(p)
	cmdOK := printSection(w, "agent command", cmd)
	launchOK := cmdOK
	for _, b := range []struct {
		backend profile.Backend
		checks  []check
	}{
		{profile.Bubblewrap, bwrapChecks(p)},
		{profile.Container, containerChecks(p)},
		{profile.VM, vmChecks()},
		{profile.OCI, ociChecks(p)},
	} {
		ready := printSection(w, string(b.backend), b.checks)
		if b.backend == p.Backend {
			launchOK = launchOK && ready
		}
	}
	fmt.Fprintln(w, "resource limits:")
	for _, c := range limitsChecks() {
		fmt.Fprintf(w, "  %s: %s\n", c.name, c.detail)
	}
	state := "ready"
	if !launchOK {
		state = "cannot run"
	}
	fmt.Fprintf(w, "default launch (backend %s, network %s, command %s): %s\n", p.Backend, p.Network.Mode, strings.Join(p.Command, " "), state)
	return launchOK
}

// printSection prints one section and reports whether nothing failed.
func printSection(w io.Writer, name string, checks []check) bool {
	worst := pass
	for _, c := range checks {
		worst = max(worst, c.level)
	}
	state := map[level]string{pass: "ready", warn: "ready, with problems", fail: "not available"}[worst]
	fmt.Fprintf(w, "%s: %s\n", name, state)
	for _, c := range checks {
		mark := map[level]string{pass: "ok  ", warn: "WARN", fail: "FAIL"}[c.level]
		fmt.Fprintf(w, "  %s %s: %s\n", mark, c.name, c.detail)
	}
	return worst != fail
}

// commandChecks finds the policy's command as a launch would.
func commandChecks(p *profile.Policy) []check {
	if len(p.Command) == 0 {
		return []check{bad("command", "no command configured")}
	}
	name := p.Command[0]
	found, searched := FindCommand(name)
	if found != "" {
		return []check{ok(name, found)}
	}
	detail := "not found on PATH " + os.Getenv("PATH")
	if len(searched) > 0 {
		detail += " nor in " + strings.Join(searched, ":")
	}
	if filepath.Base(name) == "claude" {
		detail += "; install Claude Code: npm install -g @anthropic-ai/claude-code (as a user, after npm config set prefix ~/.npm-global), or curl -fsSL https://claude.ai/install.sh | bash"
	}
	return []check{bad(name, detail)}
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
		cs = append(cs, ok("cgroup", fmt.Sprintf("cgroup %s %s below %s: %s", s.Version, how, parent, strings.Join(ctrls, ", "))))
		for _, c := range []string{render.CgroupPids, render.CgroupMemory, render.CgroupCPU} {
			if !slices.Contains(ctrls, c) {
				cs = append(cs, ok("cgroup", "no "+c+" controller: "+rlimitFallback(c)))
			}
		}
	} else {
		cs = append(cs, ok("cgroup", s.Why+": rlimits only (processes: RLIMIT_NPROC, memory: RLIMIT_DATA per process, cpus: not enforced); run as root or in a delegated cgroup for more"))
	}
	cs = append(cs, ok("rlimits", "open_files and file_size: RLIMIT_NOFILE and RLIMIT_FSIZE"))
	cs = append(cs, ok("vm", "limits apply inside the guest (cgroup v2 and rlimits); memory and cpus also size the machine"))
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

func bwrapChecks(p *profile.Policy) []check {
	var cs []check
	path, err := exec.LookPath("bwrap")
	if err != nil {
		return append(cs, bad("bwrap", "not found on PATH; install bubblewrap (apt install bubblewrap, dnf install bubblewrap)"))
	}
	out, _ := exec.Command(path, "--version").Output()
	version := strings.TrimSpace(string(out))
	cs = append(cs, ok("bwrap", path+" ("+version+")"))
	if os.Getuid() != 0 {
		if err := userNamespacesUsable(); err != nil {
			cs = append(cs, bad("user namespaces", err.Error()))
		} else {
			cs = append(cs, ok("user namespaces", "unprivileged user namespaces are available"))
		}
	}
	cs = append(cs, networkHelperCheck(p))
	cs = append(cs, unixGuardCheck(p))
	switch v := readTrim("/proc/sys/dev/tty/legacy_tiocsti"); v {
	case "0":
		cs = append(cs, ok("TIOCSTI", "dev.tty.legacy_tiocsti = 0: the kernel refuses terminal injection; the seccomp filter blocks it as well"))
	case "":
		cs = append(cs, ok("TIOCSTI", "kernel without dev.tty.legacy_tiocsti: the seccomp filter blocks terminal injection"))
	default:
		cs = append(cs, ok("TIOCSTI", "dev.tty.legacy_tiocsti = "+v+": the seccomp filter blocks terminal injection"))
	}
	return cs
}

// networkHelperCheck asks the bubblewrap backend's own network plan for
// policy p on this host, so the report names exactly the helper a launch
// would start (pasta for a user; as root, whatever the backend uses
// there) or the reason it cannot.
func networkHelperCheck(p *profile.Policy) check {
	name := fmt.Sprintf("network (network = %q)", p.Network.Mode)
	q := *p
	q.Backend = profile.Bubblewrap
	h, err := Probe(&q)
	if err != nil {
		return bad(name, err.Error())
	}
	plan := render.NetworkFor(&q, h, profile.Bubblewrap)
	switch {
	case plan.Err != nil:
		return bad(name, plan.Err.Error())
	case len(plan.Prefix) > 0:
		return ok(name, "through "+plan.Prefix[0])
	}
	return ok(name, "no helper needed")
}

// unixGuardCheck says whether this kernel can refuse connects to host
// programs' Unix sockets, as unix_sockets = "granted" (the default) asks:
// a launch fails without it, one with unix_sockets = "all" does not.
func unixGuardCheck(p *profile.Policy) check {
	name := fmt.Sprintf("unix sockets (unix_sockets = %q)", p.UnixSockets)
	err := unixguard.Supported()
	switch {
	case err == nil && p.UnixSockets == profile.UnixSocketsAll:
		return ok(name, "not guarded by choice; the kernel could (seccomp user notification, pidfd_getfd, openat2)")
	case err == nil:
		return ok(name, "connects are guarded through seccomp user notification, pidfd_getfd and openat2")
	case p.UnixSockets == profile.UnixSocketsAll:
		return ok(name, "not guarded by choice; this kernel could not: "+err.Error())
	}
	return bad(name, "this kernel cannot guard connects to Unix sockets: "+err.Error()+`; a launch fails: set unix_sockets = "all" to run without the guard`)
}

func containerChecks(p *profile.Policy) []check {
	cs := []check{unixGuardCheck(p)}
	if path, err := exec.LookPath("systemd-nspawn"); err != nil {
		cs = append(cs, bad("systemd-nspawn", "not found on PATH; install systemd-container (apt install systemd-container)"))
	} else {
		cs = append(cs, ok("systemd-nspawn", path))
	}
	if os.Getuid() == 0 {
		cs = append(cs, ok("root", "running as root"))
	} else {
		self, _ := os.Executable()
		cs = append(cs, bad("root", "the container backend needs root: run it through sudo: "+SudoCommand(self, "--backend", "container", "DIR")))
	}
	return cs
}

func vmChecks() []check {
	var cs []check
	if path, err := exec.LookPath("qemu-system-x86_64"); err != nil {
		cs = append(cs, bad("qemu", "qemu-system-x86_64 not found on PATH; install QEMU (apt install qemu-system-x86)"))
	} else {
		cs = append(cs, ok("qemu", path))
	}
	if k, err := vmimage.FindKernel("/boot", "/lib/modules", ""); err != nil {
		cs = append(cs, bad("kernel", err.Error()))
	} else {
		cs = append(cs, ok("kernel", k.Image+" with modules in "+k.Modules))
	}
	if self, err := os.Executable(); err == nil {
		cs = append(cs, initCheck(self))
	}
	if kvmUsable() {
		cs = append(cs, ok("kvm", "hardware virtualisation is usable"))
	} else {
		cs = append(cs, poorly("kvm", "not usable (no VT-x/AMD-V, or /dev/kvm not accessible: add yourself to the kvm group); the VM runs under software emulation, several times slower"))
	}
	return cs
}

// initCheck tells whether the launcher at self can be the guest's /init:
// a static build as it is, a dynamically linked one with its loader and
// libraries, which the initramfs then carries.
func initCheck(self string) check {
	files, err := vmimage.RuntimeFiles(self)
	if err != nil {
		return bad("guest init", fmt.Sprintf("the guest runs the launcher as /init: %v", err))
	}
	if len(files) == 0 {
		return ok("guest init", self+" is statically linked")
	}
	return ok("guest init", fmt.Sprintf("%s is dynamically linked; the initramfs carries its loader and %d libraries", self, len(files)-1))
}

func readTrim(p string) string {
	b, _ := os.ReadFile(p)
	return strings.TrimSpace(string(b))
}
