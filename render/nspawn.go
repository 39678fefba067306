package render

import (
	"fmt"
	"path"
	"strconv"
	"strings"

	"github.com/claude-sandbox/claude-sandbox/profile"
)

// Paths inside the container root that belong to the launcher.
const (
	// ContainerDir holds the entrypoint and its environment file.
	ContainerDir = "/.claude-sandbox"
	// EntrypointName is the helper mode that drops privileges inside the
	// container and runs the command.
	EntrypointName = "claude-sandbox-entrypoint"
)

// ContainerRoot is the ephemeral root directory prepared for a run.
func ContainerRoot(h *Host) string { return path.Join(h.RunDir, "root") }

// MachineName is the unique machine name of a container run.
func MachineName(p *profile.Policy, h *Host) string {
	prefix := p.Container.MachinePrefix
	if prefix == "" {
		prefix = "claude-sandbox"
	}
	id := h.RunID
	if len(id) > 12 {
		id = id[:12]
	}
	return prefix + "-" + id
}

// Nspawn renders policy p for systemd-nspawn on host h.
//
// The container's root is a fresh directory in the run's private
// directory holding generated /etc files, the invoking user's home and
// mount points; the host's /usr (or a Nix system closure) is bound
// read-only, and the same shares as every backend are bound at their host
// paths. The command runs as PID 2 under the launcher's own entrypoint,
// which reads the environment from a 0600 file (values never reach
// nspawn's command line), drops to the user's uid, gid and groups with no
// new privileges and no capabilities, installs the seccomp filter
// bubblewrap gets (refusing new user namespaces too), and executes the
// command.
func Nspawn(p *profile.Policy, h *Host) (*Plan, error) {
	nspawn := h.Tools["systemd-nspawn"]
	if nspawn == "" {
		return nil, fmt.Errorf("systemd-nspawn not found on PATH: install it (Debian and Ubuntu: apt install systemd-container)")
	}
	if h.RunDir == "" {
		return nil, fmt.Errorf("no run directory")
	}
	us, err := UserShares(p, h)
	if err != nil {
		return nil, err
	}
	notes := us.Notes
	cmd, err := Command(p, h, profile.Container)
	if err != nil {
		return nil, err
	}
	net := NetworkFor(p, h, profile.Container)
	if net.Err != nil {
		return nil, net.Err
	}
	notes = append(notes, net.Notes...)
	root := ContainerRoot(h)
	plan := &Plan{HostDirs: HostDirs(p, h), Seed: Seeds(p, h), Placeholders: us.Placeholders, Protected: us.Protected}

	args := []string{nspawn, "--quiet", "--directory=" + root, "--machine=" + MachineName(p, h),
		"--hostname=" + Hostname(p), "--as-pid2", "--private-users=no",
		"--resolv-conf=off", "--timezone=off", "--link-journal=no"}
	if !h.Systemd {
		// Without systemd as PID 1 there is no machined to register
		// with and no unit to move into; nspawn needs both switched off.
		args = append(args, "--register=no", "--keep-unit")
	}
	if !h.StdinTTY {
		args = append(args, "--console=pipe")
	}
	if net.Unshare {
		args = append(args, "--private-network")
	}
	// nspawn gives its payload the kernel's default rlimits: the limits
	// that are rlimits travel as its arguments.
	plan.Limits = Limits(p, h, profile.Container)
	for _, r := range plan.Limits.Rlimits {
		args = append(args, "--rlimit=RLIMIT_"+r.Name+"="+utoa(r.Value))
	}
	plan.Limits.Rlimits = nil
	if net.JoinPrefix {
		args = append(args, "--network-namespace-path=/proc/self/ns/net")
	}

	// The root: top-level directories and links, generated /etc.
	for _, d := range []string{"usr", "etc", "proc", "sys", "dev", "run", "tmp", "var", "var/tmp", "root", "home", ContainerDir[1:]} {
		mode := uint32(0o755)
		if d == "tmp" || d == "var/tmp" {
			mode = 0o1777
		}
		plan.Dirs = append(plan.Dirs, RootDir{Path: path.Join(root, d), Mode: mode})
	}
	plan.Dirs = append(plan.Dirs, RootDir{Path: path.Join(root, h.Home), Mode: 0o700, UserOwned: true})
	if c := p.Container.Root; c != "" {
		args = append(args, "--bind-ro=/nix/store")
		sw := path.Join(c, "sw", "bin")
		plan.Dirs = append(plan.Dirs, RootDir{Path: path.Join(root, "bin"), Mode: 0o755}, RootDir{Path: path.Join(root, "usr/bin"), Mode: 0o755})
		for _, l := range []string{"bin/sh", "bin/bash", "usr/bin/env"} {
			plan.Symlinks = append(plan.Symlinks, Symlink{Path: path.Join(root, l), Target: path.Join(sw, path.Base(l))})
		}
	} else {
		args = append(args, "--bind-ro=/usr")
		eachTopSystemDir(h, func(dir string) { args = append(args, "--bind-ro="+nspawnPath(dir)) }, func(dir, real string) {
			plan.Symlinks = append(plan.Symlinks, Symlink{Path: path.Join(root, dir), Target: strings.TrimPrefix(real, "/")})
		})
	}
	if p.Forward.Nix && h.Is("/nix/store", Dir) {
		if p.Container.Root == "" {
			args = append(args, "--bind-ro="+nspawnPath(h.Real("/nix/store"))+":/nix/store")
		}
		if h.Exists("/nix/var/nix/db") {
			args = append(args, "--bind-ro="+nspawnPath(h.Real("/nix/var/nix/db"))+":/nix/var/nix/db")
		}
		if h.Exists("/nix/var/nix/daemon-socket") {
			args = append(args, "--bind="+nspawnPath(h.Real("/nix/var/nix/daemon-socket"))+":/nix/var/nix/daemon-socket")
		}
	}
	if h.Exists("/run/current-system") {
		args = append(args, "--bind-ro="+nspawnPath(h.Real("/run/current-system"))+":/run/current-system")
	}
	hostEtc, genEtc := SandboxEtc(p, h, profile.Container, net)
	for _, e := range hostEtc {
		args = append(args, "--bind-ro="+nspawnPath(h.Real(e))+":"+nspawnPath(e))
	}
	for _, f := range genEtc {
		plan.Files = append(plan.Files, GeneratedFile{Path: path.Join(root, "etc", f.Name), Content: f.Content, Mode: 0o644, Show: true})
	}

	sockets, fwd, fwdNotes := ForwardedSockets(p, h)
	notes = append(notes, fwdNotes...)
	for i, s := range append(us.Shares, fwd...) {
		switch s.Mode {
		case ShareData:
			// Beside the root, never inside it: the file is bound in.
			file := path.Join(h.RunDir, "data", itoa(i))
			plan.Files = append(plan.Files, GeneratedFile{Path: file, Content: s.Data, Mode: 0o644, Show: !s.Private})
			args = append(args, "--bind-ro="+nspawnPath(file)+":"+nspawnPath(s.Target))
		case ShareRW, ShareDev, SharePin:
			args = append(args, "--bind="+nspawnPath(s.Source)+":"+nspawnPath(s.Target))
		case ShareRO:
			args = append(args, "--bind-ro="+nspawnPath(s.Source)+":"+nspawnPath(s.Target))
		case ShareTmpfs:
			args = append(args, "--tmpfs="+nspawnPath(s.Target))
		case ShareHideFile:
			args = append(args, "--bind-ro=/dev/null:"+nspawnPath(s.Target))
		case ShareSymlink:
			plan.Symlinks = append(plan.Symlinks, Symlink{Path: path.Join(root, s.Target), Target: s.Source})
		}
	}
	for _, b := range net.Binds {
		args = append(args, "--bind="+nspawnPath(b[0])+":"+nspawnPath(b[1]))
	}
	for _, b := range net.ROBinds {
		args = append(args, "--bind-ro="+nspawnPath(b[0])+":"+nspawnPath(b[1]))
	}

	// The entrypoint: the launcher itself, bound read-only.
	entry := path.Join(ContainerDir, EntrypointName)
	plan.Files = append(plan.Files, GeneratedFile{Path: path.Join(root, entry), Mode: 0o755, Show: true})
	args = append(args, "--bind-ro="+nspawnPath(h.Self)+":"+entry)
	env, secret := Environment(p, h, profile.Container, sockets)
	plan.Files = append(plan.Files, GeneratedFile{Path: path.Join(root, ContainerEnvFile), Content: EnvFile(env), Mode: 0o600})
	plan.Secret = secret

	plan.DBusProxy, _ = DBusProxyFor(p, h)

	guard, guardNotes := UnixGuardFor(p, h, profile.Container, fwd, net)
	notes = append(notes, guardNotes...)
	if guard != nil {
		// nspawn's own filter refuses these; the entrypoint needs them
		// to take the command's socket (see package unixguard).
		args = append(args, "--system-call-filter=pidfd_open pidfd_getfd")
	}
	// The entrypoint gives the user the directories nspawn creates as
	// root for mount points below the home and the runtime directory.
	args = append(args, "--", entry,
		"--uid="+itoa(h.UID), "--gid="+itoa(h.GID), "--groups="+joinInts(h.Groups),
		"--chdir="+h.Real(p.ProjectDir), "--runtime-dir="+Runtime(h))
	for _, d := range UserDirs(h, append(us.Shares, fwd...)) {
		args = append(args, "--user-dir="+d)
	}
	if guard != nil {
		args = append(args, guard.Args()...)
	}
	args = append(args, "--")
	args = append(args, net.Wrap...)
	args = append(args, cmd...)
	plan.Argv = append(append([]string{}, net.Prefix...), args...)
	// nspawn itself needs no environment from the host; PATH lets it
	// find its helpers.
	plan.Env = []string{"PATH=" + SystemPath, "TERM=" + orDefault(h.Env["TERM"], "xterm-256color")}
	plan.Network = net.Attach
	plan.Notes = notes
	return plan, nil
}

// ContainerEnvFile is the environment file the entrypoint reads and
// removes, relative to the container root.
const ContainerEnvFile = ContainerDir + "/env"

// EnvFile encodes an environment as NUL-terminated NAME=VALUE entries,
// sorted.
func EnvFile(env map[string]string) []byte {
	var b strings.Builder
	for _, e := range EnvList(env) {
		b.WriteString(e)
		b.WriteByte(0)
	}
	return []byte(b.String())
}

// nspawnPath escapes a path for nspawn's colon-separated bind syntax.
func nspawnPath(p string) string {
	return strings.NewReplacer(`\`, `\\`, ":", `\:`).Replace(p)
}

func utoa(n uint64) string { return strconv.FormatUint(n, 10) }

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, n := range v {
		s[i] = itoa(n)
	}
	return strings.Join(s, ",")
}
