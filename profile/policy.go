package profile

// Policy is the fully resolved sandbox policy: every layer merged, every
// path expanded and absolute, every value concrete. Renderers consume it;
// nothing in it refers to the layer files any more except Origins.
//
// Paths in a Policy are expanded (~ and $HOME replaced, project-relative
// paths joined to ProjectDir) but not canonicalised: resolving symlinks
// needs the file system, so the backends' host probe does it and the
// renderers use the canonical forms it reports.
type Policy struct {
	// ProjectDir is the absolute project directory, shared read-write at
	// its real path and used as the working directory.
	ProjectDir string
	// Home is the invoking user's home directory (the path the sandbox
	// shows as HOME).
	Home string

	// Backend selects bubblewrap, container or vm.
	Backend Backend
	// Profile is the name of the selected named profile, "" for none.
	Profile string

	// Command is the agent command (argv, at least one element).
	Command []string
	// Shell is the interactive shell run by --shell (argv).
	Shell []string
	// UseShell is true when --shell was given: Shell runs instead of Command.
	UseShell bool
	// Args are the arguments given after the project dir on the command
	// line; they are appended to Command (or Shell with --shell).
	Args []string

	// Network is the network policy.
	Network Network

	// UnixSockets says which Unix sockets the sandbox may connect to:
	// granted (the forwarded ones and those made inside) or all.
	UnixSockets UnixSockets

	// Mounts are the extra mounts of the policy, sorted by Target.
	// Built-in shares (project, ~/.claude, git config, ...) are governed
	// by Forward, not listed here.
	Mounts []Mount

	// Forward holds the switches for host resources shared with the sandbox.
	Forward Forward

	// DBus says how the session bus is shared when Forward.DBus is on.
	DBus DBusPolicy

	// Env is the environment policy.
	Env EnvPolicy

	// Protect lists paths that the sandbox may not change, rename or
	// replace although they lie in a writable share: relative to
	// ProjectDir (such as .git/hooks, applied to every repository found
	// in the project when they start with .git/ or are .gitmodules), or
	// starting with ~/ relative to the home dir (such as
	// ~/.claude/settings.json).
	Protect []string

	// Persist lists home-relative directories (such as ".local/bin") kept
	// per project under the state directory and bound at their home path.
	Persist []string

	// Notice adds the generated sandbox notice to Claude Code's system
	// prompt when Command is Claude Code.
	Notice bool

	// Hostname is the host name inside the sandbox.
	Hostname string

	// VM holds the vm backend's settings.
	VM VMSettings
	// Container holds the container backend's settings.
	Container ContainerSettings
	// OCI holds the oci backend's and the export's settings.
	OCI OCISettings
	// Limits are the run's resource limits.
	Limits Limits

	// Force is set by --force: dangerous requests were explicitly allowed.
	Force bool

	// Origins maps a dotted key path (for example "network.mode",
	// "mounts./data", "forward.audio", "vm.memory") to where its value
	// came from.
	Origins map[string]Origin
}

// Network is the resolved network policy.
type Network struct {
	// Mode is off, allowlist, full or host.
	Mode NetworkMode
	// Allow holds domain patterns ("example.com", "*.example.com")
	// reachable in allowlist mode.
	Allow []string
	// Deny holds domain patterns refused even when Allow matches.
	Deny []string
	// LocalhostPorts are host loopback TCP ports the sandbox may reach
	// (allowlist and full modes).
	LocalhostPorts []int
}

// Mount is one extra mount of the policy.
type Mount struct {
	// Source is the absolute host path (empty for tmpfs).
	Source string
	// Target is the absolute path inside the sandbox.
	Target string
	// Mode is rw, ro, tmpfs or hide.
	Mode MountMode
	// Optional mounts are skipped (and reported by explain) when Source
	// does not exist; a missing non-optional source is an error at launch.
	Optional bool
}

// Forward holds the switches for host resources. Each is shared only when
// switched on and present on the host.
type Forward struct {
	Claude     bool // ~/.claude rw and Claude Code's ~/.claude.json
	GitConfig  bool // ~/.gitconfig and ~/.config/git, read-only
	SSHKeys    bool // ~/.ssh, read-only
	GHConfig   bool // ~/.config/gh, read-only
	GHToken    bool // GH_TOKEN and GITHUB_TOKEN
	Nix        bool // /nix/store ro, daemon socket rw, NIX_REMOTE=daemon
	Display    bool // X11 socket and Xauthority, Wayland socket
	Audio      bool // PipeWire and PulseAudio sockets
	GPU        bool // /dev/dri, /run/opengl-driver
	DBus       bool // session and system bus sockets
	SSHAgent   bool // SSH_AUTH_SOCK
	Locale     bool // LANG, LC_*, /etc/locale.conf
	HostConfig bool // DNS, hosts, TLS certificates, fonts, timezone
}

// DBusPolicy is the filter applied to the session bus. Names are
// well-known bus names, optionally ending in ".*" (a name and everything
// below it).
type DBusPolicy struct {
	// Filter puts xdg-dbus-proxy between the sandbox and the session bus;
	// false shares the raw session and system buses.
	Filter bool
	// Talk lists names the sandbox may call and receive signals from.
	Talk []string
	// Own lists names the sandbox may own.
	Own []string
	// See lists names the sandbox may see on the bus but not call.
	See []string
}

// EnvPolicy says which environment variables enter the sandbox besides the
// fixed set every backend passes (HOME, USER, PATH, TERM, ...).
type EnvPolicy struct {
	// Pass lists host variable names passed through when set on the host.
	Pass []string
	// Set maps names to literal values.
	Set map[string]string
}

// VMSettings are the vm backend's settings.
type VMSettings struct {
	// Flavour is "host" (host kernel and root over 9p) or "nix" (a NixOS
	// guest from the Nix package).
	Flavour string
	// Machine is the QEMU machine type (default q35).
	Machine string
	// Accel is auto, kvm or tcg.
	Accel string
	// MemoryMiB is the guest memory in MiB.
	MemoryMiB int
	// CPUs is the number of virtual CPUs.
	CPUs int
	// Kernel is the kernel image; "" picks an installed one.
	Kernel string
	// Initrd is the initrd for the nix flavour ("" for the host flavour,
	// whose initramfs the launcher generates).
	Initrd string
	// System is the NixOS system closure for the nix flavour.
	System string
	// Display opens a QEMU window instead of running headless.
	Display bool
}

// ContainerSettings are the container backend's settings.
type ContainerSettings struct {
	// Root is a system closure used as the container's root file system;
	// "" binds the host's /usr.
	Root string
	// MachinePrefix prefixes the unique machine name of each run.
	MachinePrefix string
}

// OCISettings are the settings of the oci backend and of export.
type OCISettings struct {
	// Runtime is the OCI runtime: "auto" (crun, else runc), "crun",
	// "runc" or "runsc".
	Runtime string
	// RuntimeClass is the Kubernetes runtimeClassName of an exported Pod
	// ("" leaves the cluster's default).
	RuntimeClass string
}

// orAuto returns s, or "auto" when s is empty.
func orAuto(s string) string {
	if s == "" {
		return "auto"
	}
	return s
}

// Origin says where a resolved value came from.
type Origin struct {
	// Layer is the layer kind: builtin, package, system, user, project or flags.
	Layer LayerKind
	// File is the file the value was read from ("" for flags).
	File string
	// Line is the 1-based line of the key, 0 when unknown.
	Line int
}
