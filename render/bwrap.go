package render

import (
	"fmt"
	"path"
	"strings"

	"github.com/claude-sandbox/claude-sandbox/profile"
)

// bwrapArgs accumulates bwrap arguments and the files passed on
// descriptors.
type bwrapArgs struct {
	args  []string
	files []GeneratedFile
}

func (b *bwrapArgs) add(args ...string) { b.args = append(b.args, args...) }

// FirstFD is the first descriptor number generated files are passed on.
// It lies above the few descriptors a Go program holds open itself, so
// the runner can place files there without disturbing its own.
const FirstFD = 40

// file passes content on the next free descriptor (FirstFD, FirstFD+1,
// ...) and returns its number as text.
func (b *bwrapArgs) file(content []byte, show bool) string {
	fd := FirstFD + len(b.files)
	b.files = append(b.files, GeneratedFile{FD: fd, Content: content, Mode: 0o644, Show: show})
	return itoa(fd)
}

// Bwrap renders policy p for bubblewrap on host h.
//
// The sandbox sees the host's system directories read-only, an empty
// /home holding only the user's home at its real path, the project
// read-write at its real path as the working directory, and only the
// parts of the home the policy forwards. /etc holds generated passwd,
// group and friends (passed on descriptors, never written to disk) plus
// the host entries programs need. Every namespace is new; the network one
// follows the policy's mode. A seccomp filter blocks terminal injection
// and the system calls a coding agent never needs, and the environment is
// exactly Plan.Env: bwrap is executed with it, so no value ever appears
// on the command line.
func Bwrap(p *profile.Policy, h *Host) (*Plan, error) {
	bwrap := h.Tools["bwrap"]
	if bwrap == "" {
		return nil, fmt.Errorf("bwrap not found on PATH: install bubblewrap (Debian and Ubuntu: apt install bubblewrap; Fedora: dnf install bubblewrap)")
	}
	us, err := UserShares(p, h)
	if err != nil {
		return nil, err
	}
	notes := us.Notes
	cmd, err := Command(p, h, profile.Bubblewrap)
	if err != nil {
		return nil, err
	}
	net := NetworkFor(p, h, profile.Bubblewrap)
	if net.Err != nil {
		return nil, net.Err
	}
	notes = append(notes, net.Notes...)

	b := &bwrapArgs{}
	// Namespaces and process hardening.
	b.add("--unshare-all")
	if !net.Unshare {
		b.add("--share-net")
	}
	// New user namespaces are refused: by bwrap itself from 0.8 on, by
	// the seccomp filter with older versions.
	disableUserns := h.BwrapVersion == [3]int{} || versionAtLeast(h.BwrapVersion, 0, 8, 0)
	if disableUserns {
		b.add("--unshare-user", "--disable-userns")
	}
	b.add("--uid", itoa(h.UID), "--gid", itoa(h.GID))
	b.add("--die-with-parent", "--cap-drop", "ALL", "--hostname", Hostname(p))
	if !h.StdinTTY {
		b.add("--new-session")
	}

	// The system, read-only.
	hostEtc, genEtc := SandboxEtc(p, h, profile.Bubblewrap, net)
	bwrapSystem(b, p, h, hostEtc)

	// Private kernel file systems and scratch space.
	b.add("--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--tmpfs", "/var/tmp",
		"--tmpfs", "/run", "--perms", "0700", "--dir", Runtime(h), "--tmpfs", "/home", "--dir", h.Home)

	// Generated /etc files on descriptors.
	for _, f := range genEtc {
		fd := b.file(f.Content, true)
		b.add("--perms", "0644", "--file", fd, path.Join("/etc", f.Name))
	}

	// The user's data, in target order so parents come first.
	for _, s := range us.Shares {
		bwrapShare(b, s)
	}

	// Sockets and devices of forwarded host resources.
	sockets, fwd, fwdNotes := ForwardedSockets(p, h)
	notes = append(notes, fwdNotes...)
	for _, s := range fwd {
		bwrapShare(b, s)
	}
	for _, bind := range net.Binds {
		b.add("--bind", bind[0], bind[1])
	}
	for _, bind := range net.ROBinds {
		b.add("--ro-bind", bind[0], bind[1])
	}

	prog, err := SeccompProgram(SeccompOptions{BlockUserNamespaces: !disableUserns})
	if err != nil {
		return nil, err
	}
	b.add("--seccomp", b.file(prog, false))
	guard, guardNotes := UnixGuardFor(p, h, profile.Bubblewrap, fwd, net)
	notes = append(notes, guardNotes...)
	var guardArgv []string
	if guard != nil {
		filter, err := UnixGuardProgram(guard.SharedNetns)
		if err != nil {
			return nil, err
		}
		if guard.Helper == "" {
			guard.Filter = filter
		} else {
			guardArgv = []string{guard.Helper, UnixGuardArg, "--channel", itoa(UnixGuardFD), "--filter", b.file(filter, false)}
			if guard.DiagInside {
				guardArgv = append(guardArgv, "--diag")
			}
			guardArgv = append(guardArgv, "--")
		}
	}
	b.add("--chdir", h.Real(p.ProjectDir), "--")
	b.add(net.Wrap...)
	b.add(cmd...)

	proxy, _ := DBusProxyFor(p, h)
	env, secret := Environment(p, h, profile.Bubblewrap, sockets)
	argv := append(append(append(append([]string{}, net.Prefix...), guardArgv...), bwrap), b.args...)
	return &Plan{
		Argv:      argv,
		Env:       EnvList(env),
		Secret:    secret,
		Files:     b.files,
		Network:   net.Attach,
		HostDirs:  HostDirs(p, h),
		Seed:      Seeds(p, h),
		DBusProxy: proxy,
		UnixGuard: guard,
		Notes:     notes,

		Placeholders: us.Placeholders,
		Protected:    us.Protected,
		Limits:       Limits(p, h, profile.Bubblewrap),
	}, nil
}

// bwrapSystem adds the host's system directories: /usr and the usual
// top-level directories (as symlinks where the host has merged /usr), the
// Nix store and daemon socket, NixOS's system profile, and the host /etc
// entries the policy shares.
func bwrapSystem(b *bwrapArgs, p *profile.Policy, h *Host, hostEtc []string) {
	b.add("--ro-bind", "/usr", "/usr")
	for _, dir := range []string{"/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/opt"} {
		f, ok := h.Files[dir]
		switch {
		case !ok || f.Kind != Dir:
		case f.Real != "" && f.Real != dir:
			b.add("--symlink", f.Real, dir)
		default:
			b.add("--ro-bind", dir, dir)
		}
	}
	if h.NixOS && !h.Exists("/bin/bash") && h.Exists("/run/current-system/sw/bin/bash") {
		b.add("--symlink", "/run/current-system/sw/bin/bash", "/bin/bash")
	}
	if p.Forward.Nix && h.Is("/nix/store", Dir) {
		b.add("--ro-bind", h.Real("/nix/store"), "/nix/store")
		if h.Exists("/nix/var/nix/db") {
			b.add("--ro-bind", h.Real("/nix/var/nix/db"), "/nix/var/nix/db")
		}
		if h.Exists("/nix/var/nix/daemon-socket") {
			// connect() needs write access to the socket.
			b.add("--bind", h.Real("/nix/var/nix/daemon-socket"), "/nix/var/nix/daemon-socket")
		}
	}
	if h.Exists("/run/current-system") {
		b.add("--ro-bind", h.Real("/run/current-system"), "/run/current-system")
	}
	b.add("--dir", "/etc")
	made := map[string]bool{"/etc": true}
	for _, e := range hostEtc {
		// Directories rebuilt entry by entry (/etc/chromium.d) are
		// made first, readable as on the host.
		if d := path.Dir(e); !made[d] {
			b.add("--dir", d)
			made[d] = true
		}
		b.add("--ro-bind", h.Real(e), e)
	}
}

// bwrapShare adds one share.
func bwrapShare(b *bwrapArgs, s Share) {
	switch s.Mode {
	case ShareRW, SharePin:
		b.add("--bind", s.Source, s.Target)
	case ShareData:
		b.add("--ro-bind-data", b.file(s.Data, !s.Private), s.Target)
	case ShareRO:
		b.add("--ro-bind", s.Source, s.Target)
	case ShareDev:
		b.add("--dev-bind", s.Source, s.Target)
	case ShareTmpfs:
		b.add("--tmpfs", s.Target)
	case ShareHideFile:
		b.add("--ro-bind", "/dev/null", s.Target)
	case ShareSymlink:
		b.add("--symlink", s.Source, s.Target)
	}
}

// HostDirs lists the host directories a launch needs: ~/.claude (so a
// first login persists) and the per-project persistent directories.
func HostDirs(p *profile.Policy, h *Host) []string {
	var out []string
	if p.Forward.Claude {
		out = append(out, path.Join(h.Home, ".claude"))
	}
	if h.StateDir != "" {
		for _, rel := range p.Persist {
			out = append(out, path.Join(h.StateDir, rel))
		}
	}
	return out
}

// Seeds lists the host files copied once before the launch: Claude Code's
// configuration, from ~/.claude.json to the file the sandbox uses (see
// ClaudeConfigFile).
func Seeds(p *profile.Policy, h *Host) []SeedFile {
	if !p.Forward.Claude {
		return nil
	}
	from := path.Join(h.Home, ".claude.json")
	to := ClaudeConfigFile(h.Home)
	if !h.Is(from, Regular) || h.Exists(to) {
		return nil
	}
	return []SeedFile{{From: h.Real(from), To: to}}
}

func versionAtLeast(v [3]int, major, minor, patch int) bool {
	want := [3]int{major, minor, patch}
	for i := range v {
		if v[i] != want[i] {
			return v[i] > want[i]
		}
	}
	return true
}

// joinNonEmpty joins the non-empty parts with sep.
func joinNonEmpty(sep string, parts ...string) string {
	var out []string
	for _, s := range parts {
		if s != "" {
			out = append(out, s)
		}
	}
	return strings.Join(out, sep)
}
