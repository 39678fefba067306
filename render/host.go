package render

// Host describes the machine a plan is rendered for. The backends' probe
// fills it in; renderers read nothing else about the host, so a Host value
// written by hand in a test stands for any machine.
type Host struct {
	// UID and GID are the invoking user's real ids (through sudo or
	// pkexec: the original user's, not root's).
	UID, GID int
	// Groups are the invoking user's supplementary group ids.
	Groups []int
	// User is the invoking user's login name.
	User string
	// Home is the invoking user's home directory, canonical.
	Home string
	// LoginShell is the user's shell from the passwd database.
	LoginShell string
	// Hostname is the host's name.
	Hostname string

	// Env is the launcher's environment (name → value).
	Env map[string]string
	// Files holds what the probe found at every path the renderer may
	// consult (see Paths). A path absent from the map is treated as
	// missing.
	Files map[string]File

	// DirEntries holds the names in each directory of ListedDirs that
	// exists; the entries themselves are in Files.
	DirEntries map[string][]string
	// Repos are the git repositories the probe found in the project, its
	// own included: every .git directory or gitfile down to depth 3,
	// outside node_modules and .git directories.
	Repos []Repo
	// Xauthority is the content of the X authority file ($XAUTHORITY or
	// ~/.Xauthority) with forward.display, nil when absent.
	Xauthority []byte
	// GHHosts is the content of ~/.config/gh/hosts.yml (nil when absent).
	GHHosts []byte

	// StdinTTY is true when standard input is a terminal.
	StdinTTY bool
	// NixOS is true on NixOS (/etc/NIXOS exists).
	NixOS bool
	// Systemd is true when systemd runs as PID 1 (machined is usable).
	Systemd bool
	// Root is true when the launcher runs with uid 0.
	Root bool

	// Self is the absolute path of the launcher's own executable, used to
	// run its helper modes inside a sandbox.
	Self string
	// Tools maps tool names (bwrap, systemd-nspawn, qemu-system-x86_64,
	// pasta, ...) to their absolute paths; missing tools are absent.
	Tools map[string]string
	// BwrapVersion is bwrap's version as [major, minor, patch], zero when unknown.
	BwrapVersion [3]int
	// CommandPath is the agent command resolved on the host's PATH ("" when
	// not found); renderers bind its installation when it lives in the
	// hidden home.
	CommandPath string
	// CommandSearched lists the directories searched for the command
	// beyond PATH (through sudo: the invoking user's usual install
	// places), for the error when it is not found.
	CommandSearched []string

	// RunDir is this run's private temporary directory on the host (0700),
	// removed when the run ends. Sockets and generated files live here.
	RunDir string
	// StateDir is the per-project persistent state directory
	// ($XDG_STATE_HOME/claude-sandbox/projects/<name>-<hash>).
	StateDir string

	// TermRows and TermCols are the terminal size, zero when unknown.
	TermRows, TermCols int

	// KVM is true when hardware virtualisation really works for the user.
	KVM bool
	// Kernel describes the guest kernel chosen for the vm backend.
	Kernel Kernel
	// RunID is a random identifier unique to this run (machine names).
	RunID string

	// Cgroup is the cgroup version ("v1" or "v2") in which the launcher
	// can create a cgroup for the run, "" when it cannot.
	Cgroup string
	// CgroupControllers are those of pids, memory and cpu that such a
	// cgroup can use.
	CgroupControllers []string
	// CgroupDelegated is true when the cgroup is created in a subtree
	// delegated to the (unprivileged) invoking user.
	CgroupDelegated bool
	// SubUID and SubGID are the first ids of the invoking user's
	// subordinate ranges (/etc/subuid, /etc/subgid), 0 when it has none;
	// the oci backend maps the container's root to them.
	SubUID, SubGID int

	// UserTasks counts the processes and threads the invoking user runs
	// now (RLIMIT_NPROC counts them too).
	UserTasks int
}

// File is what the probe found at a path.
type File struct {
	// Kind is the file type after following symlinks.
	Kind FileKind
	// Real is the canonical path, every symlink resolved.
	Real string
	// UID owns the file.
	UID int
}

// FileKind is a file type.
type FileKind int

// The file kinds; Missing is the zero value.
const (
	Missing FileKind = iota
	Dir
	Regular
	Socket
	CharDevice
	Other
)

// Repo is a git repository found in the project.
type Repo struct {
	// Git is the canonical path of its .git entry.
	Git string
	// Kind is Dir for a .git directory, Regular for a gitfile.
	Kind FileKind
	// Internal lists the paths inside a .git directory that match
	// GitInternals.
	Internal []string
	// ConfigPaths are the paths its configuration makes git run or read
	// (see GitConfigPaths).
	ConfigPaths []string
}

// Kernel is a guest kernel the vm backend can boot.
type Kernel struct {
	// Version is the kernel release (the /lib/modules directory name).
	Version string
	// Image is the bootable image (bzImage or vmlinux).
	Image string
	// Modules is the /lib/modules/<version> directory.
	Modules string
	// Initramfs is the generated initramfs.
	Initramfs string
}

// Exists reports whether the probe found anything at path.
func (h *Host) Exists(path string) bool { return h.Files[path].Kind != Missing }

// Is reports whether path exists with the given kind.
func (h *Host) Is(path string, kind FileKind) bool { return h.Files[path].Kind == kind }

// Real returns the canonical form of path, or path itself when the probe
// did not resolve it.
func (h *Host) Real(path string) string {
	if f, ok := h.Files[path]; ok && f.Real != "" {
		return f.Real
	}
	return path
}
