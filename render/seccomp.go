package render

import (
	"encoding/binary"
	"fmt"
	"runtime"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// Offsets into the kernel's struct seccomp_data.
const (
	seccompNr   = 0
	seccompArch = 4
	// seccompArg1Low is the low 32 bits of the second argument on a
	// little-endian machine: the ioctl request.
	seccompArg1Low = 16 + 8
	// seccompArg0Low is the low 32 bits of the first argument: the flags
	// of clone and unshare.
	seccompArg0Low = 16
)

// SeccompOptions are the variations of the one filter.
type SeccompOptions struct {
	// BlockUserNamespaces refuses new user namespaces: clone and unshare
	// with CLONE_NEWUSER fail with EPERM, and clone3, whose flags lie in
	// memory a filter cannot read, fails with ENOSYS so that the C
	// library falls back to clone. Bubblewrap gets the same from
	// --disable-userns; the container, which shares the host's user
	// namespace, relies on this.
	BlockUserNamespaces bool
}

// x32SyscallBit marks system calls of the x32 ABI on x86-64.
const x32SyscallBit = 0x40000000

// BlockedSyscalls are the system calls a coding agent never needs and
// that have been the way out of sandboxes: io_uring (its operations
// bypass other filters), the new mount API, userfaultfd (race widening),
// bpf, perf_event_open, the kernel keyring, kexec and module loading, and
// ptrace and cross-process memory access. They fail with EPERM.
var BlockedSyscalls = map[string]uint32{
	"io_uring_setup":    unix.SYS_IO_URING_SETUP,
	"io_uring_enter":    unix.SYS_IO_URING_ENTER,
	"io_uring_register": unix.SYS_IO_URING_REGISTER,
	"open_tree":         unix.SYS_OPEN_TREE,
	"move_mount":        unix.SYS_MOVE_MOUNT,
	"fsopen":            unix.SYS_FSOPEN,
	"fsconfig":          unix.SYS_FSCONFIG,
	"fsmount":           unix.SYS_FSMOUNT,
	"fspick":            unix.SYS_FSPICK,
	"mount_setattr":     unix.SYS_MOUNT_SETATTR,
	"userfaultfd":       unix.SYS_USERFAULTFD,
	"bpf":               unix.SYS_BPF,
	"perf_event_open":   unix.SYS_PERF_EVENT_OPEN,
	"keyctl":            unix.SYS_KEYCTL,
	"add_key":           unix.SYS_ADD_KEY,
	"request_key":       unix.SYS_REQUEST_KEY,
	"kexec_load":        unix.SYS_KEXEC_LOAD,
	"kexec_file_load":   unix.SYS_KEXEC_FILE_LOAD,
	"init_module":       unix.SYS_INIT_MODULE,
	"finit_module":      unix.SYS_FINIT_MODULE,
	"delete_module":     unix.SYS_DELETE_MODULE,
	"ptrace":            unix.SYS_PTRACE,
	"process_vm_readv":  unix.SYS_PROCESS_VM_READV,
	"process_vm_writev": unix.SYS_PROCESS_VM_WRITEV,
}

// BlockedIoctls are the terminal ioctls that inject input into the
// controlling terminal (TIOCSTI) or act on the virtual console
// (TIOCLINUX). Only the low 32 bits of the request are compared, as the
// kernel does, so setting high bits does not slip past the filter.
var BlockedIoctls = map[string]uint32{
	"TIOCSTI":   unix.TIOCSTI,
	"TIOCLINUX": unix.TIOCLINUX,
}

// auditArch returns the audit architecture of the running build.
func auditArch() (uint32, error) {
	switch runtime.GOARCH {
	case "amd64":
		return unix.AUDIT_ARCH_X86_64, nil
	case "arm64":
		return unix.AUDIT_ARCH_AARCH64, nil
	}
	return 0, fmt.Errorf("seccomp filter: unsupported architecture %s", runtime.GOARCH)
}

// SeccompProgram assembles the sandbox's seccomp filter and returns it as
// an array of struct sock_filter in native byte order, ready for bwrap's
// --seccomp. A system call of another architecture kills the process; on
// x86-64 the x32 ABI is refused; the calls in BlockedSyscalls and the
// ioctls in BlockedIoctls fail with EPERM; everything else is allowed.
func SeccompProgram(o SeccompOptions) ([]byte, error) {
	raw, err := SeccompRaw(o)
	if err != nil {
		return nil, err
	}
	return rawBytes(raw), nil
}

// rawBytes lays out a filter as an array of struct sock_filter in native
// byte order.
func rawBytes(raw []bpf.RawInstruction) []byte {
	out := make([]byte, 0, 8*len(raw))
	for _, ins := range raw {
		out = binary.NativeEndian.AppendUint16(out, ins.Op)
		out = append(out, ins.Jt, ins.Jf)
		out = binary.NativeEndian.AppendUint32(out, ins.K)
	}
	return out
}

// SeccompRaw returns the assembled filter, as the seccomp system call
// takes it.
func SeccompRaw(o SeccompOptions) ([]bpf.RawInstruction, error) {
	insns, err := SeccompInstructions(o)
	if err != nil {
		return nil, err
	}
	raw, err := bpf.Assemble(insns)
	if err != nil {
		return nil, fmt.Errorf("seccomp filter: %w", err)
	}
	return raw, nil
}

// SeccompInstructions returns the filter as BPF instructions.
func SeccompInstructions(o SeccompOptions) ([]bpf.Instruction, error) {
	arch, err := auditArch()
	if err != nil {
		return nil, err
	}
	eperm := bpf.RetConstant{Val: unix.SECCOMP_RET_ERRNO | uint32(unix.EPERM)}
	allow := bpf.RetConstant{Val: unix.SECCOMP_RET_ALLOW}
	kill := bpf.RetConstant{Val: unix.SECCOMP_RET_KILL_PROCESS}

	nrs := sortedValues(BlockedSyscalls)
	ioctls := sortedValues(BlockedIoctls)

	var p []bpf.Instruction
	p = append(p,
		bpf.LoadAbsolute{Off: seccompArch, Size: 4},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: arch, SkipTrue: 1},
		kill,
		bpf.LoadAbsolute{Off: seccompNr, Size: 4},
	)
	if runtime.GOARCH == "amd64" {
		p = append(p,
			bpf.JumpIf{Cond: bpf.JumpGreaterOrEqual, Val: x32SyscallBit, SkipFalse: 1},
			eperm,
		)
	}
	if o.BlockUserNamespaces {
		p = append(p,
			bpf.JumpIf{Cond: bpf.JumpEqual, Val: unix.SYS_CLONE3, SkipFalse: 1},
			bpf.RetConstant{Val: unix.SECCOMP_RET_ERRNO | uint32(unix.ENOSYS)},
			// clone and unshare go to the flag test; anything else
			// skips it with the number still loaded.
			bpf.JumpIf{Cond: bpf.JumpEqual, Val: unix.SYS_CLONE, SkipTrue: 1},
			bpf.JumpIf{Cond: bpf.JumpEqual, Val: unix.SYS_UNSHARE, SkipFalse: 4},
			bpf.LoadAbsolute{Off: seccompArg0Low, Size: 4},
			bpf.JumpIf{Cond: bpf.JumpBitsSet, Val: unix.CLONE_NEWUSER, SkipFalse: 1},
			eperm,
			allow,
		)
	}
	// Each blocked number jumps to the shared EPERM return placed after
	// the list; ioctl jumps to the argument checks after that.
	n := len(nrs)
	for i, nr := range nrs {
		// Instructions left after this one up to the EPERM return:
		// the rest of the list, the ioctl test and the ALLOW return.
		p = append(p, bpf.JumpIf{Cond: bpf.JumpEqual, Val: nr, SkipTrue: uint8(n - i - 1 + 2)})
	}
	p = append(p,
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: unix.SYS_IOCTL, SkipTrue: 2},
		allow,
		eperm,
		bpf.LoadAbsolute{Off: seccompArg1Low, Size: 4},
	)
	for i, req := range ioctls {
		// Jump back is impossible in BPF, so each match returns EPERM
		// through its own distance to the final EPERM.
		p = append(p, bpf.JumpIf{Cond: bpf.JumpEqual, Val: req, SkipTrue: uint8(len(ioctls) - i)})
	}
	p = append(p, allow, eperm)
	return p, nil
}

func sortedValues(m map[string]uint32) []uint32 {
	out := make([]uint32, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j] < out[j-1]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}
