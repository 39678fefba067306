package backends

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/claude-sandbox/claude-sandbox/backends/limits"
	"github.com/claude-sandbox/claude-sandbox/backends/vmimage"
	"github.com/claude-sandbox/claude-sandbox/profile"
	"github.com/claude-sandbox/claude-sandbox/render"
	"golang.org/x/sys/unix"
	"golang.org/x/term"
)

// Probe inspects the real host for policy p: the invoking user, the
// environment, every path the renderers may consult, the tools of p's
// backend and the terminal. It changes nothing on the host and starts no
// process, so it is cheap enough for every launch.
func Probe(p *profile.Policy) (*render.Host, error) {
	h := &render.Host{
		Env:   environ(),
		Files: map[string]render.File{},
		Tools: map[string]string{},
		Root:  os.Getuid() == 0,
	}
	if err := invokingUser(h, p.Backend != profile.Bubblewrap || h.Root); err != nil {
		return nil, err
	}
	if p.Home != "" {
		h.Home = p.Home
	}
	if real, err := filepath.EvalSymlinks(h.Home); err == nil {
		h.Home = real
	}
	h.Hostname, _ = os.Hostname()
	for _, path := range render.HostPaths(p, h.Env, h.Home, h.UID) {
		statInto(h, path)
	}
	listDirs(h)
	probeRepos(h, p)
	probeGHHosts(h, p)
	probeXauthority(h, p)
	h.NixOS = h.Exists("/etc/NIXOS")
	h.Systemd = isDir("/run/systemd/system")
	h.StdinTTY = term.IsTerminal(0)
	for _, fd := range []int{0, 1, 2} {
		if ws, err := unix.IoctlGetWinsize(fd, unix.TIOCGWINSZ); err == nil && ws.Row > 0 {
			h.TermRows, h.TermCols = int(ws.Row), int(ws.Col)
			break
		}
	}
	if self, err := os.Executable(); err == nil {
		if real, err := filepath.EvalSymlinks(self); err == nil {
			self = real
		}
		h.Self = self
	}
	for _, tool := range toolsFor(p) {
		look := exec.LookPath
		if p.Backend == profile.OCI {
			look = lookTool
		}
		if path, err := look(tool); err == nil {
			h.Tools[tool] = path
		}
	}
	if p.Backend == profile.OCI {
		h.SubUID, h.SubGID = subID("/etc/subuid", h.User, h.UID), subID("/etc/subgid", h.User, h.UID)
		for _, t := range []string{"newuidmap", "newgidmap"} {
			if path, err := lookTool(t); err == nil {
				h.Tools[t] = path
			}
		}
	}
	if p.Backend == profile.OCI && p.OCI.Runtime == "auto" && !cgroupUnified() {
		// crun refuses to start on a host that mounts cgroup v1 and v2
		// side by side; runc runs there.
		delete(h.Tools, "crun")
	}
	if len(p.Command) > 0 {
		h.CommandPath, h.CommandSearched = findCommand(p.Command[0], h.Home, sudoed(h))
		if h.CommandPath != "" {
			statInto(h, h.CommandPath)
		}
	}
	probeLimits(h, p)
	h.RunID = randomID()
	h.RunDir = runDirFor(h)
	h.StateDir = stateDirFor(h, p.ProjectDir)
	if p.Backend == profile.VM {
		h.KVM = kvmUsable()
		if p.VM.Flavour != "nix" {
			if k, err := vmimage.FindKernel("/boot", "/lib/modules", p.VM.Kernel); err == nil {
				h.Kernel = render.Kernel{Version: k.Version, Image: k.Image, Modules: k.Modules}
				if img, err := vmimage.Paths(vmCacheDir(h), k, h.Self); err == nil {
					h.Kernel.Image, h.Kernel.Initramfs = img.Kernel, img.InitramfsFor(p.VM.Display)
				}
			}
		}
	}
	return h, nil
}

// sudoed reports whether the launcher runs as root on behalf of another
// user (through sudo or pkexec).
func sudoed(h *render.Host) bool { return h.Root && h.UID != 0 }

// probeUser describes the invoking user only.
func probeUser() (*render.Host, error) {
	h := &render.Host{Env: environ(), Root: os.Getuid() == 0}
	if err := invokingUser(h, false); err != nil {
		return nil, err
	}
	return h, nil
}

// environ returns the process environment as a map.
func environ() map[string]string {
	env := map[string]string{}
	for _, kv := range os.Environ() {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	return env
}

// invokingUser fills in the user the sandbox is for: the real user, or
// through sudo or pkexec the user who ran it.
func invokingUser(h *render.Host, groups bool) error {
	uid := os.Getuid()
	if uid == 0 {
		if s := h.Env["SUDO_UID"]; s != "" {
			uid, _ = strconv.Atoi(s)
		} else if s := h.Env["PKEXEC_UID"]; s != "" {
			uid, _ = strconv.Atoi(s)
		}
	}
	h.UID, h.GID = uid, os.Getgid()
	u, err := user.LookupId(strconv.Itoa(uid))
	if err != nil {
		if uid != os.Getuid() {
			return fmt.Errorf("looking up the invoking user %d: %w", uid, err)
		}
		h.User = h.Env["USER"]
		h.Home = h.Env["HOME"]
		return nil
	}
	h.User, h.Home = u.Username, u.HomeDir
	if gid, err := strconv.Atoi(u.Gid); err == nil {
		h.GID = gid
	}
	if groups {
		ids, _ := u.GroupIds()
		for _, s := range ids {
			if g, err := strconv.Atoi(s); err == nil && g != h.GID {
				h.Groups = append(h.Groups, g)
			}
		}
	}
	return nil
}

// statInto records what is at path, following symlinks. A path that is
// not a symlink, in a directory already recorded, is resolved from that
// directory's real path instead of component by component.
func statInto(h *render.Host, path string) {
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		return
	}
	real := ""
	if st.Mode&unix.S_IFMT != unix.S_IFLNK {
		if dir, ok := h.Files[filepath.Dir(path)]; ok && dir.Kind == render.Dir && filepath.IsAbs(path) && filepath.Clean(path) == path {
			real = filepath.Join(dir.Real, filepath.Base(path))
		}
	} else if err := unix.Stat(path, &st); err != nil {
		return
	}
	if real == "" {
		real = path
		if r, err := filepath.EvalSymlinks(path); err == nil {
			real = r
		}
	}
	kind := render.Other
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		kind = render.Dir
	case unix.S_IFREG:
		kind = render.Regular
	case unix.S_IFSOCK:
		kind = render.Socket
	case unix.S_IFCHR:
		kind = render.CharDevice
	}
	h.Files[path] = render.File{Kind: kind, Real: real, UID: int(st.Uid)}
}

func isDir(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.IsDir()
}

// toolsFor lists the programs backend p needs.
func toolsFor(p *profile.Policy) []string {
	tools := map[profile.Backend][]string{
		profile.Bubblewrap: {"bwrap"},
		profile.Container:  {"systemd-nspawn"},
		profile.VM:         {"qemu-system-x86_64"},
		profile.OCI:        {"crun", "runc", "runsc"},
	}[p.Backend]
	if p.Network.Mode == profile.NetworkFull {
		tools = append(tools, "pasta", "slirp4netns")
	}
	if p.Forward.DBus && p.DBus.Filter && p.Backend != profile.VM {
		tools = append(tools, "xdg-dbus-proxy")
	}
	return tools
}

func randomID() string {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("reading random bytes: %v", err))
	}
	return hex.EncodeToString(b)
}

// runDirFor is where this run keeps what it generates: under the user's
// runtime directory when it is usable, in /tmp otherwise.
func runDirFor(h *render.Host) string {
	base := os.TempDir()
	if rt := h.Env["XDG_RUNTIME_DIR"]; rt != "" && !h.Root && isDir(rt) {
		base = rt
	}
	return filepath.Join(base, "claude-sandbox-"+strconv.Itoa(os.Getuid())+"-"+h.RunID)
}

// stateDirFor is the per-project persistent state directory:
// $XDG_STATE_HOME/claude-sandbox/projects/NAME-HASH, where NAME is the
// project's base name and HASH the first 12 hex digits of the SHA-256 of
// its path.
func stateDirFor(h *render.Host, project string) string {
	state := h.Env["XDG_STATE_HOME"]
	if state == "" || !filepath.IsAbs(state) || (h.Root && h.UID != 0) {
		state = filepath.Join(h.Home, ".local", "state")
	}
	sum := sha256.Sum256([]byte(project + "\n"))
	name := strings.Map(safeChar, filepath.Base(project))
	return filepath.Join(state, "claude-sandbox", "projects", name+"-"+hex.EncodeToString(sum[:])[:12])
}

// safeChar keeps the characters a state directory's name may hold
// (A-Z a-z 0-9 . _ -) and turns every other into "-".
func safeChar(r rune) rune {
	if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-' {
		return r
	}
	return '-'
}

// vmCacheDir is where the vm backend caches its boot files.
func vmCacheDir(h *render.Host) string {
	cache := h.Env["XDG_CACHE_HOME"]
	if cache == "" || !filepath.IsAbs(cache) || (h.Root && h.UID != 0) {
		cache = filepath.Join(h.Home, ".cache")
	}
	return filepath.Join(cache, "claude-sandbox", "vm")
}

// kvmUsable reports whether hardware virtualisation really works: the CPU
// has VT-x or AMD-V and /dev/kvm can be opened. A /dev/kvm without them
// (a nested paravirtual one) cannot boot a stock kernel.
func kvmUsable() bool {
	cpuinfo, err := os.ReadFile("/proc/cpuinfo")
	if err != nil || !regexp.MustCompile(`(?m)^flags\s*:.*\b(vmx|svm)\b`).Match(cpuinfo) {
		return false
	}
	f, err := os.OpenFile("/dev/kvm", os.O_RDWR, 0)
	if err != nil {
		return false
	}
	f.Close()
	return true
}

// probeLimits records where the launcher can create a cgroup for the
// run and, when processes fall back to RLIMIT_NPROC, how many tasks the
// user runs now.
func probeLimits(h *render.Host, p *profile.Policy) {
	if p.Backend == profile.VM {
		// The guest enforces the limits inside its own kernel.
		return
	}
	s := limits.Probe()
	h.Cgroup, h.CgroupControllers, h.CgroupDelegated = s.Version, s.Controllers(), s.Delegated
	if p.Limits.Processes > 0 && h.UID != 0 && !slices.Contains(h.CgroupControllers, render.CgroupPids) {
		h.UserTasks = limits.UserTasks(h.UID)
	}
}

// lookTool finds a tool on PATH, and then in the sbin directories an
// unprivileged user's PATH often lacks (runc lives in /usr/sbin).
func lookTool(tool string) (string, error) {
	p, err := exec.LookPath(tool)
	if err == nil {
		return p, nil
	}
	for _, dir := range []string{"/usr/local/sbin", "/usr/sbin", "/sbin"} {
		if q, e := exec.LookPath(filepath.Join(dir, tool)); e == nil {
			return q, nil
		}
	}
	return "", err
}

// cgroupUnified reports whether /sys/fs/cgroup is the cgroup v2 hierarchy
// alone (not v1 or hybrid).
func cgroupUnified() bool {
	var st unix.Statfs_t
	return unix.Statfs("/sys/fs/cgroup", &st) == nil && st.Type == unix.CGROUP2_SUPER_MAGIC
}

// subID returns the first id of the subordinate range of user (by name
// or uid) in file (/etc/subuid, /etc/subgid), 0 when there is none.
func subID(file, user string, uid int) int {
	data, err := os.ReadFile(file)
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Split(strings.TrimSpace(line), ":")
		if len(f) != 3 || (f[0] != user && f[0] != strconv.Itoa(uid)) {
			continue
		}
		start, err1 := strconv.Atoi(f[1])
		n, err2 := strconv.Atoi(f[2])
		if err1 == nil && err2 == nil && start > 0 && n > 0 {
			return start
		}
	}
	return 0
}

// listDirs records the entries of render.ListedDirs and stats each.
func listDirs(h *render.Host) {
	h.DirEntries = map[string][]string{}
	for _, dir := range render.ListedDirs {
		entries, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, e := range entries {
			h.DirEntries[dir] = append(h.DirEntries[dir], e.Name())
			statInto(h, filepath.Join(dir, e.Name()))
		}
	}
}
