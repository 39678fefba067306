package audit

import (
	"encoding/binary"
	"errors"
	"io/fs"
	"path/filepath"
	"unsafe"

	"golang.org/x/sys/unix"
)

// dirent is one directory entry as the walk needs it: its name and the
// type bits of its mode.
type dirent struct {
	// name views the lister's buffer: valid until the lister lists
	// again at the same depth, and never kept (paths are built anew).
	name string
	typ  fs.FileMode
}

// IsDir reports whether the entry is a directory.
func (d dirent) IsDir() bool { return d.typ.IsDir() }

// lister lists directories with getdents64 into buffers it reuses, one
// per depth of the walk, so that a listing allocates nothing per entry:
// the walk's cost and memory do not grow with the files it only looks at.
type lister struct {
	bufs [][]byte
	ents [][]dirent
}

// list returns the entries of dir, without "." and "..", unsorted. An
// entry whose type the file system does not report is typed with lstat
// (and skipped when it is gone by then), as os.ReadDir does.
func (l *lister) list(dir string, depth int) ([]dirent, error) {
	for len(l.bufs) <= depth {
		l.bufs = append(l.bufs, make([]byte, 8192))
		l.ents = append(l.ents, nil)
	}
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: dir, Err: err}
	}
	defer unix.Close(fd)
	buf, used := l.bufs[depth], 0
	for {
		if len(buf)-used < 4096 {
			grown := make([]byte, 2*len(buf))
			copy(grown, buf[:used])
			buf = grown
		}
		n, err := unix.Getdents(fd, buf[used:])
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return nil, &fs.PathError{Op: "readdirent", Path: dir, Err: err}
		}
		if n <= 0 {
			break
		}
		used += n
	}
	l.bufs[depth] = buf
	ents := l.ents[depth][:0]
	for off := 0; off+19 <= used; {
		reclen := int(binary.NativeEndian.Uint16(buf[off+16:]))
		if reclen == 0 || off+reclen > used {
			break
		}
		rec := buf[off+19 : off+reclen]
		typ := buf[off+18]
		off += reclen
		n := 0
		for n < len(rec) && rec[n] != 0 {
			n++
		}
		if n == 0 || (n == 1 && rec[0] == '.') || (n == 2 && rec[0] == '.' && rec[1] == '.') {
			continue
		}
		name := unsafe.String(&rec[0], n)
		t, ok := direntType(typ)
		if !ok {
			var st unix.Stat_t
			if err := unix.Lstat(filepath.Join(dir, name), &st); err != nil {
				if errors.Is(err, unix.ENOENT) {
					continue
				}
				return nil, &fs.PathError{Op: "lstat", Path: filepath.Join(dir, name), Err: err}
			}
			t = modeType(st.Mode)
		}
		ents = append(ents, dirent{name: name, typ: t})
	}
	l.ents[depth] = ents
	return ents, nil
}

// direntType maps a getdents64 type to fs.FileMode type bits; false when
// the file system does not report it.
func direntType(t byte) (fs.FileMode, bool) {
	switch t {
	case unix.DT_REG:
		return 0, true
	case unix.DT_DIR:
		return fs.ModeDir, true
	case unix.DT_LNK:
		return fs.ModeSymlink, true
	case unix.DT_FIFO:
		return fs.ModeNamedPipe, true
	case unix.DT_SOCK:
		return fs.ModeSocket, true
	case unix.DT_CHR:
		return fs.ModeDevice | fs.ModeCharDevice, true
	case unix.DT_BLK:
		return fs.ModeDevice, true
	}
	return 0, false
}

// modeType maps a stat mode to fs.FileMode type bits.
func modeType(m uint32) fs.FileMode {
	switch m & unix.S_IFMT {
	case unix.S_IFDIR:
		return fs.ModeDir
	case unix.S_IFLNK:
		return fs.ModeSymlink
	case unix.S_IFIFO:
		return fs.ModeNamedPipe
	case unix.S_IFSOCK:
		return fs.ModeSocket
	case unix.S_IFCHR:
		return fs.ModeDevice | fs.ModeCharDevice
	case unix.S_IFBLK:
		return fs.ModeDevice
	}
	return 0
}
