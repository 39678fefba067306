package backends

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/claude-sandbox/claude-sandbox/render"
)

// TestStateDirName checks that a project's state directory is named after
// its base name with every character outside A-Z a-z 0-9 . _ - replaced by
// one "-" (multi-byte and invalid UTF-8 alike), as the expression
// [^A-Za-z0-9._-] replaces them.
func TestStateDirName(t *testing.T) {
	unsafe := regexp.MustCompile(`[^A-Za-z0-9._-]`)
	h := &render.Host{Home: "/home/u", Env: map[string]string{"XDG_STATE_HOME": "/s"}}
	for _, base := range []string{"proj", "my proj", "a.b_c-d", "été", "日本", "x\xffy", "tab\there", "$(x)"} {
		got := filepath.Base(stateDirFor(h, "/p/"+base))
		name := got[:strings.LastIndexByte(got, '-')]
		if want := unsafe.ReplaceAllString(base, "-"); name != want {
			t.Errorf("state dir of %q: name %q, want %q", base, name, want)
		}
	}
}

// TestStatIntoResolvesLikeEvalSymlinks records paths through symlinked
// directories, symlinks and plain files, parents first and last, and
// checks each against a stat and filepath.EvalSymlinks of its own.
func TestStatIntoResolvesLikeEvalSymlinks(t *testing.T) {
	root := t.TempDir()
	for _, d := range []string{"real/sub", "other"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"real/f", "real/sub/g", "other/h"} {
		if err := os.WriteFile(filepath.Join(root, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for link, target := range map[string]string{"link": "real", "real/s": "f", "real/up": "../other", "real/sub/dangling": "nowhere", "real/sock": "/dev/null"} {
		if err := os.Symlink(target, filepath.Join(root, link)); err != nil {
			t.Fatal(err)
		}
	}
	paths := []string{"", "real", "link", "link/f", "link/s", "link/up", "link/up/h", "real/sub", "link/sub/g", "link/sub/dangling", "real/sock", "missing", "link/missing"}
	orders := [][]string{paths, append(slices.Clone(paths[1:]), paths[0])}
	slices.Reverse(orders[1])
	for _, order := range orders {
		h := &render.Host{Files: map[string]render.File{}}
		for _, p := range order {
			statInto(h, filepath.Join(root, p))
		}
		for _, p := range order {
			path := filepath.Join(root, p)
			got, ok := h.Files[path]
			st, err := os.Stat(path)
			if err != nil {
				if ok {
					t.Errorf("%s: recorded %+v, but it does not resolve", p, got)
				}
				continue
			}
			real, err := filepath.EvalSymlinks(path)
			if err != nil {
				t.Fatal(err)
			}
			if !ok || got.Real != real || (got.Kind == render.Dir) != st.IsDir() || (got.Kind == render.Regular) != st.Mode().IsRegular() {
				t.Errorf("%s: recorded %+v (present %v), want real path %s, dir %v", p, got, ok, real, st.IsDir())
			}
		}
	}
}
