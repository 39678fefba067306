package render

import (
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/claude-sandbox/claude-sandbox/profile"
)

// ShareMode is how a host path appears inside the sandbox.
type ShareMode int

// The share modes.
const (
	// ShareRO binds the source read-only.
	ShareRO ShareMode = iota
	// ShareRW binds the source read-write.
	ShareRW
	// ShareDev binds a device directory (such as /dev/dri) with device access.
	ShareDev
	// ShareTmpfs mounts an empty tmpfs at the target.
	ShareTmpfs
	// ShareHideFile covers a file with an empty read-only file.
	ShareHideFile
	// ShareSymlink creates a symlink at Target pointing to Source.
	ShareSymlink
	// SharePin binds a directory onto itself read-write inside a
	// writable share: its content stays writable, but as a mount point
	// it cannot be renamed, removed or replaced.
	SharePin
	// ShareData covers an existing file with generated content
	// (Share.Data), read-only.
	ShareData
)

// Share is one host path made visible in the sandbox. Every backend
// derives its mounts from the same list, so the backends cannot disagree
// about what a policy shares.
type Share struct {
	// Source is the canonical host path (the link text for ShareSymlink).
	Source string
	// Target is the path inside the sandbox.
	Target string
	// Mode says how the source appears.
	Mode ShareMode
	// Kind is the source's file kind (Dir, Regular, Socket, ...).
	Kind FileKind
	// Why names the policy key the share comes from, for explain.
	Why string
	// Data is the content of a ShareData share.
	Data []byte
	// Private marks Data as a credential (an X cookie): explain and
	// --dry-run never print it.
	Private bool
}

// Runtime is the per-user runtime directory inside every sandbox.
func Runtime(h *Host) string { return "/run/user/" + strconv.Itoa(h.UID) }

// ClaudeConfigFile is where Claude Code keeps its global configuration
// inside the sandbox. Claude Code writes that file by creating a temporary
// file beside it and renaming it over the old one, so a bind mount of the
// file itself breaks (rename onto a mount point fails) and a copy loses
// every change. Inside the sandbox CLAUDE_CONFIG_DIR points at ~/.claude,
// which makes Claude Code keep the file at ~/.claude/.claude.json: inside
// the read-write share of ~/.claude, where renames work and persist on the
// host. Sessions stay under ~/.claude/projects exactly as without the
// variable. The host's ~/.claude.json seeds it once, on the first run, and
// ~/.claude.json inside is a symlink to it for tools that read the default
// path.
func ClaudeConfigFile(home string) string { return path.Join(home, ".claude", ".claude.json") }

// HostPaths lists every host path the renderers may consult for policy p
// on a host whose environment is env, home directory home and user id uid.
// The backends' probe stats exactly these paths into Host.Files.
func HostPaths(p *profile.Policy, env map[string]string, home string, uid int) []string {
	set := map[string]bool{}
	add := func(ps ...string) {
		for _, s := range ps {
			if s != "" && path.IsAbs(s) {
				set[path.Clean(s)] = true
			}
		}
	}
	add(p.ProjectDir, home)
	add(protectPaths(p, home)...)
	add(systemPaths...)
	add(nixPaths...)
	add(nixDaemonPaths...)
	for _, e := range etcAlways {
		add(path.Join("/etc", e))
	}
	for _, e := range etcHostConfig {
		add(path.Join("/etc", e))
	}
	add("/etc/locale.conf", "/etc/default/locale", "/etc/NIXOS", "/etc/chromium", ChromiumConfDir)
	add(homePaths(home)...)
	for _, m := range p.Mounts {
		add(m.Source, m.Target)
	}
	rt := env["XDG_RUNTIME_DIR"]
	if rt == "" {
		rt = "/run/user/" + strconv.Itoa(uid)
	}
	add(rt)
	if w := env["WAYLAND_DISPLAY"]; w != "" {
		if path.IsAbs(w) {
			add(w)
		} else {
			add(path.Join(rt, w))
		}
	}
	if n, ok := x11Display(env["DISPLAY"]); ok {
		add("/tmp/.X11-unix/X" + n)
	}
	add(env["XAUTHORITY"], path.Join(home, ".Xauthority"))
	add(path.Join(rt, "pipewire-0"), path.Join(rt, "pulse", "native"), path.Join(rt, "pulse"))
	add(path.Join(rt, "bus"), sessionBusPath(env["DBUS_SESSION_BUS_ADDRESS"]), "/run/dbus/system_bus_socket")
	add(env["SSH_AUTH_SOCK"])
	add("/dev/dri", "/run/opengl-driver", XorgEvdevDriver)
	sorted := make([]string, 0, len(set))
	for s := range set {
		sorted = append(sorted, s)
	}
	sort.Strings(sorted)
	return sorted
}

// systemPaths are the host's system directories and the usual top-level
// links into /usr.
var systemPaths = []string{"/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/opt",
	"/usr/bin/env", "/bin/sh", "/bin/bash", "/run/current-system", "/run/current-system/sw/bin/bash"}

// eachTopSystemDir goes through the usual top-level system directories
// beside /usr: it calls bind for each that is a directory on the host and
// link, with its canonical path, for each that is a link to one (/usr/bin
// on a host with merged /usr), and passes over the others.
func eachTopSystemDir(h *Host, bind func(dir string), link func(dir, real string)) {
	for _, dir := range []string{"/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/opt"} {
		f, ok := h.Files[dir]
		switch {
		case !ok || f.Kind != Dir:
		case f.Real != "" && f.Real != dir:
			link(dir, f.Real)
		default:
			bind(dir)
		}
	}
}

var nixPaths = []string{"/nix/store", "/nix/var/nix/db", "/nix/var/nix/daemon-socket", "/etc/nix", "/etc/static"}

// etcAlways are host /etc entries every sandbox needs for programs to
// work: the dynamic linker's cache, Debian's alternatives links, terminal
// descriptions and shell start-up files.
var etcAlways = []string{"alternatives", "ld.so.cache", "ld.so.conf", "ld.so.conf.d", "terminfo",
	"bash.bashrc", "profile", "profile.d", "inputrc", "gitconfig", "mime.types", "protocols", "services"}

// etcHostConfig are the host /etc entries shared with forward.host_config:
// DNS, hosts, TLS certificates, fonts and the time zone.
var etcHostConfig = []string{"resolv.conf", "hosts", "ssl", "ca-certificates", "ca-certificates.conf",
	"pki", "fonts", "localtime", "timezone", "zoneinfo"}

func homePaths(home string) []string {
	var out []string
	for _, rel := range []string{".claude", ".claude.json", ".claude/.claude.json", ".gitconfig",
		".config/git", ".ssh", ".config/gh", GHHostsFile} {
		out = append(out, path.Join(home, rel))
	}
	return out
}

// x11Display returns the display number of an X11 DISPLAY value such as
// ":0" or "unix:1.0"; remote displays (host:0) are not local sockets.
func x11Display(display string) (string, bool) {
	i := strings.LastIndex(display, ":")
	if i < 0 {
		return "", false
	}
	if host := display[:i]; host != "" && host != "unix" {
		return "", false
	}
	n := display[i+1:]
	if j := strings.Index(n, "."); j >= 0 {
		n = n[:j]
	}
	if n == "" {
		return "", false
	}
	if _, err := strconv.Atoi(n); err != nil {
		return "", false
	}
	return n, true
}

// sessionBusPath extracts the socket path of a unix:path= D-Bus address;
// abstract and other addresses yield "".
func sessionBusPath(addr string) string {
	for _, part := range strings.Split(addr, ";") {
		if !strings.HasPrefix(part, "unix:") {
			continue
		}
		for _, kv := range strings.Split(strings.TrimPrefix(part, "unix:"), ",") {
			if v, ok := strings.CutPrefix(kv, "path="); ok {
				return v
			}
		}
	}
	return ""
}

// shareSet accumulates shares and notes while a plan is rendered.
type shareSet struct {
	h            *Host
	shares       []Share
	notes        []string
	protected    []Protection
	placeholders []Placeholder
}

// UserSet is what UserShares computes.
type UserSet struct {
	// Shares are sorted by target, parents first.
	Shares []Share
	// Notes are remarks for explain.
	Notes []string
	// Protected says what holds for every protected path.
	Protected []Protection
	// Placeholders are created on the host before the launch.
	Placeholders []Placeholder
}

// present reports whether the probe found p and returns its record.
func (s *shareSet) present(p string) (File, bool) {
	f, ok := s.h.Files[p]
	return f, ok && f.Kind != Missing
}

// bind shares host path src at dst (its canonical form is used as the
// source) when it exists. It reports whether it did.
func (s *shareSet) bind(src, dst string, mode ShareMode, why string) bool {
	f, ok := s.present(src)
	if !ok {
		return false
	}
	real := f.Real
	if real == "" {
		real = src
	}
	s.shares = append(s.shares, Share{Source: real, Target: dst, Mode: mode, Kind: f.Kind, Why: why})
	return true
}

func (s *shareSet) note(format string, args ...any) {
	s.notes = append(s.notes, sprintf(format, args...))
}

// UserShares computes the shares of policy p that concern the user's data:
// the project, the home directory's forwarded parts, the per-project
// persistent directories, the agent's installation, the policy's own
// mounts and the protected paths. System directories and sockets are
// added by each backend. The shares are sorted so that a parent
// directory's mount always precedes the mounts inside it.
func UserShares(p *profile.Policy, h *Host) (*UserSet, error) {
	s := &shareSet{h: h}
	home := h.Home
	project := h.Real(p.ProjectDir)
	if !h.Is(p.ProjectDir, Dir) {
		return nil, errorf("project dir %s does not exist or is not a directory", p.ProjectDir)
	}
	s.shares = append(s.shares, Share{Source: project, Target: project, Mode: ShareRW, Kind: Dir, Why: "project"})
	if p.Forward.Claude {
		claude := path.Join(home, ".claude")
		s.shares = append(s.shares, Share{Source: h.Real(claude), Target: claude, Mode: ShareRW, Kind: Dir, Why: "forward.claude"})
		s.shares = append(s.shares, Share{Source: ".claude/.claude.json", Target: path.Join(home, ".claude.json"), Mode: ShareSymlink, Why: "forward.claude"})
	}
	if p.Forward.GitConfig {
		s.bind(path.Join(home, ".gitconfig"), path.Join(home, ".gitconfig"), ShareRO, "forward.git_config")
		s.bind(path.Join(home, ".config/git"), path.Join(home, ".config/git"), ShareRO, "forward.git_config")
	}
	if p.Forward.SSHKeys {
		if !s.bind(path.Join(home, ".ssh"), path.Join(home, ".ssh"), ShareRO, "forward.ssh_keys") {
			s.note("forward.ssh_keys: %s does not exist on this host", path.Join(home, ".ssh"))
		}
	}
	if p.Forward.GHConfig {
		if s.bind(path.Join(home, ".config/gh"), path.Join(home, ".config/gh"), ShareRO, "forward.gh_config") {
			s.ghHosts(p)
		}
	}
	if h.StateDir != "" {
		for _, rel := range p.Persist {
			s.shares = append(s.shares, Share{Source: path.Join(h.StateDir, rel), Target: path.Join(home, rel), Mode: ShareRW, Kind: Dir, Why: "persist"})
		}
	}
	if err := s.agentInstall(p); err != nil {
		return nil, err
	}
	for _, m := range p.Mounts {
		if err := s.policyMount(m); err != nil {
			return nil, err
		}
	}
	s.protect(p, project)
	sortShares(s.shares)
	return &UserSet{Shares: s.shares, Notes: s.notes, Protected: s.protected, Placeholders: s.placeholders}, nil
}

// agentInstall shares the agent command's installation read-only when it
// lives under the home directory, which the sandbox otherwise hides. In
// shell mode the agent is still there for the user to start: a link by
// its name in AgentBin, which is on the shell's PATH, points at it.
func (s *shareSet) agentInstall(p *profile.Policy) error {
	h := s.h
	if h.CommandPath == "" {
		return nil
	}
	real := h.Real(h.CommandPath)
	if within(real, h.Home) {
		dir := InstallDir(real)
		s.shares = append(s.shares, Share{Source: dir, Target: dir, Mode: ShareRO, Kind: Dir, Why: "command"})
	}
	if p.UseShell && !onSystemPath(h.CommandPath) {
		s.shares = append(s.shares, Share{Source: real, Target: path.Join(AgentBin(h), path.Base(h.CommandPath)), Mode: ShareSymlink, Why: "command"})
	}
	return nil
}

// onSystemPath reports whether the program at p lies directly in one of
// SystemPath's directories.
func onSystemPath(p string) bool {
	for _, d := range strings.Split(SystemPath, ":") {
		if path.Dir(p) == d {
			return true
		}
	}
	return false
}

// InstallDir returns the directory holding the installation of the
// program at real (a canonical path): the node_modules directory for an
// npm package, so that its optional native dependencies come along, and
// the program's own directory otherwise.
func InstallDir(real string) string {
	if i := strings.LastIndex(real, "/node_modules/"); i >= 0 {
		return real[:i+len("/node_modules")]
	}
	return path.Dir(real)
}

func (s *shareSet) policyMount(m profile.Mount) error {
	why := "mounts." + m.Target
	switch m.Mode {
	case profile.MountTmpfs:
		s.shares = append(s.shares, Share{Target: m.Target, Mode: ShareTmpfs, Kind: Dir, Why: why})
		return nil
	case profile.MountHide:
		f, ok := s.present(m.Target)
		switch {
		case !ok:
			s.note("%s: %s does not exist; nothing to hide", why, m.Target)
		case f.Kind == Dir:
			s.shares = append(s.shares, Share{Target: m.Target, Mode: ShareTmpfs, Kind: Dir, Why: why})
		default:
			s.shares = append(s.shares, Share{Source: "/dev/null", Target: m.Target, Mode: ShareHideFile, Kind: Regular, Why: why})
		}
		return nil
	}
	mode := ShareRO
	if m.Mode == profile.MountRW {
		mode = ShareRW
	}
	if !s.bind(m.Source, m.Target, mode, why) {
		if m.Optional {
			s.note("%s: optional source %s does not exist; skipped", why, m.Source)
			return nil
		}
		return errorf("%s: source %s does not exist (mark the mount optional to skip it)", why, m.Source)
	}
	return nil
}

// within reports whether p is dir or lies below it.
func within(p, dir string) bool {
	return p == dir || strings.HasPrefix(p, strings.TrimSuffix(dir, "/")+"/")
}

// sortShares orders shares by target so that parents come before their
// children; shares with the same target keep their order, so the later
// one (the policy's own mount) covers the earlier.
func sortShares(s []Share) {
	sort.SliceStable(s, func(i, j int) bool { return s[i].Target < s[j].Target })
}
