package egress

import (
	"flag"
	"fmt"
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
func NetnsMain(args []string) int {
	fs := flag.NewFlagSet(NetnsName, flag.ContinueOnError)
	setup := fs.Bool("setup", false, "configure the current namespace and execute the command")
	if err := fs.Parse(args[1:]); err != nil || fs.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: claude-sandbox-netns -- COMMAND...")
		return 125
	}
	if *setup {
		err := setupNetns(fs.Args())
		fmt.Fprintf(os.Stderr, "%s: %v\n", NetnsName, err)
		return 125
	}
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", NetnsName, err)
		return 125
	}
	cmd := exec.Command(self, append([]string{"--setup", "--"}, fs.Args()...)...)
	cmd.Args[0] = args[0]
	cmd.ExtraFiles = inheritedFiles()
	uid, gid := os.Getuid(), os.Getgid()
	attr := &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET}
	if uid != 0 {
		attr.Cloneflags |= syscall.CLONE_NEWUSER
		attr.UidMappings = []syscall.SysProcIDMap{{ContainerID: uid, HostID: uid, Size: 1}}
		attr.GidMappings = []syscall.SysProcIDMap{{ContainerID: gid, HostID: gid, Size: 1}}
		attr.AmbientCaps = []uintptr{unix.CAP_NET_ADMIN}
	}
	cmd.SysProcAttr = attr
	return runCmd(cmd)
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

// setupNetns configures the new namespace and executes argv; it returns
// only on failure.
func setupNetns(argv []string) error {
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
	if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); err != nil && err != unix.EINVAL {
		return fmt.Errorf("clearing ambient capabilities: %w", err)
	}
	path, err := exec.LookPath(argv[0])
	if err != nil {
		return err
	}
	return fmt.Errorf("exec %s: %w", path, unix.Exec(path, argv, os.Environ()))
}
