package unixguard

import (
	"encoding/binary"
	"fmt"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Values of the kernel's sock_diag interface for AF_UNIX
// (linux/unix_diag.h).
const (
	udiagShowVFS = 0x2
	unixDiagVFS  = 1
)

// unixDiagReq is the kernel's struct unix_diag_req.
type unixDiagReq struct {
	Family   uint8
	Protocol uint8
	Pad      uint16
	States   uint32
	Ino      uint32
	Show     uint32
	Cookie   [2]uint32
}

// NewDiag opens a sock_diag socket in the caller's network namespace.
func NewDiag() (int, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, unix.NETLINK_SOCK_DIAG)
	if err != nil {
		return -1, fmt.Errorf("sock_diag: %w", err)
	}
	return fd, nil
}

// boundBy asks the kernel, on the sock_diag socket fd (whose network
// namespace is the one asked about; -1 for the caller's), which sockets
// are bound to a file with inode number ino and, when dev is not nil,
// on the file system with that device number (as the kernel keeps it),
// and returns those sockets' inodes. Replies to an earlier, abandoned
// request (seq) are skipped. Callers sharing fd take turns.
func boundBy(fd int, seq uint32, ino uint64, dev *uint32) (sockets []uint64, err error) {
	if fd < 0 {
		if fd, err = NewDiag(); err != nil {
			return nil, err
		}
		defer unix.Close(fd)
	}
	req := unixDiagReq{Family: unix.AF_UNIX, States: ^uint32(0), Show: udiagShowVFS}
	hdr := unix.NlMsghdr{
		Len:   uint32(unix.SizeofNlMsghdr + unsafe.Sizeof(req)),
		Type:  unix.SOCK_DIAG_BY_FAMILY,
		Flags: unix.NLM_F_REQUEST | unix.NLM_F_DUMP,
		Seq:   seq,
	}
	msg := make([]byte, 0, hdr.Len)
	msg = append(msg, (*[unix.SizeofNlMsghdr]byte)(unsafe.Pointer(&hdr))[:]...)
	msg = append(msg, (*[unsafe.Sizeof(req)]byte)(unsafe.Pointer(&req))[:]...)
	if err := unix.Sendto(fd, msg, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return nil, fmt.Errorf("sock_diag: %w", err)
	}
	buf := make([]byte, 64<<10)
	for {
		n, _, err := unix.Recvfrom(fd, buf, 0)
		if err != nil {
			return nil, fmt.Errorf("sock_diag: %w", err)
		}
		msgs, err := syscall.ParseNetlinkMessage(buf[:n])
		if err != nil {
			return nil, fmt.Errorf("sock_diag: %w", err)
		}
		for _, m := range msgs {
			if m.Header.Seq != seq {
				continue
			}
			switch m.Header.Type {
			case unix.NLMSG_DONE:
				return sockets, nil
			case unix.NLMSG_ERROR:
				return nil, fmt.Errorf("sock_diag: error reply")
			}
			// struct unix_diag_msg: family, type, state, pad, ino,
			// cookie[2]; then attributes.
			if len(m.Data) < 16 {
				continue
			}
			sockIno := binary.NativeEndian.Uint32(m.Data[4:])
			attrs := m.Data[16:]
			for len(attrs) >= 4 {
				l := int(binary.NativeEndian.Uint16(attrs))
				typ := binary.NativeEndian.Uint16(attrs[2:])
				if l < 4 || l > len(attrs) {
					break
				}
				if typ == unixDiagVFS && l >= 12 {
					if uint64(binary.NativeEndian.Uint32(attrs[4:])) == ino &&
						(dev == nil || binary.NativeEndian.Uint32(attrs[8:]) == *dev) {
						sockets = append(sockets, uint64(sockIno))
					}
				}
				a := (l + 3) &^ 3
				if a >= len(attrs) {
					break
				}
				attrs = attrs[a:]
			}
		}
	}
}
