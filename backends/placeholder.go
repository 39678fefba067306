package backends

import (
	"bytes"
	"errors"
	"fmt"
	"os"

	"github.com/claude-sandbox/claude-sandbox/render"
	"golang.org/x/sys/unix"
)

// Placeholders of missing protected paths
//
// A run creates each missing placeholder (never following a symlink,
// never touching a path that exists) and holds a shared lock on it for
// its whole life, whoever created it. At exit it removes a placeholder
// only when it can take the lock exclusively (no other run binds it) and
// the placeholder is still what it was made as: an empty directory, or a
// regular file holding exactly its content. Anything else is user data
// and stays.

// heldPlaceholder is a placeholder this run locks.
type heldPlaceholder struct {
	ph render.Placeholder
	fd int
}

// createPlaceholders creates the plan's missing placeholders, owned by the
// invoking user, locks every one, and returns the function that releases
// them at exit, removing those still empty and used by no other run.
func createPlaceholders(list []render.Placeholder, h *render.Host) (func(), error) {
	var held []heldPlaceholder
	undo := func() {
		for i := len(held) - 1; i >= 0; i-- {
			release(held[i])
		}
	}
	for _, ph := range list {
		fd, err := holdPlaceholder(ph, h)
		if err != nil {
			undo()
			return nil, err
		}
		held = append(held, heldPlaceholder{ph, fd})
	}
	return undo, nil
}

// holdPlaceholder creates ph unless it exists and returns a descriptor
// holding a shared lock on it. It retries when another run removed the
// placeholder between creation and locking.
func holdPlaceholder(ph render.Placeholder, h *render.Host) (int, error) {
	for attempt := 0; attempt < 10; attempt++ {
		if err := createPlaceholder(ph, h); err != nil {
			return -1, err
		}
		flags := unix.O_RDONLY | unix.O_NOFOLLOW | unix.O_CLOEXEC
		if ph.Dir {
			flags |= unix.O_DIRECTORY
		}
		fd, err := unix.Open(ph.Path, flags, 0)
		if errors.Is(err, unix.ENOENT) {
			continue
		}
		if err != nil {
			return -1, fmt.Errorf("placeholder %s: %w", ph.Path, err)
		}
		if err := unix.Flock(fd, unix.LOCK_SH); err != nil {
			unix.Close(fd)
			return -1, fmt.Errorf("locking placeholder %s: %w", ph.Path, err)
		}
		if samePath(fd, ph.Path) {
			return fd, nil
		}
		unix.Close(fd)
	}
	return -1, fmt.Errorf("placeholder %s keeps disappearing", ph.Path)
}

// createPlaceholder creates ph when nothing is at its path.
func createPlaceholder(ph render.Placeholder, h *render.Host) error {
	if ph.Dir {
		err := unix.Mkdir(ph.Path, 0o755)
		if errors.Is(err, unix.EEXIST) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("creating placeholder %s: %w", ph.Path, err)
		}
	} else {
		fd, err := unix.Open(ph.Path, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o644)
		if errors.Is(err, unix.EEXIST) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("creating placeholder %s: %w", ph.Path, err)
		}
		_, err = unix.Write(fd, ph.Content)
		unix.Close(fd)
		if err != nil {
			unix.Unlink(ph.Path)
			return fmt.Errorf("writing placeholder %s: %w", ph.Path, err)
		}
	}
	if err := chownToUser(ph.Path, h); err != nil {
		return fmt.Errorf("placeholder %s: %w", ph.Path, err)
	}
	return nil
}

// samePath reports whether fd is the file now at path.
func samePath(fd int, path string) bool {
	var a, b unix.Stat_t
	if unix.Fstat(fd, &a) != nil || unix.Lstat(path, &b) != nil {
		return false
	}
	return a.Dev == b.Dev && a.Ino == b.Ino
}

// release removes a held placeholder when no other run holds it and it is
// still empty, then drops the lock.
func release(hp heldPlaceholder) {
	defer unix.Close(hp.fd)
	if unix.Flock(hp.fd, unix.LOCK_EX|unix.LOCK_NB) != nil || !samePath(hp.fd, hp.ph.Path) {
		return
	}
	st, err := os.Lstat(hp.ph.Path)
	if err != nil {
		return
	}
	if hp.ph.Dir {
		if st.IsDir() {
			unix.Rmdir(hp.ph.Path) // fails, harmlessly, unless empty
		}
		return
	}
	if !st.Mode().IsRegular() || st.Size() != int64(len(hp.ph.Content)) {
		return
	}
	if data, err := os.ReadFile(hp.ph.Path); err == nil && bytes.Equal(data, hp.ph.Content) {
		os.Remove(hp.ph.Path)
	}
}
