package backends

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/claude-sandbox/claude-sandbox/render"
)

func TestPlaceholders(t *testing.T) {
	dir := t.TempDir()
	h := &render.Host{UID: os.Getuid(), GID: os.Getgid()}
	empty := render.Placeholder{Path: filepath.Join(dir, "hooks"), Dir: true}
	file := render.Placeholder{Path: filepath.Join(dir, "settings.json"), Content: []byte("{}\n")}
	filled := render.Placeholder{Path: filepath.Join(dir, "commands"), Dir: true}
	changed := render.Placeholder{Path: filepath.Join(dir, "config")}
	os.Symlink(filepath.Join(dir, "elsewhere"), filepath.Join(dir, "link"))
	link := render.Placeholder{Path: filepath.Join(dir, "link")}

	undo, err := createPlaceholders([]render.Placeholder{empty, file, filled, changed, link}, h)
	if err == nil {
		undo()
		t.Fatalf("a placeholder at a dangling link was created through it")
	}
	if _, err := os.Lstat(filepath.Join(dir, "elsewhere")); err == nil {
		t.Fatalf("the link was followed")
	}
	for _, p := range []string{empty.Path, file.Path} {
		if _, err := os.Lstat(p); err == nil {
			t.Errorf("%s left after a failed creation", p)
		}
	}

	undo, err = createPlaceholders([]render.Placeholder{empty, file, filled, changed}, h)
	if err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(file.Path); string(data) != "{}\n" {
		t.Errorf("file placeholder holds %q", data)
	}
	// A second run shares them and keeps them while it lasts.
	undo2, err := createPlaceholders([]render.Placeholder{empty}, h)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(filled.Path, "mine.md"), []byte("user data\n"), 0o644)
	os.WriteFile(changed.Path, []byte("[core]\n"), 0o644)
	undo()
	if _, err := os.Stat(empty.Path); err != nil {
		t.Errorf("a placeholder another run holds was removed: %v", err)
	}
	for _, p := range []string{filepath.Join(filled.Path, "mine.md"), changed.Path} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("user data %s removed: %v", p, err)
		}
	}
	if _, err := os.Lstat(file.Path); err == nil {
		t.Errorf("an unchanged placeholder file was left")
	}
	undo2()
	if _, err := os.Lstat(empty.Path); err == nil {
		t.Errorf("the empty placeholder was left after the last run")
	}
}
