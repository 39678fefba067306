package egress

import (
	"encoding/binary"
	"flag"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"syscall"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// NetnsName is the helper mode that creates the allowlist mode's network
// namespace and runs the backend inside it.
const NetnsName = "claude-sandbox-netns"

// NetnsMain creates a new network namespace (inside a new user namespace
// that maps only the caller, unless the caller is root), brings its
// loopback up and lets every user bind low ports there (nothing else
// lives in it), then runs COMMAND inside it and returns its exit status.
// The bridge can then answer DNS on port 53 and carry ports 80 and 443
// without holding any capability. Descriptors the caller passed on stay
// open for COMMAND.
//
//	claude-sandbox-netns -- COMMAND...
//
// inProcess, when not nil, may run COMMAND in the namespace's own
// process instead of executing it (one of the launcher's own helper
// modes, saving a second start of the launcher): it reports whether it
// did, and the status to exit with when it returns.
func NetnsMain(args []string, inProcess func(argv []string) (status int, handled bool)) int {
	fs := flag.NewFlagSet(NetnsName, flag.ContinueOnError)
	setup := fs.Bool("setup", false, "configure the current namespace and execute the command")
	socket := fs.String("socket", "", "the proxy's socket, for refused connections")
	reportFD := fs.Int("report-fd", -1, "send the namespace's raw TCP socket on this descriptor")
	if err := fs.Parse(args[1:]); err != nil || fs.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: claude-sandbox-netns [--socket PATH] -- COMMAND...")
		return 125
	}
	if *setup {
		argv := fs.Args()
		err := setupNetns(*reportFD)
		if err == nil && inProcess != nil {
			if status, handled := inProcess(argv); handled {
				return status
			}
		}
		if err == nil {
			err = execute(argv)
		}
		fmt.Fprintf(os.Stderr, "%s: %v\n", NetnsName, err)
		return 125
	}
	// End with the launcher, and take the backend along.
	if err := unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(unix.SIGTERM), 0, 0, 0); err != nil || os.Getppid() == 1 {
		fmt.Fprintf(os.Stderr, "%s: the launcher is gone\n", NetnsName)
		return 125
	}
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", NetnsName, err)
		return 125
	}
	files := inheritedFiles()
	setupArgs := []string{"--setup"}
	var ours *os.File
	if *socket != "" {
		pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", NetnsName, err)
			return 125
		}
		ours = os.NewFile(uintptr(pair[0]), "report")
		theirs := os.NewFile(uintptr(pair[1]), "report")
		defer theirs.Close()
		setupArgs = append(setupArgs, "--report-fd", strconv.Itoa(3+len(files)))
		files = append(files, theirs)
	}
	cmd := exec.Command(self, append(append(setupArgs, "--"), fs.Args()...)...)
	cmd.Args[0] = args[0]
	cmd.ExtraFiles = files
	uid, gid := os.Getuid(), os.Getgid()
	attr := &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET, Pdeathsig: syscall.SIGTERM}
	if uid != 0 {
		attr.Cloneflags |= syscall.CLONE_NEWUSER
		attr.UidMappings = []syscall.SysProcIDMap{{ContainerID: uid, HostID: uid, Size: 1}}
		attr.GidMappings = []syscall.SysProcIDMap{{ContainerID: gid, HostID: gid, Size: 1}}
		attr.AmbientCaps = []uintptr{unix.CAP_NET_ADMIN, unix.CAP_NET_RAW}
	}
	cmd.SysProcAttr = attr
	return runCmd(cmd, func() {
		if ours == nil {
			return
		}
		files[len(files)-1].Close()
		go func() {
			defer ours.Close()
			if raw, err := receiveFD(ours); err == nil {
				WatchRefused(raw, *socket)
			}
		}()
	})
}

// receiveFD receives one descriptor on the Unix socket f.
func receiveFD(f *os.File) (int, error) {
	buf, oob := make([]byte, 1), make([]byte, unix.CmsgSpace(4))
	_, oobn, _, _, err := unix.Recvmsg(int(f.Fd()), buf, oob, unix.MSG_CMSG_CLOEXEC)
	if err != nil {
		return -1, err
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 {
		return -1, fmt.Errorf("no descriptor received")
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) != 1 {
		return -1, fmt.Errorf("no descriptor received")
	}
	return fds[0], nil
}

// WatchRefused reads the TCP packets of the sandbox's namespace from the
// raw socket raw and reports to the proxy at upstream each connection the
// kernel refused (a reset answering a SYN): a port of a name's address
// that the bridge does not carry, or an outside address. It returns when
// raw fails.
func WatchRefused(raw int, upstream string) {
	defer unix.Close(raw)
	type flow struct {
		src, dst [4]byte
		sport    uint16
		dport    uint16
	}
	syns := map[flow]uint32{}
	buf := make([]byte, 256)
	for {
		n, err := unix.Read(raw, buf)
		if err != nil {
			if err == unix.EINTR {
				continue
			}
			return
		}
		pkt := buf[:n]
		if n < 20 || pkt[0]>>4 != 4 || pkt[9] != unix.IPPROTO_TCP {
			continue
		}
		ihl := int(pkt[0]&0xf) * 4
		if n < ihl+20 {
			continue
		}
		tcp := pkt[ihl:]
		var f flow
		copy(f.src[:], pkt[12:16])
		copy(f.dst[:], pkt[16:20])
		f.sport, f.dport = binary.BigEndian.Uint16(tcp[0:]), binary.BigEndian.Uint16(tcp[2:])
		seq, ack, flags := binary.BigEndian.Uint32(tcp[4:]), binary.BigEndian.Uint32(tcp[8:]), tcp[13]
		const fin, syn, rst, ackFlag = 0x01, 0x02, 0x04, 0x10
		switch {
		case flags&(syn|ackFlag|rst) == syn:
			if len(syns) > 4096 {
				clear(syns)
			}
			syns[f] = seq
		case flags&(rst|ackFlag) == rst|ackFlag && seq == 0:
			back := flow{src: f.dst, dst: f.src, sport: f.dport, dport: f.sport}
			if isn, ok := syns[back]; ok && ack == isn+1 {
				delete(syns, back)
				target := netip.AddrPortFrom(netip.AddrFrom4(back.dst), back.dport).String()
				if resp, err := askProxy(upstream, MethodReport, target); err == nil {
					resp.Body.Close()
				}
			}
		case flags&(fin|rst) != 0:
			delete(syns, f)
		}
	}
}

// inheritedFiles returns the descriptors above 2 that this process was
// given (those without close-on-exec), at their numbers, for ExtraFiles.
func inheritedFiles() []*os.File {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return nil
	}
	var files []*os.File
	for _, e := range entries {
		fd, err := strconv.Atoi(e.Name())
		if err != nil || fd < 3 {
			continue
		}
		flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
		if err != nil || flags&unix.FD_CLOEXEC != 0 {
			continue
		}
		for len(files) <= fd-3 {
			files = append(files, nil)
		}
		files[fd-3] = os.NewFile(uintptr(fd), "inherited")
	}
	return files
}

// setupNetns configures the new namespace. Every IPv4 address is made
// local on lo, so that a connection to an outside address reaches the
// bridge (ports 80 and 443, refused by the proxy and recorded) or is
// refused at once (recorded through the raw socket sent on reportFD),
// never left unanswered.
func setupNetns(reportFD int) error {
	if err := os.WriteFile("/proc/sys/net/ipv4/ip_unprivileged_port_start", []byte("0\n"), 0); err != nil {
		return fmt.Errorf("low ports for the bridge: %w", err)
	}
	lo, err := netlink.LinkByName("lo")
	if err != nil {
		return fmt.Errorf("loopback: %w", err)
	}
	if err := netlink.LinkSetUp(lo); err != nil {
		return fmt.Errorf("loopback up: %w", err)
	}
	everywhere := &net.IPNet{IP: net.IPv4zero.To4(), Mask: net.CIDRMask(0, 32)}
	if err := netlink.RouteAdd(&netlink.Route{LinkIndex: lo.Attrs().Index, Dst: everywhere, Type: unix.RTN_LOCAL,
		Table: unix.RT_TABLE_LOCAL, Scope: netlink.SCOPE_HOST}); err != nil {
		return fmt.Errorf("local route: %w", err)
	}
	if reportFD >= 0 {
		raw, err := unix.Socket(unix.AF_INET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.IPPROTO_TCP)
		if err != nil {
			return fmt.Errorf("raw socket: %w", err)
		}
		if err := unix.Sendmsg(reportFD, []byte{0}, unix.UnixRights(raw), nil, 0); err != nil {
			return fmt.Errorf("passing the raw socket: %w", err)
		}
		unix.Close(raw)
		unix.Close(reportFD)
	}
	if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); err != nil && err != unix.EINVAL {
		return fmt.Errorf("clearing ambient capabilities: %w", err)
	}
	return nil
}

// execute executes argv; it returns only on failure.
func execute(argv []string) error {
	path, err := exec.LookPath(argv[0])
	if err != nil {
		return err
	}
	return fmt.Errorf("exec %s: %w", path, unix.Exec(path, argv, os.Environ()))
}
