package render

import (
	"fmt"
	"path"
	"runtime"
	"strings"

	"github.com/claude-sandbox/claude-sandbox/profile"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// UnixGuardName is the launcher's helper mode that installs the Unix
// socket guard's filter and hands its listener to the launcher before it
// executes the sandbox.
const UnixGuardName = "claude-sandbox-unixguard"

// UnixGuardArg, as the first argument of the launcher's own executable,
// starts the guard's helper mode: the program in front of bwrap (pasta)
// executes the launcher itself, with no link in a run directory.
const UnixGuardArg = "--" + UnixGuardName

// UnixGuardFD is the descriptor on which the guard helper finds its end
// of the channel to the launcher; the filter follows on a generated file.
const UnixGuardFD = FirstFD - 1

// UnixGuard is how a backend confines connect() to Unix sockets: a
// seccomp filter hands every connect (and, where the sandbox shares the
// launcher's network namespace, every bind) to the launcher, which
// performs it on the sandbox's behalf when the socket is allowed.
type UnixGuard struct {
	// Helper is the launcher's own executable, which Argv runs with
	// UnixGuardArg in front of bubblewrap where a network program (pasta, the
	// allowlist's namespace helper) or a namespace the launcher joins
	// for slirp4netns comes first. Empty on bubblewrap otherwise: the
	// launcher installs Filter on the thread it starts bwrap from.
	// The container's entrypoint guards the command itself.
	Helper string
	// Filter is the filter (an array of struct sock_filter) the launcher
	// installs itself when bubblewrap runs without Helper.
	Filter []byte
	// Granted are the sockets the policy forwards (display, audio,
	// D-Bus, SSH agent, nix daemon, the launcher's own proxies), as the
	// guard sees them: host paths where the launcher guards
	// (bubblewrap), paths inside where the container's entrypoint does.
	// Connecting to them is always allowed.
	Granted []string
	// Private are the directories inside on file systems of the
	// sandbox's own (bubblewrap's tmpfs mounts): a socket there was made
	// inside.
	Private []string
	// SharedNetns is set when the sandbox lives in the host's network
	// namespace: the filter reports bind() too, and sockets bound inside
	// are recorded as they are bound.
	SharedNetns bool
	// DiagInside is set when bubblewrap's helper runs in the sandbox's
	// own, private network namespace (made by pasta, the netns helper or
	// the launcher in front of it): it hands the launcher a sock_diag
	// socket of that namespace, and a socket is the sandbox's when a
	// socket of that namespace is bound to it. Without it (network
	// "off", where bwrap makes the namespace) a socket is refused when a
	// socket of the host's namespace is bound to it.
	DiagInside bool
	// OwnNetns is set when the guard lives in the sandbox's own, private
	// network namespace (the container's entrypoint, the oci init): a
	// socket is the sandbox's when a socket of that namespace is bound
	// to it.
	OwnNetns bool
}

// Args are the guard's options for the launcher's init inside a
// container (the container's entrypoint, the oci init).
func (g *UnixGuard) Args() []string {
	args := []string{"--unix-guard"}
	if g.SharedNetns {
		args = append(args, "--unix-guard-shared-netns")
	}
	for _, p := range g.Granted {
		args = append(args, "--unix-granted="+p)
	}
	return args
}

// unixGuardDoc describes the mechanism, for explain.
const unixGuardDoc = "unix_sockets: granted: connect() to a Unix socket is performed by the launcher on the sandbox's behalf, " +
	"and refused (EACCES) when a process outside the sandbox listens on it and the policy does not forward it; " +
	"AF_UNIX datagram sockets cannot be created (socket and socketpair fail with EACCES)"

// UnixGuardFor plans the guard of policy p on host h for backend b from
// the sockets the backend binds in, or returns nil when the policy says
// unix_sockets = "all" or the backend does not need one.
func UnixGuardFor(p *profile.Policy, h *Host, b profile.Backend, fwd []Share, net NetworkPlan) (*UnixGuard, []string) {
	if p.UnixSockets == profile.UnixSocketsAll {
		return nil, []string{"unix_sockets: all: every Unix socket reachable through a shared directory is connectable"}
	}
	if b == profile.VM {
		return nil, []string{"unix_sockets: granted: nothing to guard: a host socket on a 9p share is a file the guest's kernel knows no listener for"}
	}
	shared := p.Network.Mode == profile.NetworkHost
	g := &UnixGuard{SharedNetns: shared}
	inside := b != profile.Bubblewrap
	if inside {
		g.OwnNetns = !shared
	} else {
		if len(net.Prefix) > 0 || len(net.Attach) > 0 {
			g.Helper = h.Self
		}
		g.Private = []string{"/", "/tmp", "/var/tmp", "/run", "/home", "/dev", "/dev/shm"}
		g.DiagInside = !shared && !net.Unshare
	}
	seen := map[string]bool{}
	add := func(s string) {
		if s != "" && !seen[s] {
			seen[s] = true
			g.Granted = append(g.Granted, s)
		}
	}
	pick := func(host, in string) string {
		if inside {
			return in
		}
		return host
	}
	for _, s := range fwd {
		if s.Kind == Socket {
			add(pick(s.Source, s.Target))
		}
	}
	for _, bind := range net.Binds {
		add(pick(bind[0], bind[1]))
	}
	if p.Forward.Nix && h.Exists("/nix/var/nix/daemon-socket") {
		// The directory is shared: the daemon's socket is whatever it
		// holds, now or after the daemon restarts.
		add(pick(path.Join(h.Real("/nix/var/nix/daemon-socket"), "socket"), "/nix/var/nix/daemon-socket/socket"))
	}
	notes := []string{unixGuardDoc}
	switch {
	case inside:
		notes = append(notes, "unix_sockets: the container's init performs the connects inside the container; a socket is the sandbox's when a socket of the container's network namespace is bound to it")
	case g.DiagInside:
		notes = append(notes, "unix_sockets: a socket is the sandbox's when it lies on the sandbox's own tmpfs or a socket of the sandbox's network namespace is bound to it")
	case !shared:
		notes = append(notes, "unix_sockets: bwrap makes the network namespace, so a socket is refused when a socket of the host's network namespace is bound to it (not one of a third namespace)")
	}
	if !inside && g.Helper == "" {
		notes = append(notes, "unix_sockets: the launcher installs the filter on the thread it starts bwrap from; bwrap and the sandbox inherit it")
	}
	if len(g.Granted) > 0 {
		notes = append(notes, "unix_sockets: always allowed: "+strings.Join(g.Granted, ", "))
	}
	if g.SharedNetns {
		notes = append(notes, "unix_sockets: the network is the host's, so bind() is reported to the launcher too, which records the sockets bound inside")
	}
	return g, notes
}

// UnixGuardInstructions returns the guard's filter: connect (and bind
// when trapBind) goes to the listener, socket and socketpair of AF_UNIX
// sockets other than stream and seqpacket ones fail with EACCES, a system call of another
// architecture kills the process, and everything else is allowed. An
// unconnected datagram socket could send to any path, which connect
// alone does not cover; the stream and seqpacket families ignore a
// destination address once connected.
func UnixGuardInstructions(trapBind bool) ([]bpf.Instruction, error) {
	arch, err := auditArch()
	if err != nil {
		return nil, err
	}
	notify := bpf.RetConstant{Val: unix.SECCOMP_RET_USER_NOTIF}
	allow := bpf.RetConstant{Val: unix.SECCOMP_RET_ALLOW}
	eacces := bpf.RetConstant{Val: unix.SECCOMP_RET_ERRNO | uint32(unix.EACCES)}
	p := []bpf.Instruction{
		bpf.LoadAbsolute{Off: seccompArch, Size: 4},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: arch, SkipTrue: 1},
		bpf.RetConstant{Val: unix.SECCOMP_RET_KILL_PROCESS},
		bpf.LoadAbsolute{Off: seccompNr, Size: 4},
	}
	if runtime.GOARCH == "amd64" {
		// The x32 ABI has its own connect; the sandbox's main filter
		// refuses it, and so does this one.
		p = append(p,
			bpf.JumpIf{Cond: bpf.JumpGreaterOrEqual, Val: x32SyscallBit, SkipFalse: 1},
			eacces,
		)
	}
	bindNr := uint32(unix.SYS_CONNECT)
	if trapBind {
		bindNr = unix.SYS_BIND
	}
	p = append(p,
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: unix.SYS_CONNECT, SkipTrue: 4},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: bindNr, SkipTrue: 3},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: unix.SYS_SOCKET, SkipTrue: 3},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: unix.SYS_SOCKETPAIR, SkipTrue: 2},
		allow,
		notify,
		// socket and socketpair: AF_UNIX of any type but SOCK_STREAM
		// and SOCK_SEQPACKET (the low four bits; SOCK_NONBLOCK and
		// SOCK_CLOEXEC lie above them): the kernel makes a SOCK_RAW
		// one a datagram socket too.
		bpf.LoadAbsolute{Off: seccompArg0Low, Size: 4},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: unix.AF_UNIX, SkipFalse: 4},
		bpf.LoadAbsolute{Off: seccompArg1Low, Size: 4},
		bpf.ALUOpConstant{Op: bpf.ALUOpAnd, Val: 0xf},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: unix.SOCK_STREAM, SkipTrue: 1},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: unix.SOCK_SEQPACKET, SkipFalse: 1},
		allow,
		eacces,
	)
	return p, nil
}

// UnixGuardProgram assembles the guard's filter as an array of struct
// sock_filter in native byte order.
func UnixGuardProgram(trapBind bool) ([]byte, error) {
	insns, err := UnixGuardInstructions(trapBind)
	if err != nil {
		return nil, err
	}
	raw, err := bpf.Assemble(insns)
	if err != nil {
		return nil, fmt.Errorf("unix socket guard filter: %w", err)
	}
	return rawBytes(raw), nil
}
