package unixguard

import (
	"bufio"
	"os"
	"path"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// fileKey names a file and its last metadata change: a rename or a new
// link changes it, and so does the reuse of an inode number by a new
// file.
type fileKey struct {
	dev, ino uint64
	ctime    unix.Timespec
}

// maxDecided bounds the memory of decisions.
const maxDecided = 4096

// settled is how long after its last metadata change a socket file that
// no socket of the guard's network namespace is bound to is taken to
// stay so: binding creates the file and attaches the socket within
// microseconds.
const settled = time.Second

// allowed decides on the socket file st that the target tid connects to:
// granted; on a file system of the sandbox's own; or, where the guard
// lives in the sandbox's own network namespace, bound by a socket of
// that namespace; or else not bound by a socket of the guard's (the
// host's) namespace, or, where the sandbox shares it, bound by a socket
// the sandbox bound. The binding of a socket file never changes, so
// decisions are remembered by file.
func (g *Guard) allowed(tid, file int, st unix.Stat_t) bool {
	if g.granted[fileID{st.Dev, st.Ino}] || g.grantedNow(st) {
		return true
	}
	if g.onPrivate(tid, st.Dev) {
		return true
	}
	key := fileKey{st.Dev, st.Ino, st.Ctim}
	g.mu.Lock()
	v, ok := g.decided[key]
	g.mu.Unlock()
	if ok {
		return v
	}
	v, remember := g.decide(tid, file, st)
	if remember {
		g.mu.Lock()
		if len(g.decided) >= maxDecided {
			g.decided = map[fileKey]bool{}
		}
		g.decided[key] = v
		g.mu.Unlock()
	}
	return v
}

// decide asks the kernel who is bound to st, the file open as file
// that the target tid connects to, and says whether the decision may be
// remembered. A socket of the sandbox's namespace admits the file only
// when bound to this very file, inode and file system (two file systems
// number their inodes alike); a socket of the host's refuses it when
// bound to a file with its inode number on any file system (file
// systems such as btrfs report another device to stat).
func (g *Guard) decide(tid, file int, st unix.Stat_t) (allow, remember bool) {
	if g.cfg.Diag != nil || g.cfg.OwnNetns {
		dev, ok := superblockDev(file, tid)
		if !ok {
			return false, false
		}
		var owners []uint64
		var err error
		if g.cfg.Diag != nil {
			// The sandbox's own namespace, asked through a socket
			// made there.
			g.diagMu.Lock()
			g.diagSeq++
			owners, err = boundBy(int(g.cfg.Diag.Fd()), g.diagSeq, st.Ino, &dev)
			g.diagMu.Unlock()
		} else {
			owners, err = boundBy(-1, 1, st.Ino, &dev)
		}
		if err != nil {
			return false, false
		}
		return len(owners) > 0, len(owners) > 0
	}
	owners, err := boundBy(-1, 1, st.Ino, nil)
	if err != nil {
		return false, false
	}
	if len(owners) == 0 {
		// Remembered only once the file has settled, so that a host
		// socket caught between creating its file and binding to it
		// is looked at again.
		changed := time.Unix(st.Ctim.Unix())
		return true, time.Since(changed) > settled
	}
	if g.cfg.SharedNetns {
		// Every socket bound to a file of that inode number must be
		// one the sandbox bound.
		g.mu.Lock()
		defer g.mu.Unlock()
		for _, o := range owners {
			if !g.bound[o] {
				return false, true
			}
		}
		return true, true
	}
	return false, true
}

// superblockDev returns the device number, as the kernel keeps it
// (major<<20 | minor) and sock_diag reports it, of the file system the
// open file lies on: the one its mount shows in mountinfo, which is not
// always what stat() reports.
func superblockDev(file, tid int) (uint32, bool) {
	info, err := os.ReadFile("/proc/self/fdinfo/" + strconv.Itoa(file))
	if err != nil {
		return 0, false
	}
	var mnt string
	for _, line := range strings.Split(string(info), "\n") {
		if v, ok := strings.CutPrefix(line, "mnt_id:"); ok {
			mnt = strings.TrimSpace(v)
		}
	}
	if mnt == "" {
		return 0, false
	}
	// Mount ids are unique across namespaces: the mount is the
	// target's, or the guard's own.
	for _, proc := range []string{"/proc/" + strconv.Itoa(tid), "/proc/self"} {
		data, err := os.ReadFile(proc + "/mountinfo")
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(data), "\n") {
			fields := strings.Fields(line)
			if len(fields) < 3 || fields[0] != mnt {
				continue
			}
			major, minor, ok := strings.Cut(fields[2], ":")
			ma, err1 := strconv.ParseUint(major, 10, 32)
			mi, err2 := strconv.ParseUint(minor, 10, 32)
			if !ok || err1 != nil || err2 != nil {
				return 0, false
			}
			return uint32(ma<<20 | mi), true
		}
	}
	return 0, false
}

// grantedNow looks at the granted paths again, for a socket that
// replaced one since the start (a daemon restarted in a shared
// directory, such as the nix daemon's): only where the directory belongs
// to root and nobody else may write to it, so that the sandbox cannot
// have put another socket there.
func (g *Guard) grantedNow(st unix.Stat_t) bool {
	for _, p := range g.cfg.Granted {
		var dir, sock unix.Stat_t
		if unix.Stat(path.Dir(p), &dir) != nil || dir.Uid != 0 || dir.Mode&0o022 != 0 {
			continue
		}
		if unix.Stat(p, &sock) == nil && sock.Dev == st.Dev && sock.Ino == st.Ino {
			return true
		}
	}
	return false
}

// onPrivate reports whether dev is the file system of one of the private
// directories as the target tid sees them.
func (g *Guard) onPrivate(tid int, dev uint64) bool {
	if len(g.cfg.Private) == 0 {
		return false
	}
	host := g.hostDevs()
	if host == nil || host[dev] {
		// Without the host's devices no file system counts as the
		// sandbox's own.
		return false
	}
	proc := "/proc/" + strconv.Itoa(tid) + "/root"
	var st unix.Stat_t
	if err := unix.Stat(proc, &st); err != nil {
		return false
	}
	root := fileID{st.Dev, st.Ino}
	g.mu.Lock()
	devs, ok := g.private[root]
	g.mu.Unlock()
	if !ok {
		devs = g.privateDevices(proc, host)
		g.mu.Lock()
		g.private[root] = devs
		g.mu.Unlock()
	}
	for _, d := range devs {
		if d == dev {
			return true
		}
	}
	return false
}

// privateDevices returns the devices of the private directories below
// the root proc, leaving out every device the guard's own mount
// namespace shows.
func (g *Guard) privateDevices(proc string, host map[uint64]bool) []uint64 {
	root, err := unix.Open(proc, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil
	}
	defer unix.Close(root)
	var out []uint64
	for _, d := range g.cfg.Private {
		fd, err := openInRoot(root, d)
		if err != nil {
			continue
		}
		var st unix.Stat_t
		err = unix.Fstat(fd, &st)
		unix.Close(fd)
		if err == nil && !host[st.Dev] {
			out = append(out, st.Dev)
		}
	}
	return out
}

// mountedDevices lists the devices of every file system mounted in the
// calling process's mount namespace.
func mountedDevices() (map[uint64]bool, error) {
	out := map[uint64]bool{}
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 3 {
			continue
		}
		major, minor, ok := strings.Cut(fields[2], ":")
		if !ok {
			continue
		}
		ma, err1 := strconv.ParseUint(major, 10, 32)
		mi, err2 := strconv.ParseUint(minor, 10, 32)
		if err1 == nil && err2 == nil {
			out[unix.Mkdev(uint32(ma), uint32(mi))] = true
		}
	}
	return out, sc.Err()
}
