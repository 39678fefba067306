// Package guest is the launcher's init inside the vm backend's virtual
// machine. The initramfs holds the launcher itself as /init; when the
// kernel starts it as PID 1, it loads the modules, mounts the host's root
// and the policy's shares at their host paths, writes /etc, configures the
// network, runs the command as the invoking user on the serial console,
// writes its exit status to the host and powers off.
package guest

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/claude-sandbox/claude-sandbox/backends/container"
	"github.com/claude-sandbox/claude-sandbox/backends/egress"
	"github.com/claude-sandbox/claude-sandbox/backends/limits"
	"github.com/claude-sandbox/claude-sandbox/backends/vmimage"
	"github.com/claude-sandbox/claude-sandbox/render"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

const newRoot = "/newroot"

// hostRootView is where the init keeps a second view of the host root
// share, without the guest's own mounts over it, while it binds the
// read-only directories into the command's root; it is unmounted before
// the command starts.
const hostRootView = "/hostroot"

// IsGuestInit reports whether this process is the VM's init: PID 1
// started as /init. A user running the launcher never matches.
func IsGuestInit(args []string) bool {
	return os.Getpid() == 1 && len(args) > 0 && args[0] == "/init"
}

// Main runs the guest init. It never returns normally: it powers the VM
// off after the command exits or when something fails.
func Main() int {
	status := 125
	if err := setupConsole(); err == nil {
		status = boot()
	}
	finish(status)
	return status
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "claude-sandbox guest: "+format+"\n", args...)
}

// setupConsole mounts devtmpfs and puts the standard streams on the
// console (the initramfs has no device nodes of its own).
func setupConsole() error {
	os.MkdirAll("/dev", 0o755)
	if err := unix.Mount("devtmpfs", "/dev", "devtmpfs", 0, ""); err != nil && !errors.Is(err, unix.EBUSY) {
		return err
	}
	fd, err := unix.Open("/dev/console", unix.O_RDWR, 0)
	if err != nil {
		return err
	}
	for i := 0; i < 3; i++ {
		unix.Dup3(fd, i, 0)
	}
	if fd > 2 {
		unix.Close(fd)
	}
	return nil
}

// boot does everything up to the command's exit and returns its status.
func boot() int {
	for _, m := range []struct{ fs, dir string }{{"proc", "/proc"}, {"sysfs", "/sys"}} {
		os.MkdirAll(m.dir, 0o755)
		if err := unix.Mount(m.fs, m.dir, m.fs, 0, ""); err != nil {
			logf("mounting %s: %v", m.dir, err)
			return 125
		}
	}
	// Work that needs nothing from the host runs while the guest waits
	// for QEMU's answers on the 9p shares: the seccomp filter, lo, and
	// the overlay module, which only /etc needs.
	filter := make(chan filterResult, 1)
	go func() {
		f, err := seccompFilter()
		filter <- filterResult{f, err}
	}()
	loopback := make(chan error, 1)
	go func() { loopback <- loopbackUp() }()
	loadModules("/modules", func(name string) bool { return !isNetworkModule(name) && !isOverlayModule(name) })
	overlay := make(chan struct{})
	go func() {
		loadModules("/modules", isOverlayModule)
		close(overlay)
	}()
	if err := mount9p(render.GuestConfigTag, "/cfg", false, "cache=none"); err != nil {
		logf("configuration share: %v", err)
		return 125
	}
	data, err := os.ReadFile(filepath.Join("/cfg", render.GuestConfigName))
	if err != nil {
		logf("reading the configuration: %v", err)
		return 125
	}
	var cfg render.GuestConfig
	if err := json.Unmarshal(data, &cfg); err != nil {
		logf("configuration: %v", err)
		return 125
	}
	if cfg.Network {
		loadModules("/modules", isNetworkModule)
	}
	if cfg.Display {
		loadModules(filepath.Join("/modules", vmimage.DisplayGroup), func(string) bool { return true })
	}
	cgroup := make(chan cgroupResult, 1)
	go func() {
		cg, err := prepareCgroup(cfg.Limits.Cgroup)
		cgroup <- cgroupResult{cg, err}
	}()
	if err := prepareRoot(&cfg, overlay); err != nil {
		logf("%v", err)
		return 125
	}
	if cfg.Nix != nil {
		if err := setupNix(cfg.Nix, tmpfsSize(&cfg), cfg.Etc); err != nil {
			logf("%v", err)
			return 125
		}
	}
	if err := <-loopback; err != nil {
		logf("network: %v", err)
		return 125
	}
	if err := configureNetwork(cfg.Network, cfg.Proxy); err != nil {
		logf("network: %v", err)
		return 125
	}
	unix.Sethostname([]byte(cfg.Hostname))
	if cfg.Display {
		if d := startX(cfg.Xorg); d != "" && !hasVar(cfg.Env, "DISPLAY") {
			cfg.Env = append(cfg.Env, "DISPLAY="+d)
		}
	}
	f := <-filter
	if f.err != nil {
		logf("%v", f.err)
		return 125
	}
	cg := <-cgroup
	if cg.err != nil {
		logf("%v", cg.err)
		return 125
	}
	status, err := runCommand(&cfg, f.filter, cg.cgroup)
	if err != nil {
		logf("%v", err)
		return 125
	}
	return status
}

// finish reports status to the host through the configuration share and
// powers off.
func finish(status int) {
	for _, dir := range []string{filepath.Join(newRoot, render.GuestMount), "/cfg"} {
		f := filepath.Join(dir, render.GuestStatusName)
		if err := os.WriteFile(f, []byte(strconv.Itoa(status)+"\n"), 0o644); err == nil {
			break
		}
	}
	unix.Sync()
	unix.Kill(-1, unix.SIGKILL)
	unix.Sync()
	unix.Reboot(unix.LINUX_REBOOT_CMD_POWER_OFF)
	unix.Reboot(unix.LINUX_REBOOT_CMD_RESTART)
}

// isOverlayModule reports whether a module is overlayfs, which only the
// writable /etc needs: it loads while the shares are being mounted.
func isOverlayModule(name string) bool { return name == "overlay" }

// isNetworkModule reports whether a module is needed only with a network
// card, so a VM without one does not spend time loading it.
func isNetworkModule(name string) bool {
	switch name {
	case "virtio_net", "net_failover", "failover":
		return true
	}
	return false
}

// loadModules loads the modules in dir whose names want accepts, in file
// name order (the initramfs numbers them NN-NAME.ko in dependency order).
func loadModules(dir string, want func(name string) bool) {
	entries, _ := os.ReadDir(dir)
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		_, name, _ := strings.Cut(strings.TrimSuffix(e.Name(), ".ko"), "-")
		if want(name) {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	for _, n := range names {
		f, err := os.Open(filepath.Join(dir, n))
		if err != nil {
			logf("module %s: %v", n, err)
			continue
		}
		if err := unix.FinitModule(int(f.Fd()), "", 0); err != nil && !errors.Is(err, unix.EEXIST) {
			logf("module %s: %v", n, err)
		}
		f.Close()
	}
}

// mount9p mounts a 9p export, retrying while the virtio device is still
// being probed.
func mount9p(tag, dir string, ro bool, opts string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	// Set-user-id programs and device nodes on the host's files never
	// take effect in the guest.
	flags := uintptr(unix.MS_NOSUID | unix.MS_NODEV)
	if ro {
		flags |= unix.MS_RDONLY
	}
	data := "trans=virtio,version=9p2000.L,msize=512000," + opts
	var err error
	for i := 0; i < 400; i++ {
		err = unix.Mount(tag, dir, "9p", flags, data)
		if err == nil || !(errors.Is(err, unix.ENOENT) || errors.Is(err, unix.EINVAL)) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err != nil {
		return fmt.Errorf("mounting 9p share %s on %s: %w", tag, dir, err)
	}
	return nil
}

// prepareRoot builds the command's root under /newroot. It waits for
// overlay to close before it mounts the writable /etc.
func prepareRoot(cfg *render.GuestConfig, overlay <-chan struct{}) error {
	if cfg.Root == "" {
		return errors.New("this guest init needs the host root share")
	}
	if err := mount9p(cfg.Root, newRoot, true, "cache=loose"); err != nil {
		return err
	}
	hostRoot := -1
	for _, s := range cfg.Shares {
		if s.Kind == "hostdir" {
			fd, err := openHostRootView()
			if err != nil {
				return err
			}
			hostRoot = fd
			break
		}
	}
	type fsMount struct {
		fs, dir, data string
		flags         uintptr
	}
	for _, m := range []fsMount{
		{"tmpfs", "/tmp", "mode=1777" + tmpfsSize(cfg), unix.MS_NOSUID | unix.MS_NODEV},
		{"tmpfs", "/var/tmp", "mode=1777" + tmpfsSize(cfg), unix.MS_NOSUID | unix.MS_NODEV},
		{"tmpfs", "/run", "mode=755", unix.MS_NOSUID | unix.MS_NODEV},
		{"tmpfs", "/home", "mode=755" + tmpfsSize(cfg), unix.MS_NOSUID | unix.MS_NODEV},
		{"proc", "/proc", "", unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC},
		{"sysfs", "/sys", "", unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC | unix.MS_RDONLY},
		{"devtmpfs", "/dev", "", unix.MS_NOSUID},
		{"devpts", "/dev/pts", "newinstance,ptmxmode=0666,mode=620", unix.MS_NOSUID | unix.MS_NOEXEC},
		{"tmpfs", "/dev/shm", "mode=1777" + tmpfsSize(cfg), unix.MS_NOSUID | unix.MS_NODEV},
	} {
		dir := filepath.Join(newRoot, m.dir)
		os.MkdirAll(dir, 0o755)
		if err := unix.Mount(m.fs, dir, m.fs, m.flags, m.data); err != nil {
			return fmt.Errorf("mounting %s on %s: %w", m.fs, m.dir, err)
		}
	}
	<-overlay
	if err := writeEtc(cfg.Etc); err != nil {
		return err
	}
	// The configuration share moves to its place inside the root, where
	// the exit status is written at the end.
	inside := filepath.Join(newRoot, render.GuestMount)
	os.MkdirAll(inside, 0o755)
	if err := unix.Mount("/cfg", inside, "", unix.MS_MOVE, ""); err != nil {
		return fmt.Errorf("moving the configuration share: %w", err)
	}
	// The home is a fresh tmpfs wherever it lives (under /home or not).
	home := filepath.Join(newRoot, cfg.Home)
	os.MkdirAll(home, 0o755)
	if err := unix.Mount("tmpfs", home, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "mode=700"+tmpfsSize(cfg)); err != nil {
		return fmt.Errorf("home tmpfs: %w", err)
	}
	os.Chown(home, cfg.UID, cfg.GID)
	for _, s := range cfg.Shares {
		if err := mountShare(s, inside, tmpfsSize(cfg), hostRoot); err != nil {
			return err
		}
	}
	if hostRoot >= 0 {
		// The binds keep their directories; the whole view goes.
		unix.Close(hostRoot)
		if err := unix.Unmount(hostRootView, unix.MNT_DETACH); err != nil {
			return fmt.Errorf("host root view: %w", err)
		}
	}
	// Parents created for mount points (~/.config for ~/.config/gh, ...)
	// belong to the user, as on the host.
	dirs := make([]string, len(cfg.UserDirs))
	for i, d := range cfg.UserDirs {
		dirs[i] = filepath.Join(newRoot, d)
	}
	if err := container.GiveDirs(dirs, cfg.UID, cfg.GID); err != nil {
		return err
	}
	if cfg.Display {
		giveDisplay(cfg)
	}
	// /run/user is everyone's way to their own runtime directory.
	os.MkdirAll(filepath.Join(newRoot, "run/user"), 0o755)
	rt := filepath.Join(newRoot, "run/user", strconv.Itoa(cfg.UID))
	os.MkdirAll(rt, 0o700)
	os.Chown(rt, cfg.UID, cfg.GID)
	return nil
}

// writeEtc puts a writable overlay over the host's /etc with the
// generated files in it. They are written into the overlay's upper layer
// (a tmpfs) before it is mounted, where each hides the host's file of its
// name, as writing them through the overlay would, without the overlay's
// copy-up and whiteouts; a parent directory the host has gets its mode
// and owner, as a copy-up would give it.
func writeEtc(files map[string]string) error {
	etc := filepath.Join(newRoot, "etc")
	return etcOverlay(etc, etc, "/overlay", files, 0)
}

// etcOverlay mounts an overlay of lower, with files written into its
// upper layer, on target, with mount flags flags; dir holds the layers.
func etcOverlay(lower, target, dir string, files map[string]string, flags uintptr) error {
	os.MkdirAll(dir, 0o755)
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "mode=755"); err != nil {
		return fmt.Errorf("etc overlay: %w", err)
	}
	upper, work := filepath.Join(dir, "upper"), filepath.Join(dir, "work")
	os.MkdirAll(upper, 0o755)
	os.MkdirAll(work, 0o755)
	etc := lower
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if err := upperDirs(etc, upper, filepath.Dir(filepath.Clean(n))); err != nil {
			return fmt.Errorf("writing /etc/%s: %w", n, err)
		}
		if err := os.WriteFile(filepath.Join(upper, n), []byte(files[n]), 0o644); err != nil {
			return fmt.Errorf("writing /etc/%s: %w", n, err)
		}
	}
	opts := "lowerdir=" + etc + ",upperdir=" + upper + ",workdir=" + work
	if err := unix.Mount("overlay", target, "overlay", flags, opts); err != nil {
		return fmt.Errorf("etc overlay: %w", err)
	}
	return nil
}

// upperDirs creates directory rel (relative, "." for none) and its
// parents under upper, each with the mode and owner of the same directory
// under lower when lower has it, 0755 and root's otherwise.
func upperDirs(lower, upper, rel string) error {
	if rel == "." || rel == "/" {
		return nil
	}
	if err := upperDirs(lower, upper, filepath.Dir(rel)); err != nil {
		return err
	}
	dir := filepath.Join(upper, rel)
	if st, err := os.Lstat(dir); err == nil && st.IsDir() {
		return nil
	}
	mode, uid, gid := uint32(0o755), 0, 0
	var st unix.Stat_t
	if err := unix.Lstat(filepath.Join(lower, rel), &st); err == nil && st.Mode&unix.S_IFMT == unix.S_IFDIR {
		mode, uid, gid = st.Mode&0o7777, int(st.Uid), int(st.Gid)
	}
	if err := os.Mkdir(dir, 0o700); err != nil {
		return err
	}
	if err := os.Chown(dir, uid, gid); err != nil {
		return err
	}
	return unix.Chmod(dir, mode)
}

// tmpfsSize is the size option of the guest's writable tmpfs mounts.
func tmpfsSize(cfg *render.GuestConfig) string {
	if cfg.Limits.TmpfsMiB <= 0 {
		return ""
	}
	return ",size=" + strconv.FormatInt(cfg.Limits.TmpfsMiB, 10) + "m"
}

// openHostRootView binds the host root share, as mounted on newRoot and
// before anything is mounted over it, to hostRootView and opens it.
func openHostRootView() (int, error) {
	if err := os.MkdirAll(hostRootView, 0o755); err != nil {
		return -1, err
	}
	if err := unix.Mount(newRoot, hostRootView, "", unix.MS_BIND, ""); err != nil {
		return -1, fmt.Errorf("host root view: %w", err)
	}
	fd, err := unix.Open(hostRootView, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("host root view: %w", err)
	}
	return fd, nil
}

// bindHostDir binds directory src of the host root share (hostRoot, an
// open descriptor of openHostRootView) read-only on target. Symbolic links
// on the way resolve inside the host root, as they do on the host.
func bindHostDir(hostRoot int, src, target string) error {
	if hostRoot < 0 {
		return fmt.Errorf("sharing %s: no host root share", src)
	}
	fd, err := unix.Openat2(hostRoot, strings.TrimPrefix(filepath.Clean(src), "/"), &unix.OpenHow{
		Flags:   unix.O_PATH | unix.O_DIRECTORY | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS,
	})
	if err != nil {
		return fmt.Errorf("sharing %s: %w", src, err)
	}
	defer unix.Close(fd)
	if err := os.MkdirAll(target, 0o755); err != nil {
		return err
	}
	if err := unix.Mount("/proc/self/fd/"+strconv.Itoa(fd), target, "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("sharing %s: %w", src, err)
	}
	if err := unix.Mount("", target, "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV, ""); err != nil {
		return fmt.Errorf("sharing %s read-only: %w", src, err)
	}
	return nil
}

func mountShare(s render.GuestShare, cfgDir, size string, hostRoot int) error {
	target := filepath.Join(newRoot, s.Target)
	switch s.Kind {
	case "hostdir":
		// The host root share is exported read-only by QEMU, so this
		// bind is as read-only as a 9p export of its own.
		return bindHostDir(hostRoot, s.Tag, target)
	case "9p":
		// A read-only share is exported read-only by QEMU too, so the
		// guest may keep its pages and metadata (cache=loose): the agent's
		// install, read on every start, then crosses the 9p transport once.
		// Writable shares keep cache=mmap, so that writes reach the host
		// at once and mmap works.
		if s.ReadOnly {
			return mount9p(s.Tag, target, true, "cache=loose,access=client")
		}
		return mount9p(s.Tag, target, false, "cache=mmap,access=client")
	case "tmpfs":
		os.MkdirAll(target, 0o755)
		return unix.Mount("tmpfs", target, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "mode=755"+size)
	case "symlink":
		os.MkdirAll(filepath.Dir(target), 0o755)
		os.Remove(target)
		return os.Symlink(s.Tag, target)
	case "pin":
		// A bind of the 9p-mounted path onto itself: writable as before,
		// but a mount point, which the guest kernel refuses to rename,
		// remove or replace.
		if err := unix.Mount(target, target, "", unix.MS_BIND, ""); err != nil {
			return fmt.Errorf("pinning %s: %w", s.Target, err)
		}
		return nil
	case "file", "hide":
		src := "/dev/null"
		if s.Kind == "file" {
			src = filepath.Join(cfgDir, "files", s.Tag)
		}
		os.MkdirAll(filepath.Dir(target), 0o755)
		if _, err := os.Lstat(target); err != nil {
			if err := os.WriteFile(target, nil, 0o644); err != nil {
				return fmt.Errorf("mount point %s: %w", s.Target, err)
			}
		}
		if err := unix.Mount(src, target, "", unix.MS_BIND, ""); err != nil {
			return fmt.Errorf("binding %s: %w", s.Target, err)
		}
		return unix.Mount("", target, "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY, "")
	}
	return fmt.Errorf("unknown share kind %q", s.Kind)
}

// loopbackUp brings lo up.
func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("bringing lo up: %w", err)
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return fmt.Errorf("bringing lo up: %w", err)
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("bringing lo up: %w", err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("bringing lo up: %w", err)
	}
	return nil
}

// configureNetwork gives the VM's network card, when it has one, QEMU
// user networking's fixed addresses (lo is up already). With the allowlist mode's
// proxy every other IPv4 address is local instead of routed out, and the
// init answers DNS, carries the names' ports to the proxy and reports
// refused connections (see egress.ServeNames).
func configureNetwork(enabled bool, proxy string) error {
	if !enabled {
		return nil
	}
	lo, err := netlink.LinkByName("lo")
	if err != nil {
		return err
	}
	var eth netlink.Link
	for i := 0; i < 200; i++ {
		if eth, err = netlink.LinkByName("eth0"); err == nil {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err != nil {
		return fmt.Errorf("no network card: %w", err)
	}
	addr, _ := netlink.ParseAddr("10.0.2.15/24")
	if err := netlink.AddrAdd(eth, addr); err != nil {
		return err
	}
	if err := netlink.LinkSetUp(eth); err != nil {
		return err
	}
	if proxy == "" {
		return netlink.RouteAdd(&netlink.Route{LinkIndex: eth.Attrs().Index, Gw: net.IPv4(10, 0, 2, 2)})
	}
	everywhere := &net.IPNet{IP: net.IPv4zero.To4(), Mask: net.CIDRMask(0, 32)}
	if err := netlink.RouteAdd(&netlink.Route{LinkIndex: lo.Attrs().Index, Dst: everywhere, Type: unix.RTN_LOCAL, Scope: netlink.SCOPE_HOST}); err != nil {
		return fmt.Errorf("local route: %w", err)
	}
	raw, err := unix.Socket(unix.AF_INET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.IPPROTO_TCP)
	if err != nil {
		return fmt.Errorf("raw socket: %w", err)
	}
	go egress.WatchRefused(raw, proxy)
	return egress.ServeNames(proxy)
}

// runCommand starts the command as the user on the serial console with a
// controlling terminal, reaps every process until it exits, and returns
// its status.
func runCommand(cfg *render.GuestConfig, filter []unix.SockFilter, cg *limits.Cgroup) (int, error) {
	tty, err := os.OpenFile("/dev/ttyS0", os.O_RDWR, 0)
	if err != nil {
		return 0, fmt.Errorf("opening the console: %w", err)
	}
	defer tty.Close()
	if cfg.Rows > 0 && cfg.Cols > 0 {
		unix.IoctlSetWinsize(int(tty.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: uint16(cfg.Rows), Col: uint16(cfg.Cols)})
	}
	argv0, err := lookPath(cfg.Argv[0], cfg.Env)
	if err != nil {
		return 127, err
	}
	groups := make([]uint32, len(cfg.Groups))
	for i, g := range cfg.Groups {
		groups[i] = uint32(g)
	}
	attr := &os.ProcAttr{
		Dir:   cfg.Cwd,
		Env:   cfg.Env,
		Files: []*os.File{tty, tty, tty},
		Sys: &syscall.SysProcAttr{
			Chroot:     newRoot,
			Setsid:     true,
			Setctty:    true,
			Ctty:       0,
			Credential: &syscall.Credential{Uid: uint32(cfg.UID), Gid: uint32(cfg.GID), Groups: groups},
		},
	}
	placed, err := applyLimits(cfg.Limits, cg, attr.Sys)
	if err != nil {
		return 125, err
	}
	proc, err := startConfined(argv0, cfg.Argv, attr, filter)
	placed()
	if err != nil {
		return 127, fmt.Errorf("starting %s: %w", cfg.Argv[0], err)
	}
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, 0, nil)
		if err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			return 125, fmt.Errorf("waiting: %w", err)
		}
		if pid != proc.Pid {
			continue
		}
		switch {
		case ws.Exited():
			return ws.ExitStatus(), nil
		case ws.Signaled():
			return 128 + int(ws.Signal()), nil
		}
	}
}

// lookPath finds name on the PATH of env, inside the new root.
func lookPath(name string, env []string) (string, error) {
	if strings.Contains(name, "/") {
		return name, nil
	}
	path := render.SystemPath
	for _, e := range env {
		if v, ok := strings.CutPrefix(e, "PATH="); ok {
			path = v
		}
	}
	for _, dir := range filepath.SplitList(path) {
		p := filepath.Join(dir, name)
		if st, err := os.Stat(filepath.Join(newRoot, p)); err == nil && st.Mode().IsRegular() {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found on PATH %s", name, path)
}

// hasVar reports whether env sets name.
func hasVar(env []string, name string) bool {
	for _, e := range env {
		if strings.HasPrefix(e, name+"=") {
			return true
		}
	}
	return false
}
