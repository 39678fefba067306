package render

import (
	"encoding/binary"
	"runtime"
	"testing"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// seccompData builds the struct seccomp_data the kernel hands the filter,
// laid out for x/net/bpf's virtual machine, which loads words big-endian:
// each 32-bit word is stored as the value the kernel's native load sees.
func seccompData(arch, nr uint32, args ...uint64) []byte {
	b := make([]byte, 64)
	binary.BigEndian.PutUint32(b[0:], nr)
	binary.BigEndian.PutUint32(b[4:], arch)
	for i, a := range args {
		off := 16 + 8*i
		binary.BigEndian.PutUint32(b[off:], uint32(a))       // low word first on little-endian
		binary.BigEndian.PutUint32(b[off+4:], uint32(a>>32)) // high word
	}
	return b
}

func runFilter(t *testing.T, o SeccompOptions, data []byte) uint32 {
	t.Helper()
	insns, err := SeccompInstructions(o)
	if err != nil {
		t.Fatal(err)
	}
	vm, err := bpf.NewVM(insns)
	if err != nil {
		t.Fatalf("filter does not validate: %v", err)
	}
	out, err := vm.Run(data)
	if err != nil {
		t.Fatal(err)
	}
	return uint32(out)
}

func TestSeccompFilter(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skip("the table below uses x86-64 numbers")
	}
	arch := uint32(unix.AUDIT_ARCH_X86_64)
	eperm := uint32(unix.SECCOMP_RET_ERRNO | uint32(unix.EPERM))
	allow := uint32(unix.SECCOMP_RET_ALLOW)
	cases := []struct {
		name string
		data []byte
		want uint32
	}{
		{"read allowed", seccompData(arch, unix.SYS_READ), allow},
		{"write allowed", seccompData(arch, unix.SYS_WRITE, 1), allow},
		{"other ioctl allowed", seccompData(arch, unix.SYS_IOCTL, 0, unix.TIOCGWINSZ), allow},
		{"TIOCSTI blocked", seccompData(arch, unix.SYS_IOCTL, 0, unix.TIOCSTI), eperm},
		{"TIOCSTI with high bits blocked", seccompData(arch, unix.SYS_IOCTL, 0, 0xdeadbeef00000000|unix.TIOCSTI), eperm},
		{"TIOCLINUX blocked", seccompData(arch, unix.SYS_IOCTL, 0, unix.TIOCLINUX), eperm},
		{"x32 ABI refused", seccompData(arch, x32SyscallBit|unix.SYS_READ), eperm},
		{"other architecture killed", seccompData(unix.AUDIT_ARCH_I386, unix.SYS_READ), unix.SECCOMP_RET_KILL_PROCESS},
	}
	for name, nr := range BlockedSyscalls {
		cases = append(cases, struct {
			name string
			data []byte
			want uint32
		}{name + " blocked", seccompData(arch, nr), eperm})
	}
	// User namespaces are left to bwrap's --disable-userns unless asked.
	cases = append(cases, struct {
		name string
		data []byte
		want uint32
	}{"clone with CLONE_NEWUSER left alone", seccompData(arch, unix.SYS_CLONE, unix.CLONE_NEWUSER), allow})
	for _, o := range []SeccompOptions{{}, {BlockUserNamespaces: true}} {
		for _, c := range cases {
			if o.BlockUserNamespaces && c.name == "clone with CLONE_NEWUSER left alone" {
				continue
			}
			if got := runFilter(t, o, c.data); got != c.want {
				t.Errorf("%+v: %s: filter returned %#x, want %#x", o, c.name, got, c.want)
			}
		}
	}
}

func TestSeccompFilterBlocksUserNamespaces(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skip("the table below uses x86-64 numbers")
	}
	arch := uint32(unix.AUDIT_ARCH_X86_64)
	eperm := uint32(unix.SECCOMP_RET_ERRNO | uint32(unix.EPERM))
	enosys := uint32(unix.SECCOMP_RET_ERRNO | uint32(unix.ENOSYS))
	allow := uint32(unix.SECCOMP_RET_ALLOW)
	thread := uint64(unix.CLONE_VM | unix.CLONE_FS | unix.CLONE_FILES | unix.CLONE_SIGHAND | unix.CLONE_THREAD)
	cases := []struct {
		name string
		data []byte
		want uint32
	}{
		{"clone of a thread", seccompData(arch, unix.SYS_CLONE, thread), allow},
		{"fork through clone", seccompData(arch, unix.SYS_CLONE, uint64(unix.SIGCHLD)), allow},
		{"clone with CLONE_NEWUSER", seccompData(arch, unix.SYS_CLONE, unix.CLONE_NEWUSER|uint64(unix.SIGCHLD)), eperm},
		{"clone with CLONE_NEWUSER among others", seccompData(arch, unix.SYS_CLONE, unix.CLONE_NEWUSER|unix.CLONE_NEWNS|unix.CLONE_NEWPID), eperm},
		{"unshare of a mount namespace", seccompData(arch, unix.SYS_UNSHARE, unix.CLONE_NEWNS), allow},
		{"unshare with CLONE_NEWUSER", seccompData(arch, unix.SYS_UNSHARE, unix.CLONE_NEWUSER), eperm},
		{"clone3 falls back", seccompData(arch, unix.SYS_CLONE3, 0), enosys},
		{"the blocked list still applies", seccompData(arch, unix.SYS_PTRACE), eperm},
		{"TIOCSTI still blocked", seccompData(arch, unix.SYS_IOCTL, 0, unix.TIOCSTI), eperm},
		{"read allowed", seccompData(arch, unix.SYS_READ), allow},
		{"other ioctl allowed", seccompData(arch, unix.SYS_IOCTL, 0, unix.TIOCGWINSZ), allow},
	}
	for _, c := range cases {
		if got := runFilter(t, SeccompOptions{BlockUserNamespaces: true}, c.data); got != c.want {
			t.Errorf("%s: filter returned %#x, want %#x", c.name, got, c.want)
		}
	}
}

func TestSeccompProgramEncoding(t *testing.T) {
	prog, err := SeccompProgram(SeccompOptions{})
	if err != nil {
		t.Fatal(err)
	}
	insns, _ := SeccompInstructions(SeccompOptions{})
	if len(prog) != 8*len(insns) {
		t.Fatalf("program is %d bytes for %d instructions", len(prog), len(insns))
	}
}
