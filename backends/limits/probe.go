// Package limits puts a run under its resource limits: a cgroup created
// for the run where the launcher can write one (cgroup v2, or the v1
// hierarchies of older hosts), and rlimits set on the sandbox's first
// process. It works without systemd: the cgroup is created directly in
// the cgroup file system, below the launcher's own cgroup or its parent.
package limits

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/claude-sandbox/claude-sandbox/render"
	"golang.org/x/sys/unix"
)

// controllers are the cgroup controllers a run's cgroup uses, in order.
var controllers = []string{render.CgroupPids, render.CgroupMemory, render.CgroupCPU}

// Support is what this host offers the launcher for a run's cgroup.
type Support struct {
	// Version is "v2", "v1" or "" when no cgroup can be created.
	Version string
	// Parents maps each usable controller to the directory a run's cgroup
	// is created in (with cgroup v2 the same directory for all).
	Parents map[string]string
	// Origins maps each usable controller to the launcher's own cgroup
	// directory (where a cgroup v1 launcher returns after placing a child).
	Origins map[string]string
	// Delegated is true when an unprivileged launcher can write the
	// parent: a subtree delegated to the user.
	Delegated bool
	// Why says why no cgroup (or only part of the controllers) can be used.
	Why string
}

// Controllers lists the usable controllers in the order pids, memory, cpu.
func (s Support) Controllers() []string {
	var out []string
	for _, c := range controllers {
		if _, ok := s.Parents[c]; ok {
			out = append(out, c)
		}
	}
	return out
}

// mount is a cgroup file system mount.
type mount struct {
	root, dir string
	v2        bool
	ctrls     []string
}

// Probe finds where the launcher can create a cgroup for a run. It
// changes nothing.
func Probe() Support {
	mounts := cgroupMounts()
	own := ownCgroups()
	v2 := probeV2(mounts, own)
	v1 := probeV1(mounts, own)
	best := v2
	if len(v1.Parents) > len(v2.Parents) {
		best = v1
	}
	if len(best.Parents) == 0 {
		best.Version = ""
		best.Why = "no writable cgroup with the pids, memory or cpu controller"
		if os.Getuid() != 0 {
			best.Why += " (none is delegated to this user)"
		}
	}
	return best
}

func probeV2(mounts []mount, own map[string]string) Support {
	s := Support{Version: "v2", Parents: map[string]string{}, Origins: map[string]string{}}
	path, ok := own[""]
	if !ok {
		return s
	}
	var m *mount
	for i := range mounts {
		if mounts[i].v2 {
			m = &mounts[i]
			break
		}
	}
	if m == nil {
		return s
	}
	dir, ok := under(*m, path)
	if !ok {
		return s
	}
	for _, cand := range []string{dir, filepath.Dir(dir)} {
		if !strings.HasPrefix(cand, m.dir) || !writable(cand) || !writable(filepath.Join(cand, "cgroup.subtree_control")) {
			continue
		}
		enabled := words(filepath.Join(cand, "cgroup.subtree_control"))
		available := words(filepath.Join(cand, "cgroup.controllers"))
		// Controllers can be enabled for children only in the root
		// cgroup or one without processes of its own.
		canEnable := cand == m.dir || len(words(filepath.Join(cand, "cgroup.procs"))) == 0
		for _, c := range controllers {
			if slices.Contains(enabled, c) || (canEnable && slices.Contains(available, c)) {
				s.Parents[c] = cand
				s.Origins[c] = dir
			}
		}
		if len(s.Parents) > 0 {
			s.Delegated = os.Getuid() != 0
			return s
		}
	}
	return s
}

func probeV1(mounts []mount, own map[string]string) Support {
	s := Support{Version: "v1", Parents: map[string]string{}, Origins: map[string]string{}}
	for _, c := range controllers {
		for _, m := range mounts {
			if m.v2 || !slices.Contains(m.ctrls, c) {
				continue
			}
			dir, ok := under(m, own[c])
			if !ok {
				continue
			}
			for _, cand := range []string{dir, filepath.Dir(dir)} {
				if strings.HasPrefix(cand, m.dir) && writable(cand) && writable(filepath.Join(cand, "cgroup.procs")) {
					s.Parents[c] = cand
					s.Origins[c] = dir
					break
				}
			}
			break
		}
	}
	s.Delegated = len(s.Parents) > 0 && os.Getuid() != 0
	return s
}

// under returns the directory of cgroup path (as /proc/self/cgroup names
// it) inside mount m.
func under(m mount, path string) (string, bool) {
	if path == "" {
		return "", false
	}
	rel := path
	if m.root != "/" {
		r, ok := strings.CutPrefix(path, m.root)
		if !ok {
			return "", false
		}
		rel = r
	}
	return filepath.Join(m.dir, rel), true
}

func writable(p string) bool { return unix.Access(p, unix.W_OK) == nil }

// words returns the whitespace-separated words of a small file.
func words(p string) []string {
	b, err := os.ReadFile(p)
	if err != nil {
		return nil
	}
	return strings.Fields(string(b))
}

// cgroupMounts lists the cgroup file systems in /proc/self/mountinfo.
func cgroupMounts() []mount {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []mount
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		if !ok {
			continue
		}
		a, b := strings.Fields(pre), strings.Fields(post)
		if len(a) < 5 || len(b) < 3 {
			continue
		}
		m := mount{root: unescape(a[3]), dir: unescape(a[4])}
		switch b[0] {
		case "cgroup2":
			m.v2 = true
		case "cgroup":
			for _, o := range strings.Split(b[2], ",") {
				if slices.Contains(controllers, o) {
					m.ctrls = append(m.ctrls, o)
				}
			}
		default:
			continue
		}
		out = append(out, m)
	}
	return out
}

// unescape undoes mountinfo's octal escapes (\040 for a space).
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// ownCgroups reads /proc/self/cgroup: controller → path, "" for cgroup v2.
func ownCgroups() map[string]string {
	out := map[string]string{}
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return out
	}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		if parts[0] == "0" && parts[1] == "" {
			out[""] = parts[2]
			continue
		}
		for _, c := range strings.Split(parts[1], ",") {
			out[c] = parts[2]
		}
	}
	return out
}

// UserTasks counts the processes and threads whose owner is uid, the
// count RLIMIT_NPROC holds against a new process of that user. Its cost
// grows with the number of processes on the host: one stat of each
// /proc/PID (relative to an open /proc, unsorted) and one read of the
// stat file of each of the user's processes.
func UserTasks(uid int) int {
	proc, err := os.Open("/proc")
	if err != nil {
		return 0
	}
	defer proc.Close()
	names, err := proc.Readdirnames(-1)
	if err != nil {
		return 0
	}
	dir := int(proc.Fd())
	var buf [4096]byte
	n := 0
	for _, name := range names {
		if name[0] < '0' || name[0] > '9' {
			continue
		}
		var st unix.Stat_t
		if unix.Fstatat(dir, name, &st, 0) != nil || int(st.Uid) != uid {
			continue
		}
		if t, ok := taskThreads(dir, name, buf[:]); ok {
			n += t
		}
	}
	return n
}

// taskThreads reads the thread count of process name (a directory of the
// open /proc dir) from its stat file, using buf.
func taskThreads(dir int, name string, buf []byte) (int, bool) {
	fd, err := unix.Openat(dir, name+"/stat", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return 0, false
	}
	defer unix.Close(fd)
	size := 0
	for size < len(buf) {
		k, err := unix.Read(fd, buf[size:])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return 0, false
		}
		if k == 0 {
			break
		}
		size += k
	}
	b := buf[:size]
	// Field 20 (num_threads); fields from 3 on follow the ")" that
	// ends the command name.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) > 17 {
		if t, err := strconv.Atoi(f[17]); err == nil {
			return t, true
		}
	}
	return 0, false
}
