package backendtest

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Marker returns a text no other process on the machine carries, for a
// test to recognise what it started (a command line, a file name).
func Marker(prefix string) string {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("reading random bytes: %v", err))
	}
	return prefix + "-" + hex.EncodeToString(b)
}

// newTmpDir creates the fixture's TMPDIR, owned by the user the sandbox
// runs for, and removes it when the test ends without ever following a
// mount left inside it.
func newTmpDir(t testing.TB, u User) string {
	t.Helper()
	// Short: the launcher's sockets live below it.
	d, err := os.MkdirTemp("", "csbx-t")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(d, 0o755)
	if os.Getuid() == 0 {
		os.Chown(d, u.UID, u.GID)
	}
	t.Cleanup(func() {
		if err := removeSameDevice(d); err != nil {
			t.Errorf("removing the test's TMPDIR: %v", err)
		}
	})
	return d
}

// RunDirs lists the launcher's run directories in the fixture's TMPDIR:
// those of this fixture's launches and of no one else's.
func (f *Fixture) RunDirs() []string {
	m, _ := filepath.Glob(filepath.Join(f.TmpDir, "claude-sandbox-*"))
	return m
}

// AssertNoRunDirs fails the test when a launch of the fixture left a run
// directory behind. Call it once every launch has returned.
func (f *Fixture) AssertNoRunDirs(t testing.TB) {
	t.Helper()
	if m := f.RunDirs(); len(m) > 0 {
		t.Errorf("run directories left behind: %v", m)
	}
}

// Processes lists the processes (as "pid: command line") whose command
// line contains every one of texts; give it a text only the test's own
// processes carry (a Marker, the fixture's TmpDir or Project).
func Processes(texts ...string) []string {
	entries, _ := os.ReadDir("/proc")
	self := strconv.Itoa(os.Getpid())
	var out []string
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil || e.Name() == self {
			continue
		}
		data, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || len(data) == 0 {
			continue
		}
		cmdline := string(bytes.ReplaceAll(bytes.TrimRight(data, "\x00"), []byte{0}, []byte{' '}))
		all := true
		for _, s := range texts {
			if !strings.Contains(cmdline, s) {
				all = false
				break
			}
		}
		if all {
			out = append(out, e.Name()+": "+cmdline)
		}
	}
	return out
}

// LaunchedProcesses lists the processes (as "pid: command line") started
// with the fixture's environment: the launchers of the fixture and
// whatever inherited their environment, never another test's.
func (f *Fixture) LaunchedProcesses() []string {
	entries, _ := os.ReadDir("/proc")
	self := strconv.Itoa(os.Getpid())
	want := []byte("TMPDIR=" + f.TmpDir)
	var out []string
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil || e.Name() == self {
			continue
		}
		env, err := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		if err != nil {
			continue
		}
		for _, kv := range bytes.Split(env, []byte{0}) {
			if bytes.Equal(kv, want) {
				cmdline, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
				out = append(out, e.Name()+": "+string(bytes.ReplaceAll(bytes.TrimRight(cmdline, "\x00"), []byte{0}, []byte{' '})))
				break
			}
		}
	}
	return out
}

// WaitUntil polls cond until it holds or timeout passes, and reports
// whether it held. The timeout is a limit for a failure, never the
// condition: make it generous, a busy machine is slow.
func WaitUntil(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// removeSameDevice removes dir and everything below it on dir's own file
// system; a mount left below it is reported and left alone, so that the
// host files it shows are never removed.
func removeSameDevice(dir string) error {
	var root syscall.Stat_t
	if err := syscall.Lstat(dir, &root); err != nil {
		if errors.Is(err, syscall.ENOENT) {
			return nil
		}
		return err
	}
	var walk func(p string) error
	walk = func(p string) error {
		var st syscall.Stat_t
		if err := syscall.Lstat(p, &st); err != nil {
			return nil
		}
		if st.Dev != root.Dev {
			return fmt.Errorf("%s is a mount point left behind", p)
		}
		if st.Mode&syscall.S_IFMT == syscall.S_IFDIR {
			entries, err := os.ReadDir(p)
			if err != nil {
				return err
			}
			for _, e := range entries {
				if err := walk(filepath.Join(p, e.Name())); err != nil {
					return err
				}
			}
		}
		return os.Remove(p)
	}
	return walk(dir)
}

// MustWaitUntil is WaitUntil that fails the test, naming what it waited
// for, when the time is up.
func MustWaitUntil(t testing.TB, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	if !WaitUntil(timeout, cond) {
		t.Fatalf("timed out after %v waiting for %s", timeout, what)
	}
}
