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
func (g *Guard) allowed(tid int, st unix.Stat_t) bool {
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
	v, remember := g.decide(st)
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

// decide asks the kernel who is bound to st and says whether the
// decision may be remembered.
func (g *Guard) decide(st unix.Stat_t) (allow, remember bool) {
	var owner uint64
	var found bool
	var err error
	if g.cfg.Diag != nil {
		// The sandbox's own namespace, asked through a socket made
		// there.
		g.diagMu.Lock()
		g.diagSeq++
		_, found, err = boundBy(int(g.cfg.Diag.Fd()), g.diagSeq, st.Ino)
		g.diagMu.Unlock()
		if err != nil {
			return false, false
		}
		return found, found
	}
	owner, found, err = boundBy(-1, 1, st.Ino)
	if err != nil {
		return false, false
	}
	if g.cfg.OwnNetns {
		return found, found
	}
	if !found {
		// Remembered only once the file has settled, so that a host
		// socket caught between creating its file and binding to it
		// is looked at again.
		changed := time.Unix(st.Ctim.Unix())
		return true, time.Since(changed) > settled
	}
	if g.cfg.SharedNetns {
		g.mu.Lock()
		defer g.mu.Unlock()
		return g.bound[owner], true
	}
	return false, true
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
