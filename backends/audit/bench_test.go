package audit

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// genTree writes a project of about n files: source directories of 50
// files, a git directory with 2,000 objects, ten nested repositories and
// a node_modules of n/5 files.
func genTree(b *testing.B, root string, n int) {
	b.Helper()
	plain := func(rel string) {
		p := filepath.Join(root, rel)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte("x\n"), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	count := 0
	for i := 0; count < n*4/5-2000; i++ {
		for j := 0; j < 50; j++ {
			plain(fmt.Sprintf("src/d%d/e%d/f%d.go", i/20, i%20, j))
			count++
		}
	}
	for i := 0; i < n/5; i++ {
		plain(fmt.Sprintf("node_modules/p%d/f%d.js", i/40, i))
	}
	for i := 0; i < 2000; i++ {
		plain(fmt.Sprintf(".git/objects/%02x/%038d", i%256, i))
	}
	for _, g := range []string{".git"} {
		plain(g + "/HEAD")
		plain(g + "/config")
		plain(g + "/hooks/pre-commit.sample")
		os.MkdirAll(filepath.Join(root, g, "refs/heads"), 0o755)
	}
	for i := 0; i < 10; i++ {
		g := fmt.Sprintf("src/d%d/.git", i)
		plain(g + "/HEAD")
		plain(g + "/config")
		plain(g + "/hooks/post-checkout.sample")
		os.MkdirAll(filepath.Join(root, g, "objects"), 0o755)
	}
	plain(".claude/settings.json")
	plain(".vscode/settings.json")
	plain(".envrc")
}

// BenchmarkTake measures one snapshot of a 100,000-file project.
func BenchmarkTake(b *testing.B) {
	root := b.TempDir()
	genTree(b, root, 100_000)
	if _, err := Take(Scope{Project: root}); err != nil { // warm the cache
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		snap, err := Take(Scope{Project: root})
		if err != nil {
			b.Fatal(err)
		}
		if len(snap) != 14 {
			b.Fatalf("%d entries, want 14", len(snap))
		}
	}
}

// BenchmarkBeginEnd measures what the audit adds to a launch in a small
// project (2,500 files, most of them git objects and node_modules; eleven
// repositories; a ~/.claude with settings): the
// snapshot at launch and its record, the snapshot and comparison at exit.
func BenchmarkBeginEnd(b *testing.B) {
	root, claude, state := b.TempDir(), b.TempDir(), b.TempDir()
	genTree(b, root, 2500)
	for _, f := range []string{"settings.json", ".claude.json", "commands/a.md", "agents/b.md"} {
		p := filepath.Join(claude, f)
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte(`{"numStartups":1}`), 0o644)
	}
	s := Store{Dir: filepath.Join(state, "p"), Scope: Scope{Project: root, ClaudeDir: claude}, UID: -1}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r, err := s.Begin(io.Discard)
		if err != nil {
			b.Fatal(err)
		}
		if err := r.End(io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}
