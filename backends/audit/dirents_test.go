package audit

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"golang.org/x/sys/unix"
)

// TestListerMatchesReadDir lists directories holding every kind of entry,
// and one whose entries fill several buffers, and compares each listing
// with os.ReadDir's, names and types, also after listing other
// directories at the same and other depths.
func TestListerMatchesReadDir(t *testing.T) {
	small, big := t.TempDir(), t.TempDir()
	os.WriteFile(filepath.Join(small, "file"), nil, 0o644)
	os.Mkdir(filepath.Join(small, "dir"), 0o755)
	os.Symlink("file", filepath.Join(small, "link"))
	os.Symlink("/nonexistent", filepath.Join(small, "dangling"))
	if err := unix.Mkfifo(filepath.Join(small, "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	if l, err := net.Listen("unix", filepath.Join(small, "sock")); err == nil {
		defer l.Close()
	}
	os.WriteFile(filepath.Join(small, "HEAD"), nil, 0o644)
	for i := 0; i < 1500; i++ {
		os.WriteFile(filepath.Join(big, fmt.Sprintf("a-rather-long-file-name-%04d.go", i)), nil, 0o644)
	}
	os.Mkdir(filepath.Join(big, "sub"), 0o755)
	type entry struct {
		name string
		typ  os.FileMode
	}
	want := func(dir string) []entry {
		des, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		var out []entry
		for _, d := range des {
			out = append(out, entry{d.Name(), d.Type()})
		}
		return out
	}
	got := func(ents []dirent) []entry {
		var out []entry
		for _, e := range ents {
			out = append(out, entry{e.name, e.typ})
		}
		slices.SortFunc(out, func(a, b entry) int {
			if a.name < b.name {
				return -1
			}
			if a.name > b.name {
				return 1
			}
			return 0
		})
		return out
	}
	var l lister
	for _, step := range []struct {
		dir   string
		depth int
	}{{small, 0}, {big, 1}, {small, 1}, {big, 0}, {filepath.Join(big, "sub"), 2}} {
		ents, err := l.list(step.dir, step.depth)
		if err != nil {
			t.Fatal(err)
		}
		if g, w := got(ents), want(step.dir); !slices.Equal(g, w) {
			t.Errorf("%s at depth %d: lister %d entries, os.ReadDir %d; first lister %v, os.ReadDir %v",
				step.dir, step.depth, len(g), len(w), g[:min(3, len(g))], w[:min(3, len(w))])
		}
	}
	if _, err := l.list(filepath.Join(small, "file"), 0); err == nil {
		t.Error("listing a file succeeded")
	}
	if _, err := l.list(filepath.Join(small, "gone"), 0); !os.IsNotExist(err) {
		t.Errorf("listing a missing directory: %v, want not exist", err)
	}
}
