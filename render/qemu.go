package render

import (
	"encoding/json"
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/claude-sandbox/claude-sandbox/profile"
)

// GuestConfig is what the launcher's guest init reads from the
// configuration share when it boots as PID 1 in the VM. It carries the
// command and its environment, so it is written 0600 into the run's
// private directory and never placed on the kernel command line.
type GuestConfig struct {
	UID      int      `json:"uid"`
	GID      int      `json:"gid"`
	Groups   []int    `json:"groups,omitempty"`
	User     string   `json:"user"`
	Home     string   `json:"home"`
	Hostname string   `json:"hostname"`
	Cwd      string   `json:"cwd"`
	Argv     []string `json:"argv"`
	Env      []string `json:"env"`
	// Root is the 9p tag of the host's root file system ("" for a guest
	// with its own root, such as the NixOS flavour).
	Root string `json:"root,omitempty"`
	// Shares are mounted in order.
	Shares []GuestShare `json:"shares"`
	// UserDirs are directories created for mount points that the guest
	// gives to the user once the shares are mounted (see UserDirs).
	UserDirs []string `json:"user_dirs,omitempty"`
	// Etc holds generated /etc files by name.
	Etc map[string]string `json:"etc"`
	// Network configures the user-mode NIC; false leaves only lo.
	Network bool `json:"network"`
	// Display loads the virtio GPU's driver: the guest's console, or the
	// X server the guest starts on /dev/dri/card0 when the host's root
	// has Xorg, shows in QEMU's window.
	Display bool `json:"display,omitempty"`
	// Xorg configures that X server's input (nil: none).
	Xorg *GuestXorg `json:"xorg,omitempty"`
	// Limits are the command's resource limits.
	Limits GuestLimits `json:"limits"`
	// Nix is the guest's own Nix store and daemon (nil: none).
	Nix *GuestNix `json:"nix,omitempty"`
	// Proxy is the allowlist mode's proxy address ("tcp:" and host:port):
	// the guest's init then answers DNS, carries the names' ports 80 and
	// 443 to it and reports refused connections, instead of routing out.
	Proxy string `json:"proxy,omitempty"`
	// Rows and Cols are the terminal size.
	Rows int `json:"rows,omitempty"`
	Cols int `json:"cols,omitempty"`
}

// GuestLimits are the resource limits the guest init applies to the
// command: a cgroup v2 created in the guest, rlimits, and the size of
// every tmpfs it mounts.
type GuestLimits struct {
	Cgroup  CgroupLimits `json:"cgroup"`
	Rlimits []Rlimit     `json:"rlimits,omitempty"`
	// TmpfsMiB is the size of each tmpfs, 0 for the kernel's default.
	TmpfsMiB int64 `json:"tmpfs_mib,omitempty"`
}

// GuestShare is one mount the guest init performs.
type GuestShare struct {
	// Kind is 9p, hostdir (a read-only bind of a directory of the host
	// root share), tmpfs, symlink, file, hide or pin (a bind of the
	// target onto itself: a mount point that cannot be renamed, removed
	// or replaced).
	Kind string `json:"kind"`
	// Tag is the 9p mount tag (9p), the host path (hostdir), the link
	// text (symlink) or the file's name in the configuration share
	// (file).
	Tag string `json:"tag,omitempty"`
	// Target is the path inside the guest.
	Target string `json:"target"`
	// ReadOnly mounts the share read-only.
	ReadOnly bool `json:"ro,omitempty"`
}

// Guest paths and tags shared by the renderer and the guest init.
const (
	// GuestConfigTag is the 9p tag of the run's guest directory.
	GuestConfigTag = "csbx"
	// GuestRootTag is the 9p tag of the host's root file system.
	GuestRootTag = "hostroot"
	// GuestConfigName is the configuration file in the guest directory.
	GuestConfigName = "config.json"
	// GuestStatusName is the file the guest writes the exit status to.
	GuestStatusName = "status"
	// GuestMount is where the guest directory appears inside the VM.
	GuestMount = "/run/claude-sandbox"
)

// GuestDir is the run's directory shared with the guest.
func GuestDir(h *Host) string { return path.Join(h.RunDir, "guest") }

// QEMU renders policy p for the vm backend on host h.
//
// The guest boots the host's kernel (through PVH when an uncompressed
// vmlinux is available) with the launcher as /init. On the host flavour
// the host's root file system is its read-only root; every other share is
// a 9p export of its own, except that a read-only directory is a bind of
// the same directory of the root's export, which QEMU exports read-only
// (every 9p device costs the guest's boot about 10 ms). The
// serial console is the user's terminal. With the network off the guest
// has no network card at all.
func QEMU(p *profile.Policy, h *Host) (*Plan, error) {
	qemu := h.Tools["qemu-system-x86_64"]
	if qemu == "" {
		return nil, fmt.Errorf("qemu-system-x86_64 not found on PATH: install QEMU (Debian and Ubuntu: apt install qemu-system-x86)")
	}
	if h.RunDir == "" {
		return nil, fmt.Errorf("no run directory")
	}
	nix := p.VM.Flavour == "nix"
	kernel, initrd := h.Kernel.Image, h.Kernel.Initramfs
	if nix {
		kernel, initrd = p.VM.Kernel, p.VM.Initrd
		if kernel == "" || initrd == "" || p.VM.System == "" {
			return nil, fmt.Errorf("vm.flavour = \"nix\" needs vm.kernel, vm.initrd and vm.system (the Nix package sets them)")
		}
	}
	if kernel == "" {
		return nil, fmt.Errorf("no guest kernel found: install one (Debian: apt install linux-image-amd64) or set vm.kernel")
	}
	us, err := UserShares(p, h)
	if err != nil {
		return nil, err
	}
	notes := us.Notes
	cmd, err := Command(p, h, profile.VM)
	if err != nil {
		return nil, err
	}
	net := NetworkFor(p, h, profile.VM)
	if net.Err != nil {
		return nil, net.Err
	}
	notes = append(notes, net.Notes...)
	_, guardNotes := UnixGuardFor(p, h, profile.VM, nil, net)
	notes = append(notes, guardNotes...)
	if p.Forward.Display || p.Forward.Audio || p.Forward.DBus || p.Forward.SSHAgent || p.Forward.GPU {
		notes = append(notes, "vm: display, audio, D-Bus, the SSH agent and the GPU stay isolated in the VM (use vm.display for a window)")
	}
	guestDir := GuestDir(h)
	plan := &Plan{HostDirs: HostDirs(p, h), Seed: Seeds(p, h), Symlinks: net.Symlinks,
		Placeholders: us.Placeholders, Protected: us.Protected}
	plan.Dirs = append(plan.Dirs, RootDir{Path: guestDir, Mode: 0o700, UserOwned: true},
		RootDir{Path: path.Join(guestDir, "files"), Mode: 0o700, UserOwned: true})

	accel := "tcg"
	cpu := "max"
	switch {
	case p.VM.Accel == "kvm" || (p.VM.Accel != "tcg" && h.KVM):
		accel, cpu = "kvm", "host"
	case p.VM.Accel == "auto" || p.VM.Accel == "":
		notes = append(notes, "vm: KVM is not usable on this host; using software emulation (slow)")
	}
	machine := orDefault(p.VM.Machine, "q35")
	mem := p.VM.MemoryMiB
	if mem == 0 {
		mem = 4096
	}
	cpus := p.VM.CPUs
	if cpus == 0 {
		cpus = 4
	}
	// The limits bound the machine itself: never more CPUs than the
	// sandbox may use, nor more memory than it may use plus what the
	// guest's kernel and init need (the guest's cgroup holds the command
	// to the limit itself).
	limits := Limits(p, h, profile.VM)
	if m := p.Limits.MemoryMiB + GuestKernelMiB; p.Limits.MemoryMiB > 0 && m < int64(mem) {
		mem = int(m)
	}
	if c := p.Limits.MilliCPUs; c > 0 && int((c+999)/1000) < cpus {
		cpus = int((c + 999) / 1000)
	}
	// The guest's crypto self-tests cost about 0.2 s under emulation and
	// check the same kernel the host already runs.
	appendLine := []string{"console=ttyS0", "quiet", "loglevel=0", "panic=-1", "cryptomgr.notests", "rdinit=/init"}
	if p.VM.Display {
		// The kernel's console shows in the window too; the last
		// console (the serial one, the user's terminal) stays
		// /dev/console.
		appendLine = append([]string{"console=tty0"}, appendLine...)
	}
	if nix {
		appendLine = []string{"console=ttyS0", "quiet", "panic=-1", "init=" + path.Join(p.VM.System, "init")}
	}
	// Every emulated device costs boot time (firmware, PCI enumeration,
	// probing): q35's built-in SATA and SMBus functions go, and the PS/2
	// controller too unless a window needs its keyboard. The guest has no
	// entropy device: its kernel seeds from the CPU's RDRAND.
	machineOpts := machine + ",accel=" + accel
	if machine == "q35" {
		machineOpts += ",sata=off,smbus=off"
		if !p.VM.Display {
			machineOpts += ",i8042=off,vmport=off"
		}
	}
	args := []string{qemu, "-nodefaults", "-no-user-config", "-no-reboot",
		"-machine", machineOpts, "-cpu", cpu,
		"-m", itoa(mem), "-smp", itoa(cpus),
		"-kernel", kernel, "-initrd", initrd, "-append", strings.Join(appendLine, " "),
		"-chardev", "stdio,id=console,signal=off", "-serial", "chardev:console"}
	var displayEnv []string
	if p.VM.Display {
		if displayEnv, err = QEMUDisplayEnv(h); err != nil {
			return nil, err
		}
		args = append(args, "-name", "claude-sandbox", "-device", "virtio-vga")
		args = append(append(args, qemuInputArgs()...), "-display", "gtk")
	} else {
		args = append(args, "-display", "none")
	}
	virtfs := func(tag, src string, ro bool, extra string) {
		opt := "local,path=" + qemuEscape(src) + ",mount_tag=" + tag + ",security_model=none,id=" + tag
		if ro {
			opt += ",readonly=on"
		}
		args = append(args, "-virtfs", opt+extra)
	}
	cfg := GuestConfig{
		UID: h.UID, GID: h.GID, Groups: h.Groups, User: h.User, Home: h.Home,
		Hostname: Hostname(p), Cwd: h.Real(p.ProjectDir), Argv: append(append([]string{}, net.Wrap...), cmd...),
		Etc: map[string]string{}, Network: p.Network.Mode != profile.NetworkOff, Display: p.VM.Display, Rows: h.TermRows, Cols: h.TermCols,
		Limits: GuestLimits{Cgroup: limits.Cgroup, Rlimits: limits.Rlimits, TmpfsMiB: p.Limits.DiskMiB},
	}
	if p.VM.Display {
		var note string
		if cfg.Xorg, note = guestXorg(h); note != "" {
			notes = append(notes, note)
		}
	}
	virtfs(GuestConfigTag, guestDir, false, "")
	if !nix {
		cfg.Root = GuestRootTag
		virtfs(GuestRootTag, "/", true, ",multidevs=remap")
	}
	n := 0
	for _, s := range us.Shares {
		switch s.Mode {
		case SharePin:
			cfg.Shares = append(cfg.Shares, GuestShare{Kind: "pin", Target: s.Target})
		case ShareData:
			name := fmt.Sprintf("f%d", n)
			n++
			plan.Files = append(plan.Files, GeneratedFile{Path: path.Join(guestDir, "files", name), Content: s.Data, Mode: 0o644, Show: true})
			cfg.Shares = append(cfg.Shares, GuestShare{Kind: "file", Tag: name, Target: s.Target, ReadOnly: true})
		case ShareRW, ShareRO:
			if s.Kind == Dir && s.Mode == ShareRO && !nix {
				n++
				cfg.Shares = append(cfg.Shares, GuestShare{Kind: "hostdir", Tag: s.Source, Target: s.Target, ReadOnly: true})
				continue
			}
			if s.Kind == Dir {
				tag := fmt.Sprintf("s%d", n)
				n++
				virtfs(tag, s.Source, s.Mode == ShareRO, "")
				cfg.Shares = append(cfg.Shares, GuestShare{Kind: "9p", Tag: tag, Target: s.Target, ReadOnly: s.Mode == ShareRO})
				continue
			}
			if s.Mode == ShareRW {
				return nil, fmt.Errorf("%s: the vm backend shares directories only; %s is a file", s.Why, s.Source)
			}
			name := fmt.Sprintf("f%d", n)
			n++
			plan.Seed = append(plan.Seed, SeedFile{From: s.Source, To: path.Join(guestDir, "files", name)})
			cfg.Shares = append(cfg.Shares, GuestShare{Kind: "file", Tag: name, Target: s.Target, ReadOnly: true})
		case ShareTmpfs:
			cfg.Shares = append(cfg.Shares, GuestShare{Kind: "tmpfs", Target: s.Target})
		case ShareHideFile:
			cfg.Shares = append(cfg.Shares, GuestShare{Kind: "hide", Target: s.Target})
		case ShareSymlink:
			cfg.Shares = append(cfg.Shares, GuestShare{Kind: "symlink", Tag: s.Source, Target: s.Target})
		}
	}
	cfg.UserDirs = UserDirs(h, us.Shares)
	if cfg.Network {
		args = append(args, "-netdev", "user,id=net0"+net.QEMUNetdev, "-device", "virtio-net-pci,netdev=net0")
		cfg.Etc["resolv.conf"] = "nameserver 10.0.2.3\n"
		if net.ResolvConf != nil {
			cfg.Etc["resolv.conf"] = string(net.ResolvConf)
			cfg.Proxy = net.GuestProxy
		}
	}
	for _, f := range GeneratedEtc(p, h, profile.VM) {
		cfg.Etc[f.Name] = string(f.Content)
	}
	var nixNote string
	if cfg.Nix, nixNote = guestNix(p, h); nixNote != "" {
		notes = append(notes, nixNote)
	}
	env, secret := Environment(p, h, profile.VM, nil)
	if cfg.Nix != nil {
		env["NIX_REMOTE"] = "daemon"
		addNixBuildUsers(cfg.Etc, h)
	}
	if accel == "tcg" {
		var added []string
		for k, v := range emulatedEnv() {
			if _, set := env[k]; !set {
				env[k] = v
				added = append(added, k+"="+v)
			}
		}
		if len(added) > 0 {
			sort.Strings(added)
			notes = append(notes, "vm: under emulation the guest sets "+strings.Join(added, " ")+" (Bun's optimising JIT tiers cost more than they save there); [env] set overrides")
		}
	}
	cfg.Env = EnvList(env)
	plan.Secret = secret
	data, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("guest configuration: %w", err)
	}
	plan.Files = append(plan.Files, GeneratedFile{Path: path.Join(guestDir, GuestConfigName), Content: append(data, '\n'), Mode: 0o600})
	plan.Argv = args
	// QEMU gets PATH and, for its window, the host display's variables:
	// nothing else of the host's environment.
	plan.Env = append([]string{"PATH=" + SystemPath}, displayEnv...)
	// The guest applies the limits; the host sets none on QEMU.
	limits.Cgroup, limits.Rlimits = CgroupLimits{}, nil
	plan.Limits = limits
	plan.Notes = notes
	return plan, nil
}

// emulatedEnv is set in the guest under software emulation unless the
// policy sets the variable itself. Bun (Claude Code's runtime) then stops
// at its baseline JIT: its optimising compilers run as emulated code on
// the guest's CPU, and the code they produce is translated again by
// QEMU, so under emulation they cost more during a start than they
// save.
func emulatedEnv() map[string]string {
	return map[string]string{"BUN_JSC_useDFGJIT": "0", "BUN_JSC_useFTLJIT": "0"}
}

// GuestKernelMiB is the guest memory allowed beyond limits.memory for the
// guest's own kernel and init.
const GuestKernelMiB = 128

// qemuEscape doubles commas, QEMU's escape inside option values.
func qemuEscape(s string) string { return strings.ReplaceAll(s, ",", ",,") }
