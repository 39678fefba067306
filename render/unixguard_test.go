package render

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/claude-sandbox/claude-sandbox/profile"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

func TestUnixGuardFilter(t *testing.T) {
	arch, err := auditArch()
	if err != nil {
		t.Skip(err)
	}
	allow := uint32(unix.SECCOMP_RET_ALLOW)
	notify := uint32(unix.SECCOMP_RET_USER_NOTIF)
	eacces := uint32(unix.SECCOMP_RET_ERRNO | uint32(unix.EACCES))
	tests := []struct {
		name     string
		trapBind bool
		data     []byte
		want     uint32
	}{
		{"connect notified", false, seccompData(arch, unix.SYS_CONNECT, 3, 0x1000, 16), notify},
		{"bind allowed", false, seccompData(arch, unix.SYS_BIND, 3), allow},
		{"bind notified when trapped", true, seccompData(arch, unix.SYS_BIND, 3), notify},
		{"connect notified when bind is trapped", true, seccompData(arch, unix.SYS_CONNECT, 3), notify},
		{"read allowed", false, seccompData(arch, unix.SYS_READ), allow},
		{"unix stream socket allowed", false, seccompData(arch, unix.SYS_SOCKET, unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC), allow},
		{"unix seqpacket socket allowed", false, seccompData(arch, unix.SYS_SOCKET, unix.AF_UNIX, unix.SOCK_SEQPACKET), allow},
		{"unix datagram socket refused", false, seccompData(arch, unix.SYS_SOCKET, unix.AF_UNIX, unix.SOCK_DGRAM), eacces},
		{"unix datagram socket with flags refused", false, seccompData(arch, unix.SYS_SOCKET, unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC), eacces},
		{"unix datagram pair refused", true, seccompData(arch, unix.SYS_SOCKETPAIR, unix.AF_UNIX, unix.SOCK_DGRAM), eacces},
		{"unix raw socket refused", false, seccompData(arch, unix.SYS_SOCKET, unix.AF_UNIX, unix.SOCK_RAW), eacces},
		{"unix raw pair refused", false, seccompData(arch, unix.SYS_SOCKETPAIR, unix.AF_UNIX, unix.SOCK_RAW|unix.SOCK_CLOEXEC), eacces},
		{"unix rdm socket refused", false, seccompData(arch, unix.SYS_SOCKET, unix.AF_UNIX, unix.SOCK_RDM), eacces},
		{"unix seqpacket pair allowed", false, seccompData(arch, unix.SYS_SOCKETPAIR, unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_NONBLOCK), allow},
		{"unix stream pair allowed", false, seccompData(arch, unix.SYS_SOCKETPAIR, unix.AF_UNIX, unix.SOCK_STREAM), allow},
		{"udp socket allowed", false, seccompData(arch, unix.SYS_SOCKET, unix.AF_INET, unix.SOCK_DGRAM), allow},
		{"x32 connect refused", false, seccompData(arch, x32SyscallBit|unix.SYS_CONNECT), eacces},
		{"other architecture killed", false, seccompData(unix.AUDIT_ARCH_I386, unix.SYS_READ), unix.SECCOMP_RET_KILL_PROCESS},
	}
	for _, tt := range tests {
		insns, err := UnixGuardInstructions(tt.trapBind)
		if err != nil {
			t.Fatal(err)
		}
		vm, err := bpf.NewVM(insns)
		if err != nil {
			t.Fatalf("filter does not validate: %v", err)
		}
		got, err := vm.Run(tt.data)
		if err != nil {
			t.Fatal(err)
		}
		if uint32(got) != tt.want {
			t.Errorf("%s: got %#x, want %#x", tt.name, got, tt.want)
		}
	}
}

func TestUnixGuardPlan(t *testing.T) {
	h := debianHost()
	p := defaultPolicy(t, "/home/alice/proj")
	p.Forward.SSHAgent = true
	h.Env["SSH_AUTH_SOCK"] = "/tmp/ssh-x/agent.1"
	h.Files["/tmp/ssh-x/agent.1"] = File{Kind: Socket, Real: "/tmp/ssh-x/agent.1"}
	_, fwd, _ := ForwardedSockets(p, h)
	g, _ := UnixGuardFor(p, h, profile.Bubblewrap, fwd, NetworkFor(p, h, profile.Bubblewrap))
	if g == nil || len(g.Granted) != 1 || g.Granted[0] != "/tmp/ssh-x/agent.1" || g.OwnNetns || g.Helper == "" {
		t.Errorf("bubblewrap: %+v, want the agent's host path granted, guarded by the launcher", g)
	}
	if plan, err := Bwrap(p, h); err != nil || plan.UnixGuard == nil || plan.UnixGuard.Helper != h.Self ||
		!slices.Contains(plan.Argv, UnixGuardArg) || plan.UnixGuard.Filter != nil ||
		slices.Index(plan.Argv, UnixGuardArg) != slices.Index(plan.Argv, h.Self)+1 {
		t.Errorf("bubblewrap behind a network program: %v, want the launcher's helper mode in front of bwrap", err)
	}
	// Without a program in front, bwrap is the launcher's own child:
	// the launcher installs the filter, no helper runs.
	for _, mode := range []profile.NetworkMode{profile.NetworkOff, profile.NetworkHost} {
		q := *p
		q.Network.Mode = mode
		plan, err := Bwrap(&q, h)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := UnixGuardProgram(mode == profile.NetworkHost)
		g := plan.UnixGuard
		if g == nil || g.Helper != "" || !bytes.Equal(g.Filter, want) || plan.Argv[0] != h.Tools["bwrap"] ||
			slices.ContainsFunc(plan.Argv, func(a string) bool { return strings.Contains(a, UnixGuardName) || a == h.Self }) {
			t.Errorf("network %s: guard %+v, argv %q, want the launcher's own filter and bwrap first", mode, g, plan.Argv)
		}
	}
	g, _ = UnixGuardFor(p, h, profile.Container, fwd, NetworkFor(p, h, profile.Container))
	if g == nil || len(g.Granted) != 1 || g.Granted[0] != Runtime(h)+"/ssh-agent.sock" || !g.OwnNetns || g.Helper != "" {
		t.Errorf("container: %+v, want the agent's path inside granted, guarded inside", g)
	}
	if g, notes := UnixGuardFor(p, h, profile.VM, fwd, NetworkPlan{}); g != nil || len(notes) != 1 {
		t.Errorf("vm: %+v, want no guard", g)
	}
	p.UnixSockets = profile.UnixSocketsAll
	if g, _ := UnixGuardFor(p, h, profile.Bubblewrap, fwd, NetworkPlan{}); g != nil {
		t.Errorf("unix_sockets = all: %+v, want no guard", g)
	}
}
