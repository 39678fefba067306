package backends

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestFindRepos(t *testing.T) {
	root := t.TempDir()
	mk := func(rel string, dir bool) {
		p := filepath.Join(root, rel)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if dir {
			os.MkdirAll(p, 0o755)
		} else {
			os.WriteFile(p, []byte("gitdir: ../x\n"), 0o644)
		}
	}
	mk(".git/modules/a/.git", true) // inside .git: not looked at
	mk("a/.git", true)
	mk("a/b/.git", false)  // a gitfile
	mk("a/b/c/.git", true) // too deep
	mk("node_modules/x/.git", true)
	mk("lib/node_modules/y/.git", true)
	os.Symlink(filepath.Join(root, "a"), filepath.Join(root, "link"))
	got := findRepos(root)
	want := []string{root + "/.git", root + "/a/.git", root + "/a/b/.git"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("findRepos = %q, want %q", got, want)
	}
}

// BenchmarkFindRepos measures the probe's repository scan on a tree of
// about 100,000 files in 10,000 directories, with node_modules.
func BenchmarkFindRepos(b *testing.B) {
	root := b.TempDir()
	n := 0
	for i := 0; i < 20; i++ {
		for j := 0; j < 20; j++ {
			for k := 0; k < 25; k++ {
				dir := filepath.Join(root, fmt.Sprint("d", i), fmt.Sprint("e", j), fmt.Sprint("f", k))
				if k == 0 {
					dir = filepath.Join(root, fmt.Sprint("d", i), "node_modules", fmt.Sprint("m", j))
				}
				os.MkdirAll(dir, 0o755)
				for f := 0; f < 10; f++ {
					os.WriteFile(filepath.Join(dir, fmt.Sprint("file", f)), nil, 0o644)
					n++
				}
			}
		}
	}
	os.MkdirAll(filepath.Join(root, ".git"), 0o755)
	b.Logf("%d files", n)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if got := findRepos(root); len(got) != 1 {
			b.Fatalf("found %v", got)
		}
	}
}
