package unixguard

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Config is what the guard allows.
type Config struct {
	// Granted are the paths, as the guard sees them, of the sockets
	// connects to which are always allowed (the forwarded ones).
	Granted []string
	// SharedNetns is set when the sandbox lives in the launcher's network
	// namespace: the filter then reports bind() too, and sockets bound
	// inside are told from the host's by the record kept of them.
	SharedNetns bool
	// Private are directories inside whose file systems are the
	// sandbox's own (its tmpfs /tmp, /run, ...): a socket on one was made
	// inside. A file system the guard's own mount namespace shows is
	// never counted, whatever the sandbox mounts it at.
	Private []string
	// OwnNetns is set when the guard lives in the sandbox's own, private
	// network namespace: a socket is the sandbox's when a socket of that
	// namespace is bound to it, and refused otherwise.
	OwnNetns bool
	// Diag, when set, is a sock_diag socket made in the sandbox's own,
	// private network namespace: a socket is the sandbox's when a socket
	// of that namespace is bound to it, and refused otherwise (as with
	// OwnNetns).
	Diag *os.File
	// UID, GID and Groups, when UID is not the launcher's, are the
	// credentials connects are made with (the sandbox's user, when the
	// launcher runs as root): the peer a service sees, and the
	// permissions the path is resolved with.
	UID, GID int
	Groups   []int
	// Log receives one line per refusal.
	Log io.Writer
}

// Guard serves a filter's notifications.
type Guard struct {
	cfg      Config
	listener *os.File
	granted  map[fileID]bool
	dropCred bool
	// dropCaps is set when the guard may hold effective capabilities
	// that a change of user does not clear (the sandbox's user is root,
	// without capabilities): each call is made with none.
	dropCaps bool
	// selfGroups are the launcher's supplementary groups, which a thread
	// gets back after a call made as the sandbox's user.
	selfGroups []int

	mu      sync.Mutex
	bound   map[uint64]bool
	refused map[string]int
	total   int
	decided map[fileKey]bool
	private map[fileID][]uint64
	// hostDevs lists, on first use, the devices of the file systems
	// the guard's own mount namespace shows; nil when they cannot be
	// read, and then no file system counts as the sandbox's own.
	hostDevs func() map[uint64]bool

	diagMu  sync.Mutex
	diagSeq uint32

	stop     chan struct{}
	done     chan struct{}
	inFlight sync.WaitGroup
}

// maxRefusedPaths bounds the paths the summary remembers.
const maxRefusedPaths = 100

type fileID struct{ dev, ino uint64 }

// Serve answers the notifications of listener until Stop.
func Serve(listener *os.File, cfg Config) *Guard {
	g := &Guard{cfg: cfg, listener: listener, granted: map[fileID]bool{}, bound: map[uint64]bool{},
		refused: map[string]int{}, decided: map[fileKey]bool{}, private: map[fileID][]uint64{},
		stop: make(chan struct{}), done: make(chan struct{})}
	// Read on the first connect that needs them, not at the start: a
	// file system the host mounts in between counts as the host's.
	g.hostDevs = sync.OnceValue(func() map[uint64]bool {
		devs, err := mountedDevices()
		if err != nil {
			return nil
		}
		return devs
	})
	g.dropCred = cfg.UID != os.Geteuid()
	// Whatever this thread holds: the others may hold more.
	g.dropCaps = cfg.UID == 0
	g.selfGroups, _ = unix.Getgroups()
	for _, p := range cfg.Granted {
		var st unix.Stat_t
		if err := unix.Stat(p, &st); err == nil {
			g.granted[fileID{st.Dev, st.Ino}] = true
		}
	}
	go g.loop()
	return g
}

// Stop ends the service once the sandbox has ended. The listener is
// closed once the calls still being made (a connect that blocks past
// its caller's end) are done.
func (g *Guard) Stop() {
	close(g.stop)
	<-g.done
	go func() {
		g.inFlight.Wait()
		g.listener.Close()
	}()
}

// Summary is one line on the refused connects, "" when there were none.
func (g *Guard) Summary() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.refused) == 0 {
		return ""
	}
	var paths []string
	for p := range g.refused {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	if len(paths) > 5 {
		paths = append(paths[:5], "…")
	}
	return fmt.Sprintf("refused %d connect(s) to Unix sockets from outside the sandbox: %s", g.total, strings.Join(paths, ", "))
}

// seccompNotif is the kernel's struct seccomp_notif.
type seccompNotif struct {
	ID    uint64
	PID   uint32
	Flags uint32
	Nr    int32
	Arch  uint32
	IP    uint64
	Args  [6]uint64
}

// seccompNotifResp is the kernel's struct seccomp_notif_resp.
type seccompNotifResp struct {
	ID    uint64
	Val   int64
	Error int32
	Flags uint32
}

func (g *Guard) loop() {
	defer close(g.done)
	fd := int(g.listener.Fd())
	for {
		select {
		case <-g.stop:
			return
		default:
		}
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		n, err := unix.Poll(fds, 200)
		if err != nil && !errors.Is(err, unix.EINTR) {
			return
		}
		if n == 0 {
			continue
		}
		if fds[0].Revents&unix.POLLIN == 0 {
			if fds[0].Revents&(unix.POLLHUP|unix.POLLERR|unix.POLLNVAL) != 0 {
				// Every process of the sandbox has gone.
				<-g.stop
				return
			}
			continue
		}
		var req seccompNotif
		if err := ioctl(fd, unix.SECCOMP_IOCTL_NOTIF_RECV, unsafe.Pointer(&req)); err != nil {
			// ENOENT: the caller was interrupted before it was read.
			continue
		}
		g.inFlight.Add(1)
		go func() {
			defer g.inFlight.Done()
			g.handle(fd, req)
		}()
	}
}

func ioctl(fd int, req uint, arg unsafe.Pointer) error {
	_, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), uintptr(req), uintptr(arg))
	if errno != 0 {
		return errno
	}
	return nil
}

// handle answers one notification: the call's return value or errno.
func (g *Guard) handle(listener int, req seccompNotif) {
	if g.dropCred {
		// Credentials are per thread in the kernel: this thread takes
		// the sandbox user's effective ids for the call and gives them
		// back after it. A thread that cannot is ended with this
		// goroutine rather than reused.
		runtime.LockOSThread()
		defer func() {
			if g.becomeSelf() == nil {
				runtime.UnlockOSThread()
			}
		}()
		if err := g.becomeUser(); err != nil {
			g.respond(listener, req.ID, 0, unix.EACCES)
			return
		}
	}
	var val int64
	var err error
	switch req.Nr {
	case unix.SYS_CONNECT:
		err = g.connect(listener, &req)
	case unix.SYS_BIND:
		val, err = g.bind(listener, &req)
	default:
		err = unix.ENOSYS
	}
	if errors.Is(err, errAnswered) {
		return
	}
	var errno syscall.Errno
	if err != nil && !errors.As(err, &errno) {
		errno = unix.EACCES
	}
	g.respond(listener, req.ID, val, errno)
}

func (g *Guard) respond(listener int, id uint64, val int64, errno syscall.Errno) {
	resp := seccompNotifResp{ID: id, Val: val, Error: -int32(errno)}
	if errno == 0 {
		resp.Error = 0
	}
	ioctl(listener, unix.SECCOMP_IOCTL_NOTIF_SEND, unsafe.Pointer(&resp))
}

// becomeUser gives the calling (locked) thread the sandbox user's
// effective ids and groups, which a peer sees (SO_PEERCRED) and path
// permissions are checked with; the real and saved ids stay the
// launcher's, so becomeSelf can restore them. The raw system calls act
// on this thread only.
func (g *Guard) becomeUser() error {
	if err := setThreadGroups(g.cfg.Groups); err != nil {
		return err
	}
	keep := ^uintptr(0)
	if _, _, e := unix.RawSyscall(unix.SYS_SETRESGID, keep, uintptr(g.cfg.GID), keep); e != 0 {
		return e
	}
	if _, _, e := unix.RawSyscall(unix.SYS_SETRESUID, keep, uintptr(g.cfg.UID), keep); e != 0 {
		return e
	}
	return nil
}

// becomeSelf gives the calling thread the launcher's ids back.
func (g *Guard) becomeSelf() error {
	keep := ^uintptr(0)
	if _, _, e := unix.RawSyscall(unix.SYS_SETRESUID, keep, uintptr(os.Getuid()), keep); e != 0 {
		return e
	}
	if _, _, e := unix.RawSyscall(unix.SYS_SETRESGID, keep, uintptr(os.Getgid()), keep); e != 0 {
		return e
	}
	return setThreadGroups(g.selfGroups)
}

// asCaller runs f, which looks up a path or connects for the target,
// with no effective capabilities when the guard holds some that the
// target does not (reading the target's memory and descriptors needs
// them; what the target may open or connect to must not get them).
// Capabilities are per thread: the locked thread gets the guard's back
// after f, or ends with its goroutine.
func (g *Guard) asCaller(f func() error) error {
	if !g.dropCaps {
		return f()
	}
	runtime.LockOSThread()
	saved, err := clearEffectiveCaps()
	if err != nil {
		runtime.UnlockOSThread()
		return unix.EACCES
	}
	defer func() {
		if unix.Capset(&saved.hdr, &saved.data[0]) == nil {
			runtime.UnlockOSThread()
		}
	}()
	return f()
}

// capSets are a thread's capability sets.
type capSets struct {
	hdr  unix.CapUserHeader
	data [2]unix.CapUserData
}

// clearEffectiveCaps empties the calling (locked) thread's effective
// capabilities, keeping the permitted ones, and returns the sets to
// restore.
func clearEffectiveCaps() (capSets, error) {
	c := capSets{hdr: unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}}
	if err := unix.Capget(&c.hdr, &c.data[0]); err != nil {
		return c, err
	}
	none := c
	none.data[0].Effective, none.data[1].Effective = 0, 0
	if err := unix.Capset(&none.hdr, &none.data[0]); err != nil {
		return c, err
	}
	return c, nil
}

// setThreadGroups sets the calling thread's supplementary groups.
func setThreadGroups(gids []int) error {
	groups := make([]uint32, len(gids))
	for i, gid := range gids {
		groups[i] = uint32(gid)
	}
	var p unsafe.Pointer
	if len(groups) > 0 {
		p = unsafe.Pointer(&groups[0])
	}
	if _, _, e := unix.RawSyscall(unix.SYS_SETGROUPS, uintptr(len(groups)), uintptr(p), 0); e != 0 {
		return e
	}
	return nil
}

// target is the process a notification is about.
type target struct {
	tid   int
	pidfd int
}

func openTarget(tid int) (*target, error) {
	pidfd, err := unix.PidfdOpen(tid, 0)
	if err != nil {
		// A thread other than the leader (EINVAL, or ENOENT from Linux
		// 6.9 on): its process's descriptor table is the leader's.
		tgid, terr := threadGroup(tid)
		if terr != nil {
			return nil, terr
		}
		pidfd, err = unix.PidfdOpen(tgid, 0)
	}
	if err != nil {
		return nil, err
	}
	return &target{tid: tid, pidfd: pidfd}, nil
}

func (t *target) close() { unix.Close(t.pidfd) }

func threadGroup(tid int) (int, error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(tid) + "/status")
	if err != nil {
		return 0, unix.ESRCH
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "Tgid:"); ok {
			return strconv.Atoi(strings.TrimSpace(v))
		}
	}
	return 0, unix.ESRCH
}

// socket takes a duplicate of the target's descriptor fd: the same open
// file, so that what the launcher does with it the target's socket does.
func (t *target) socket(fd uint64) (int, error) {
	if fd > 1<<31 {
		return -1, unix.EBADF
	}
	s, err := unix.PidfdGetfd(t.pidfd, int(fd), 0)
	if err != nil {
		if errors.Is(err, unix.EBADF) {
			return -1, unix.EBADF
		}
		return -1, err
	}
	return s, nil
}

// read copies n bytes at addr out of the target's memory.
func (t *target) read(addr, n uint64) ([]byte, error) {
	if n > 4096 {
		n = 4096
	}
	buf := make([]byte, n)
	if n == 0 {
		return buf, nil
	}
	// Through /proc rather than process_vm_readv, which the sandbox's
	// own filter refuses to the container's entrypoint.
	mem, err := unix.Open("/proc/"+strconv.Itoa(t.tid)+"/mem", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, unix.ESRCH
	}
	defer unix.Close(mem)
	got, err := unix.Pread(mem, buf, int64(addr))
	if err != nil || got <= 0 {
		return nil, unix.EFAULT
	}
	return buf[:got], nil
}

// valid reports whether the notification still stands: the target has
// not died or been interrupted, so what was read from it belongs to the
// call being answered.
func valid(listener int, id uint64) bool {
	return ioctl(listener, unix.SECCOMP_IOCTL_NOTIF_ID_VALID, unsafe.Pointer(&id)) == nil
}

// connect performs the target's connect.
func (g *Guard) connect(listener int, req *seccompNotif) error {
	t, err := openTarget(int(req.PID))
	if err != nil {
		return err
	}
	defer t.close()
	addr, err := t.read(req.Args[1], req.Args[2])
	if err != nil {
		return err
	}
	sock, err := t.socket(req.Args[0])
	if err != nil {
		return err
	}
	defer unix.Close(sock)
	if !valid(listener, req.ID) {
		return unix.EINTR
	}
	if len(addr) < 2 || binary.NativeEndian.Uint16(addr) != unix.AF_UNIX || len(addr) <= 2 || addr[2] == 0 {
		// Other families, abstract and unnamed Unix addresses: the
		// socket's own network namespace decides what they reach.
		return g.asCaller(func() error { return connectFor(listener, req.ID, sock, addr) })
	}
	name := addr[2:]
	if i := bytes.IndexByte(name, 0); i >= 0 {
		name = name[:i]
	}
	p := string(name)
	file, err := g.resolve(t, p)
	if err != nil {
		return err
	}
	defer unix.Close(file)
	var st unix.Stat_t
	if err := unix.Fstat(file, &st); err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFSOCK {
		return unix.ECONNREFUSED
	}
	if !g.allowed(int(req.PID), file, st) {
		g.refuse(p, int(req.PID))
		return unix.EACCES
	}
	var sa [110]byte
	binary.NativeEndian.PutUint16(sa[:], unix.AF_UNIX)
	n := copy(sa[2:], "/proc/self/fd/"+strconv.Itoa(file))
	return g.asCaller(func() error { return connectFor(listener, req.ID, sock, sa[:2+n+1]) })
}

// connectStep is how long one attempt of a blocking connect to a Unix
// socket waits for room in the listener's backlog before the guard looks
// whether its caller still waits.
const connectStep = 200 * time.Millisecond

// connectFor connects the blocking Unix socket sock for as long as the
// notification id stands: the connect is made with a send timeout of
// connectStep (the caller's own timeout still counts in full) and made
// again while the caller waits, so that a caller killed while its
// connect waits on a full backlog leaves no call of the guard behind.
// Other sockets are connected once, as asked.
func connectFor(listener int, id uint64, sock int, addr []byte) error {
	domain, err := unix.GetsockoptInt(sock, unix.SOL_SOCKET, unix.SO_DOMAIN)
	if err != nil || domain != unix.AF_UNIX {
		return rawConnect(sock, addr)
	}
	flags, err := unix.FcntlInt(uintptr(sock), unix.F_GETFL, 0)
	if err != nil || flags&unix.O_NONBLOCK != 0 {
		return rawConnect(sock, addr)
	}
	own, err := unix.GetsockoptTimeval(sock, unix.SOL_SOCKET, unix.SO_SNDTIMEO)
	if err != nil {
		return rawConnect(sock, addr)
	}
	defer unix.SetsockoptTimeval(sock, unix.SOL_SOCKET, unix.SO_SNDTIMEO, own)
	var deadline time.Time
	if limit := time.Duration(own.Nano()); limit > 0 {
		deadline = time.Now().Add(limit)
	}
	for {
		step := connectStep
		if !deadline.IsZero() {
			left := time.Until(deadline)
			if left <= 0 {
				return unix.EAGAIN
			}
			step = min(step, left)
		}
		tv := unix.NsecToTimeval(max(step, time.Microsecond).Nanoseconds())
		if err := unix.SetsockoptTimeval(sock, unix.SOL_SOCKET, unix.SO_SNDTIMEO, &tv); err != nil {
			return rawConnect(sock, addr)
		}
		err := rawConnect(sock, addr)
		if !errors.Is(err, unix.EAGAIN) {
			return err
		}
		if !valid(listener, id) {
			return unix.EINTR
		}
	}
}

// rawConnect connects sock to the address as the target passed it.
func rawConnect(sock int, addr []byte) error {
	var p unsafe.Pointer
	if len(addr) > 0 {
		p = unsafe.Pointer(&addr[0])
	}
	_, _, errno := unix.Syscall(unix.SYS_CONNECT, uintptr(sock), uintptr(p), uintptr(len(addr)))
	runtime.KeepAlive(addr)
	if errno != 0 {
		return errno
	}
	return nil
}

// resolve opens p, as the target would find it, without following magic
// links: absolute paths from the target's root, relative ones from its
// working directory, both never leaving its root.
func (g *Guard) resolve(t *target, p string) (int, error) {
	proc := "/proc/" + strconv.Itoa(t.tid)
	root, err := unix.Open(proc+"/root", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, unix.ESRCH
	}
	defer unix.Close(root)
	if !path.IsAbs(p) {
		cwd, err := os.Readlink(proc + "/cwd")
		if err != nil || !path.IsAbs(cwd) {
			return -1, unix.ENOENT
		}
		// The working directory's name must still lead to the working
		// directory, or the name is not the target's.
		dir, err := g.openInRoot(root, cwd)
		if err != nil {
			return -1, unix.ENOENT
		}
		var a, b unix.Stat_t
		err = unix.Fstat(dir, &a)
		unix.Close(dir)
		if err != nil || unix.Stat(proc+"/cwd", &b) != nil || a.Dev != b.Dev || a.Ino != b.Ino {
			return -1, unix.EACCES
		}
		p = path.Join(cwd, p)
	}
	return g.openInRoot(root, p)
}

// openInRoot opens p below root with the target's privileges.
func (g *Guard) openInRoot(root int, p string) (int, error) {
	fd := -1
	err := g.asCaller(func() error {
		var err error
		fd, err = openInRoot(root, p)
		return err
	})
	return fd, err
}

func openInRoot(root int, p string) (int, error) {
	how := unix.OpenHow{Flags: unix.O_PATH | unix.O_CLOEXEC, Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS}
	for {
		fd, err := unix.Openat2(root, p, &how)
		if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
			continue
		}
		if errors.Is(err, unix.ELOOP) || errors.Is(err, unix.EXDEV) {
			return -1, unix.EACCES
		}
		return fd, err
	}
}

func (g *Guard) refuse(p string, pid int) {
	g.mu.Lock()
	g.total++
	if _, ok := g.refused[p]; ok || len(g.refused) < maxRefusedPaths {
		g.refused[p]++
	}
	g.mu.Unlock()
	if g.cfg.Log != nil {
		fmt.Fprintf(g.cfg.Log, "refused connect to %s (pid %d): a socket from outside the sandbox\n", p, pid)
	}
}

// bind records the socket the target binds, then lets the kernel bind
// it: a bind decides nothing, the record only ever admits a socket that
// was the target's.
func (g *Guard) bind(listener int, req *seccompNotif) (int64, error) {
	t, err := openTarget(int(req.PID))
	if err != nil {
		return 0, err
	}
	defer t.close()
	sock, err := t.socket(req.Args[0])
	if err != nil {
		return 0, err
	}
	var st unix.Stat_t
	err = unix.Fstat(sock, &st)
	unix.Close(sock)
	if err == nil && st.Mode&unix.S_IFMT == unix.S_IFSOCK {
		g.mu.Lock()
		g.bound[st.Ino] = true
		g.mu.Unlock()
	}
	resp := seccompNotifResp{ID: req.ID, Flags: unix.SECCOMP_USER_NOTIF_FLAG_CONTINUE}
	if err := ioctl(listener, unix.SECCOMP_IOCTL_NOTIF_SEND, unsafe.Pointer(&resp)); err != nil {
		return 0, err
	}
	return 0, errAnswered
}

// errAnswered says the notification has been answered already.
var errAnswered = errors.New("answered")
