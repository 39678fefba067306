package render

// Plan is what a backend executes: the program, its arguments and
// environment, and the files and directories to create first. Renderers
// return a Plan; backends carry it out.
type Plan struct {
	// Argv is the command to exec; Argv[0] is an absolute path.
	Argv []string
	// Env is the complete environment of the exec as NAME=VALUE, sorted;
	// nothing is inherited.
	Env []string
	// Secret lists names in Env whose values must never be printed.
	Secret []string
	// Files are generated files handed to the sandbox.
	Files []GeneratedFile
	// HostDirs are directories created on the host (owned by the invoking
	// user, mode 0700) before the launch, such as ~/.claude.
	HostDirs []string
	// Seed lists host files copied once before the launch.
	Seed []SeedFile
	// Symlinks are links the backend creates before the launch inside a
	// root it prepares (the container root): Path → Target text.
	Symlinks []Symlink
	// Dirs are directories the backend creates inside the root it
	// prepares, owned by the invoking user when UserOwned is set.
	Dirs []RootDir
	// DBusProxy, when set, is the filtering D-Bus proxy the backend starts
	// before the sandbox and stops after it.
	DBusProxy *DBusProxy
	// UnixGuard, when set, is the Unix socket guard the backend serves
	// for the life of the sandbox (see UnixGuard).
	UnixGuard *UnixGuard
	// Network, when set, is the user-mode network helper the backend
	// attaches to a new network namespace and starts Argv in (see
	// NetworkPlan.Attach).
	Network []string
	// Placeholders are created on the host before the launch where a
	// protected path is missing, and removed at exit when still empty.
	Placeholders []Placeholder
	// Protected says what holds for every protected path, for explain.
	Protected []Protection
	// Limits are the run's resource limits and how they are enforced.
	Limits LimitPlan
	// Notes are human-readable remarks for explain, for example a forward
	// the policy asks for that the host lacks.
	Notes []string
}

// GeneratedFile is file content the backend materialises.
type GeneratedFile struct {
	// FD, when non-zero, is the descriptor number the content is readable
	// from in the exec'd program (bwrap --file FD, --seccomp FD).
	FD int
	// Path, when FD is zero, is where to write the content: an absolute
	// path inside the run's private directory or container root.
	Path string
	// Content is the file's bytes.
	Content []byte
	// Mode is the permission bits.
	Mode uint32
	// Show is false for content that must not be printed (secrets).
	Show bool
}

// SeedFile is a host file copied once before the first launch: From is
// copied to To (mode 0600, owned by the invoking user) only when To does
// not exist and From does. Nothing is ever overwritten.
type SeedFile struct {
	From, To string
}

// Symlink is a symbolic link to create: Path is the link, Target its text.
type Symlink struct {
	Path, Target string
}

// RootDir is a directory to create inside a prepared root.
type RootDir struct {
	// Path is the absolute host path of the directory.
	Path string
	// Mode is the permission bits.
	Mode uint32
	// UserOwned gives it to the invoking user instead of root.
	UserOwned bool
}
