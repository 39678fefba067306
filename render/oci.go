package render

import (
	"encoding/json"
	"fmt"
	"path"
	"runtime"
	"sort"
	"strings"

	"github.com/claude-sandbox/claude-sandbox/profile"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// OCIBundleDir is the OCI runtime bundle of a run, in its private
// directory.
func OCIBundleDir(h *Host) string { return path.Join(h.RunDir, "bundle") }

// ContainerID is the unique container id of an oci run.
func ContainerID(h *Host) string {
	id := h.RunID
	if len(id) > 16 {
		id = id[:16]
	}
	return "claude-sandbox-" + id
}

// Parts of a bundle directory. The root file system is an empty
// directory made read-only; the home and the runtime directory are
// writable directories of the bundle bound at their sandbox paths, so the
// launcher can create links and the user's directories in them first.
const (
	ociRootfs  = "rootfs"
	ociHome    = "home"
	ociRuntime = "runtime"
	ociData    = "data"
	// OCIConfig is the runtime-spec configuration file of a bundle.
	OCIConfig = "config.json"
)

// OCIInitName is the launcher's helper mode that is an oci container's
// init, and OCIInitInside where the launcher appears in the container.
const (
	OCIInitName   = "claude-sandbox-init"
	OCIInitInside = "/run/claude-sandbox/bin/" + OCIInitName
)

// OCIVersion is the runtime-spec version a bundle declares: the oldest
// that has every field used, so that the runtimes of stable
// distributions (runc 1.1, crun 1.8) accept it.
const OCIVersion = "1.0.2"

// OCIRuntime picks the OCI runtime executable for policy p on host h:
// oci.runtime names one, "auto" prefers crun to runc.
func OCIRuntime(p *profile.Policy, h *Host) (string, error) {
	want := p.OCI.Runtime
	if want == "" || want == "auto" {
		for _, r := range []string{"crun", "runc"} {
			if t := h.Tools[r]; t != "" {
				return t, nil
			}
		}
		return "", fmt.Errorf("the oci backend needs an OCI runtime: install crun or runc (Debian and Ubuntu: apt install crun)")
	}
	if t := h.Tools[want]; t != "" {
		return t, nil
	}
	if want == "runsc" {
		return "", fmt.Errorf("oci.runtime \"runsc\" (gVisor) not found on PATH: install gVisor (https://gvisor.dev/docs/user_guide/install/; Debian 12 has no package) or set oci.runtime = \"auto\"")
	}
	return "", fmt.Errorf("oci.runtime %q not found on PATH: install it or set oci.runtime = \"auto\"", want)
}

// OCIBundle is an OCI runtime bundle: its configuration and the files the
// launcher writes into it before the runtime starts.
type OCIBundle struct {
	// Spec is config.json.
	Spec *specs.Spec
	// Files are written into the bundle directory; their Path is relative
	// to it.
	Files []GeneratedFile
	// Dirs are created in the bundle directory (Path relative to it).
	Dirs []RootDir
	// Symlinks are created in the bundle directory (Path relative to it).
	Symlinks []Symlink
	// Secret lists environment names whose values are secret.
	Secret []string
	// Net is the network plan the bundle follows.
	Net NetworkPlan
	// Shares are every share of the user's data, forwards included.
	Shares *UserSet
	// Forwarded are the shares of forwarded host resources (sockets and
	// devices).
	Forwarded []Share
	// Notes are remarks for explain.
	Notes []string
}

// OCISpec renders policy p as an OCI runtime bundle to be placed in the
// host directory bundle. The sandbox matches bubblewrap's: the host's
// system directories read-only on an empty read-only root, generated
// /etc files, the project and the policy's shares at their real paths,
// hidden paths masked, every namespace new (the user namespace maps the
// invoking user to the same ids, except when the runtime runs as root),
// the network following the policy's mode, no capabilities, no new
// privileges, the same seccomp rules as a runtime-spec seccomp section,
// and the [limits] as rlimits and cgroup resources.
func OCISpec(p *profile.Policy, h *Host, bundle string, backend profile.Backend) (*OCIBundle, error) {
	us, err := UserShares(p, h)
	if err != nil {
		return nil, err
	}
	notes := append([]string(nil), us.Notes...)
	cmd, err := Command(p, h, backend)
	if err != nil {
		return nil, err
	}
	rt, _ := OCIRuntime(p, h)
	net := ociNetwork(p, h, rt)
	if net.Err != nil {
		return nil, net.Err
	}
	notes = append(notes, net.Notes...)
	b := &OCIBundle{Net: net, Shares: us}

	rootless := !h.Root
	ids := ociIDMapping(h, rt, rootless)
	if ids.note != "" {
		notes = append(notes, ids.note)
	}
	s := &specs.Spec{
		Version:  OCIVersion,
		Hostname: Hostname(p),
		Root:     &specs.Root{Path: ociRootfs, Readonly: true},
	}

	// The process.
	sockets, fwd, fwdNotes := ForwardedSockets(p, h)
	b.Forwarded = fwd
	notes = append(notes, fwdNotes...)
	env, secret := Environment(p, h, backend, sockets)
	b.Secret = secret
	user := specs.User{UID: ids.uid, GID: ids.gid}
	if !rootless {
		for _, g := range h.Groups {
			if g != h.GID {
				user.AdditionalGids = append(user.AdditionalGids, uint32(g))
			}
		}
	}
	empty := []string{}
	lp := Limits(p, h, profile.OCI)
	var rlimits []specs.POSIXRlimit
	for _, r := range lp.Rlimits {
		rlimits = append(rlimits, specs.POSIXRlimit{Type: "RLIMIT_" + r.Name, Hard: r.Value, Soft: r.Value})
	}
	s.Process = &specs.Process{
		Terminal:        h.StdinTTY,
		User:            user,
		Args:            append(append([]string{}, net.Wrap...), cmd...),
		Env:             EnvList(env),
		Cwd:             h.Real(p.ProjectDir),
		Capabilities:    &specs.LinuxCapabilities{Bounding: empty, Effective: empty, Permitted: empty, Inheritable: empty, Ambient: empty},
		Rlimits:         rlimits,
		NoNewPrivileges: true,
	}

	// Namespaces.
	linux := &specs.Linux{}
	if rootless {
		linux.Namespaces = append(linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
		linux.UIDMappings, linux.GIDMappings = ids.uids, ids.gids
	}
	for _, ns := range []specs.LinuxNamespaceType{specs.MountNamespace, specs.PIDNamespace, specs.IPCNamespace, specs.UTSNamespace, specs.CgroupNamespace} {
		linux.Namespaces = append(linux.Namespaces, specs.LinuxNamespace{Type: ns})
	}
	if net.Unshare {
		linux.Namespaces = append(linux.Namespaces, specs.LinuxNamespace{Type: specs.NetworkNamespace})
	}
	linux.MaskedPaths = []string{"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
		"/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi"}
	linux.ReadonlyPaths = []string{"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"}
	linux.RootfsPropagation = "private"
	seccomp, err := OCISeccomp()
	if err != nil {
		return nil, err
	}
	linux.Seccomp = seccomp
	if !rootless {
		// As root the runtime makes the container's cgroup with these
		// limits; rootless, the launcher starts the runtime inside a
		// cgroup of its own (as for bubblewrap), which a rootless
		// runtime without resources to set stays in.
		linux.Resources = ociResources(lp.Cgroup)
	}
	s.Linux = linux

	// The root: the system, kernel file systems, scratch space.
	m := &ociMounts{}
	m.bind("/usr", "/usr", true)
	eachTopSystemDir(h, func(dir string) { m.bind(dir, dir, true) }, func(dir, real string) {
		b.Symlinks = append(b.Symlinks, Symlink{Path: path.Join(ociRootfs, dir), Target: strings.TrimPrefix(real, "/")})
	})
	if p.Forward.Nix && h.Is("/nix/store", Dir) {
		m.bind(h.Real("/nix/store"), "/nix/store", true)
		if h.Exists("/nix/var/nix/db") {
			m.bind(h.Real("/nix/var/nix/db"), "/nix/var/nix/db", true)
		}
		if h.Exists("/nix/var/nix/daemon-socket") {
			m.bind(h.Real("/nix/var/nix/daemon-socket"), "/nix/var/nix/daemon-socket", false)
		}
	}
	if h.Exists("/run/current-system") {
		m.bind(h.Real("/run/current-system"), "/run/current-system", true)
	}
	m.add(specs.Mount{Destination: "/proc", Type: "proc", Source: "proc", Options: []string{"nosuid", "noexec", "nodev"}})
	m.add(specs.Mount{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}})
	pts := []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"}
	m.add(specs.Mount{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: pts})
	m.add(specs.Mount{Destination: "/dev/shm", Type: "tmpfs", Source: "shm", Options: []string{"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}})
	m.add(specs.Mount{Destination: "/dev/mqueue", Type: "mqueue", Source: "mqueue", Options: []string{"nosuid", "noexec", "nodev"}})
	for _, t := range []string{"/tmp", "/var/tmp"} {
		m.add(specs.Mount{Destination: t, Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "nodev", "mode=1777"}})
	}
	m.add(specs.Mount{Destination: "/run", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "nodev", "mode=755"}})
	m.add(specs.Mount{Destination: "/home", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "nodev", "mode=755"}})

	// The home and the runtime directory: the bundle's own, writable.
	b.Dirs = append(b.Dirs, RootDir{Path: ociRootfs, Mode: 0o755}, RootDir{Path: path.Join(ociRootfs, "etc"), Mode: 0o755},
		RootDir{Path: ociHome, Mode: 0o700, UserOwned: true}, RootDir{Path: ociRuntime, Mode: 0o700, UserOwned: true})
	m.bind(path.Join(bundle, ociHome), h.Home, false)
	m.bind(path.Join(bundle, ociRuntime), Runtime(h), false)

	// /etc: generated files in the root, host entries bound.
	hostEtc, genEtc := SandboxEtc(p, h, backend, net)
	for _, f := range genEtc {
		b.Files = append(b.Files, GeneratedFile{Path: path.Join(ociRootfs, "etc", f.Name), Content: f.Content, Mode: 0o644, Show: true})
	}
	for _, e := range hostEtc {
		m.bind(h.Real(e), e, true)
	}

	// The user's data, forwarded sockets and the network mode's binds.
	all := append(append([]Share{}, us.Shares...), fwd...)
	for _, d := range UserDirs(h, all) {
		if rel, ok := ociInBundle(h, d); ok {
			b.Dirs = append(b.Dirs, RootDir{Path: rel, Mode: 0o755, UserOwned: true})
		}
	}
	for i, sh := range all {
		switch sh.Mode {
		case ShareRW, SharePin:
			m.bind(sh.Source, sh.Target, false)
		case ShareDev:
			m.add(specs.Mount{Destination: sh.Target, Type: "bind", Source: sh.Source, Options: []string{"rbind", "nosuid"}})
		case ShareRO:
			m.bind(sh.Source, sh.Target, true)
		case ShareData:
			rel := path.Join(ociData, itoa(i))
			b.Files = append(b.Files, GeneratedFile{Path: rel, Content: sh.Data, Mode: 0o644, Show: true})
			m.bind(path.Join(bundle, rel), sh.Target, true)
		case ShareTmpfs:
			m.add(specs.Mount{Destination: sh.Target, Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "nodev", "mode=755"}})
		case ShareHideFile:
			m.bind("/dev/null", sh.Target, true)
		case ShareSymlink:
			rel, ok := ociInBundle(h, sh.Target)
			if !ok {
				return nil, fmt.Errorf("oci: cannot create the link %s outside the home and the runtime directory", sh.Target)
			}
			b.Symlinks = append(b.Symlinks, Symlink{Path: rel, Target: sh.Source})
		}
	}
	for _, bind := range net.Binds {
		m.bind(bind[0], bind[1], false)
	}
	for _, bind := range net.ROBinds {
		m.bind(bind[0], bind[1], true)
	}
	s.Mounts = m.list
	b.Dirs = append(b.Dirs, ociMountParents(m.list)...)
	b.Spec = s
	b.Notes = append(notes, "oci: the home and the runtime directory are directories of the bundle ("+ociHome+", "+ociRuntime+")")
	return b, nil
}

// ociIDs is a bundle's user namespace mapping and the ids the command
// runs as.
type ociIDs struct {
	uids, gids []specs.LinuxIDMapping
	uid, gid   uint32
	note       string
}

// ociIDMapping chooses the rootless user namespace mapping: the invoking
// user's ids map to the same ids inside. runc also needs the container's
// root mapped, to an id it may chown files to: with subordinate ids
// (/etc/subuid, /etc/subgid, newuidmap) runc runs as root of a user
// namespace the launcher makes first (see OCIOuterNamespace), where the
// user is 0 and the first subordinate id 1, and the container maps its
// root to 1 and the user's ids to 0. Without subordinate ids runc maps
// the container's root to the user, who then appears as root inside
// (files still belong to the user on the host). crun maps the user alone.
func ociIDMapping(h *Host, runtime string, rootless bool) ociIDs {
	one := func(in, out int) specs.LinuxIDMapping {
		return specs.LinuxIDMapping{ContainerID: uint32(in), HostID: uint32(out), Size: 1}
	}
	ids := ociIDs{uid: uint32(h.UID), gid: uint32(h.GID)}
	switch {
	case !rootless:
	case path.Base(runtime) != "runc" || h.UID == 0:
		ids.uids, ids.gids = []specs.LinuxIDMapping{one(h.UID, h.UID)}, []specs.LinuxIDMapping{one(h.GID, h.GID)}
	case OCIOuterNamespace(h, runtime):
		ids.uids = []specs.LinuxIDMapping{one(0, 1), one(h.UID, 0)}
		ids.gids = []specs.LinuxIDMapping{one(0, 1), one(h.GID, 0)}
	default:
		ids.uids, ids.gids = []specs.LinuxIDMapping{one(0, h.UID)}, []specs.LinuxIDMapping{one(0, h.GID)}
		ids.uid, ids.gid = 0, 0
		ids.note = "oci: runc without subordinate ids (/etc/subuid, /etc/subgid and newuidmap): you appear as root inside; files still belong to you on the host"
	}
	return ids
}

// OCIOuterNamespace reports whether a rootless runc runs inside a user
// namespace the launcher makes with newuidmap and newgidmap, mapping
// 0 to the user's ids and 1 to the first subordinate ids.
func OCIOuterNamespace(h *Host, runtime string) bool {
	return !h.Root && h.UID != 0 && path.Base(runtime) == "runc" && h.SubUID > 0 && h.SubGID > 0 &&
		h.Tools["newuidmap"] != "" && h.Tools["newgidmap"] != ""
}

// ociMountParents lists the directories of the root that hold mount
// points, so that the launcher creates them as the user: a runtime
// creating them would make them its container root's, which a rootless
// user cannot remove afterwards.
func ociMountParents(mounts []specs.Mount) []RootDir {
	dests := map[string]bool{}
	for _, m := range mounts {
		dests[m.Destination] = true
	}
	under := func(p string) bool {
		for d := path.Dir(p); d != "/"; d = path.Dir(d) {
			if dests[d] {
				return true
			}
		}
		return false
	}
	seen := map[string]bool{"/": true, "/etc": true}
	var out []RootDir
	for _, m := range mounts {
		if under(m.Destination) {
			continue
		}
		var chain []string
		for d := path.Dir(m.Destination); !seen[d]; d = path.Dir(d) {
			seen[d] = true
			chain = append([]string{d}, chain...)
		}
		for _, d := range chain {
			out = append(out, RootDir{Path: path.Join(ociRootfs, d), Mode: 0o755})
		}
	}
	return out
}

// ociNetwork plans the network of an oci run. The full mode needs a
// namespace the launcher makes and connects through slirp4netns before
// the runtime starts in it: as root, or rootless where runc runs inside
// the launcher's own user namespace (see OCIOuterNamespace). The
// allowlist is bubblewrap's: the launcher's netns helper runs in front of
// the runtime and makes the namespace (loopback up, every address local,
// low ports open), so that the bridge inside answers DNS and carries
// ports 80 and 443 to the proxy. Either way the runtime starts inside the
// namespace and the bundle has no network namespace of its own.
func ociNetwork(p *profile.Policy, h *Host, rt string) NetworkPlan {
	if p.Network.Mode != profile.NetworkFull {
		return NetworkFor(p, h, profile.Bubblewrap)
	}
	if h.Root || OCIOuterNamespace(h, rt) {
		return slirpNetwork(p, h)
	}
	return NetworkPlan{Err: errorf("network \"full\" on the oci backend needs root, or runc with subordinate ids (/etc/subuid, /etc/subgid and newuidmap from the uidmap package): choose network = \"allowlist\", \"off\" or \"host\", or the bubblewrap backend")}
}

// ociInBundle maps a sandbox path inside the home or the runtime
// directory to its place in the bundle.
func ociInBundle(h *Host, p string) (string, bool) {
	switch {
	case within(p, h.Home):
		return path.Join(ociHome, strings.TrimPrefix(p, h.Home)), true
	case within(p, Runtime(h)):
		return path.Join(ociRuntime, strings.TrimPrefix(p, Runtime(h))), true
	}
	return "", false
}

// ociMounts accumulates a spec's mounts in order.
type ociMounts struct{ list []specs.Mount }

func (m *ociMounts) add(mount specs.Mount) { m.list = append(m.list, mount) }

// bind adds a recursive bind mount, read-only when ro.
func (m *ociMounts) bind(src, dst string, ro bool) {
	opts := []string{"rbind", "nosuid", "nodev"}
	if ro {
		opts = append(opts, "ro")
	} else {
		opts = append(opts, "rw")
	}
	m.add(specs.Mount{Destination: dst, Type: "bind", Source: src, Options: opts})
}

// ociResources turns the cgroup limits the host can enforce into
// runtime-spec resources (nil when there are none).
func ociResources(c CgroupLimits) *specs.LinuxResources {
	if c.Empty() {
		return nil
	}
	r := &specs.LinuxResources{}
	if c.Pids > 0 {
		r.Pids = &specs.LinuxPids{Limit: &c.Pids}
	}
	if c.MemoryBytes > 0 {
		mem := c.MemoryBytes
		// memory.swap.max counts memory and swap together here: equal
		// to the limit means no swap.
		swap := c.MemoryBytes
		r.Memory = &specs.LinuxMemory{Limit: &mem, Swap: &swap}
	}
	if c.CPUQuotaMicros > 0 {
		q, per := c.CPUQuotaMicros, uint64(c.CPUPeriodMicros)
		r.CPU = &specs.LinuxCPU{Quota: &q, Period: &per}
	}
	return r
}

// OCISeccomp expresses the sandbox's seccomp filter (see
// SeccompInstructions) as a runtime-spec seccomp section: every call
// allowed by default; the native architecture only (the runtime's
// seccomp library kills the process on a call of any other, the x32 ABI
// on x86-64 included, where the classic filter answers EPERM); the calls
// in BlockedSyscalls and the ioctls in BlockedIoctls (the low 32 bits of
// the request compared, as the kernel does) failing with EPERM; clone and
// unshare with CLONE_NEWUSER failing with EPERM, and clone3 with ENOSYS
// so that the C library falls back to clone.
func OCISeccomp() (*specs.LinuxSeccomp, error) {
	var arch specs.Arch
	switch runtime.GOARCH {
	case "amd64":
		arch = specs.ArchX86_64
	case "arm64":
		arch = specs.ArchAARCH64
	default:
		return nil, fmt.Errorf("seccomp filter: unsupported architecture %s", runtime.GOARCH)
	}
	eperm := uint(unix.EPERM)
	enosys := uint(unix.ENOSYS)
	var names []string
	for n := range BlockedSyscalls {
		names = append(names, n)
	}
	sort.Strings(names)
	sc := &specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Architectures: []specs.Arch{arch},
		Syscalls: []specs.LinuxSyscall{
			{Names: names, Action: specs.ActErrno, ErrnoRet: &eperm},
		},
	}
	var ioctls []string
	for n := range BlockedIoctls {
		ioctls = append(ioctls, n)
	}
	sort.Strings(ioctls)
	for _, n := range ioctls {
		sc.Syscalls = append(sc.Syscalls, specs.LinuxSyscall{Names: []string{"ioctl"}, Action: specs.ActErrno, ErrnoRet: &eperm,
			Args: []specs.LinuxSeccompArg{{Index: 1, Value: 0xffffffff, ValueTwo: uint64(BlockedIoctls[n]), Op: specs.OpMaskedEqual}}})
	}
	for _, n := range []string{"clone", "unshare"} {
		sc.Syscalls = append(sc.Syscalls, specs.LinuxSyscall{Names: []string{n}, Action: specs.ActErrno, ErrnoRet: &eperm,
			Args: []specs.LinuxSeccompArg{{Index: 0, Value: unix.CLONE_NEWUSER, ValueTwo: unix.CLONE_NEWUSER, Op: specs.OpMaskedEqual}}})
	}
	sc.Syscalls = append(sc.Syscalls, specs.LinuxSyscall{Names: []string{"clone3"}, Action: specs.ActErrno, ErrnoRet: &enosys})
	return sc, nil
}

// OCI renders policy p for the oci backend on host h: a bundle in the
// run's private directory (config.json 0600, since it holds the
// environment) run by crun or runc under a unique container id.
func OCI(p *profile.Policy, h *Host) (*Plan, error) {
	rt, err := OCIRuntime(p, h)
	if err != nil {
		return nil, err
	}
	if h.RunDir == "" {
		return nil, fmt.Errorf("no run directory")
	}
	dir := OCIBundleDir(h)
	b, err := OCISpec(p, h, dir, profile.OCI)
	if err != nil {
		return nil, err
	}
	// The launcher is the container's init: it runs the command as its
	// child, passes signals on (a PID 1 without handlers ignores them),
	// reaps orphans, and kills the sandbox when the launcher's lifeline
	// (descriptor 3, kept open by --preserve-fds) closes; on descriptor 4
	// it reports that the command started.
	if h.Self == "" {
		return nil, fmt.Errorf("oci: the launcher's own path is unknown")
	}
	b.Spec.Mounts = append(b.Spec.Mounts, specs.Mount{Destination: OCIInitInside, Type: "bind", Source: h.Self, Options: []string{"rbind", "nosuid", "nodev", "ro"}})
	initArgs := []string{OCIInitInside}
	if path.Base(rt) == "runsc" {
		if p.UnixSockets != profile.UnixSocketsAll {
			b.Notes = append(b.Notes, "unix_sockets: granted: gVisor's gofer does not connect to host sockets on its shares (runsc's --host-uds is off)")
		}
	} else {
		guard, guardNotes := UnixGuardFor(p, h, profile.OCI, b.Forwarded, b.Net)
		b.Notes = append(b.Notes, guardNotes...)
		if guard != nil {
			initArgs = append(initArgs, guard.Args()...)
		}
	}
	b.Spec.Process.Args = append(append(initArgs, "--"), b.Spec.Process.Args...)
	config, err := json.MarshalIndent(b.Spec, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("oci: %w", err)
	}
	plan := &Plan{
		HostDirs:     HostDirs(p, h),
		Seed:         Seeds(p, h),
		Placeholders: b.Shares.Placeholders,
		Protected:    b.Shares.Protected,
		Limits:       Limits(p, h, profile.OCI),
		Secret:       b.Secret,
		Notes:        b.Notes,
		Network:      b.Net.Attach,
	}
	plan.Dirs = append(plan.Dirs, RootDir{Path: dir, Mode: 0o755})
	for _, d := range b.Dirs {
		plan.Dirs = append(plan.Dirs, RootDir{Path: path.Join(dir, d.Path), Mode: d.Mode, UserOwned: d.UserOwned})
	}
	for _, f := range b.Files {
		f.Path = path.Join(dir, f.Path)
		plan.Files = append(plan.Files, f)
	}
	plan.Files = append(plan.Files, GeneratedFile{Path: path.Join(dir, OCIConfig), Content: append(config, '\n'), Mode: 0o600})
	for _, l := range b.Symlinks {
		plan.Symlinks = append(plan.Symlinks, Symlink{Path: path.Join(dir, l.Path), Target: l.Target})
	}
	plan.DBusProxy, _ = DBusProxyFor(p, h)
	// The runtime's own state lives in the run directory, so nothing of
	// the run outlives it.
	plan.Argv = append(append([]string{}, b.Net.Prefix...), rt, "--root", path.Join(h.RunDir, "state"))
	if OCIOuterNamespace(h, rt) {
		// Root of the launcher's namespace is still no root on the host:
		// runc must not insist on a cgroup of its own there.
		plan.Argv = append(plan.Argv, "--rootless=true")
	}
	plan.Argv = append(plan.Argv, "run", "--preserve-fds", "2", "--bundle", dir, ContainerID(h))
	plan.Env = []string{"PATH=" + SystemPath, "TERM=" + orDefault(h.Env["TERM"], "xterm-256color")}
	if !h.Root {
		// A rootless runtime finds its runtime directory here.
		plan.Env = append(plan.Env, "XDG_RUNTIME_DIR="+path.Join(h.RunDir, "xdg"))
		plan.Dirs = append(plan.Dirs, RootDir{Path: path.Join(h.RunDir, "xdg"), Mode: 0o700})
	}
	return plan, nil
}
