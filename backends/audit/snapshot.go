package audit

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// Entry is what a snapshot holds about one file of a watched kind.
type Entry struct {
	Kind string `json:"kind"`
	// Hash identifies the content: a SHA-256 of a regular file (its mode's
	// execute bits and size included), "link:TARGET" for a symbolic link,
	// "special" for anything else.
	Hash string `json:"hash"`
	// Exec is what in the content executes, for kinds that say.
	Exec []string `json:"exec,omitempty"`
}

// Snapshot maps absolute paths to entries.
type Snapshot map[string]Entry

// Scope is what is audited: the project tree and Claude Code's directory
// shared with the sandbox.
type Scope struct {
	Project   string
	ClaudeDir string
}

// maxRead bounds what is read of one file; larger files are identified by
// their first bytes, size and modification time.
const maxRead = 4 << 20

// zone is the kind of directory the walk is in.
type zone int

const (
	zoneProject     zone = iota // anywhere in the project
	zoneGit                     // a git directory
	zoneGitHooks                // a git directory's hooks
	zoneEditor                  // .vscode, .idea
	zoneClaude                  // a .claude directory
	zoneClaudeFiles             // .claude/commands and the like: every file
	zoneHookScripts             // .husky, .githooks
)

// Take walks the scope and records every file of a watched kind. It reads
// directories with their entry types (no stat per file), skips the
// contents of node_modules and the object stores of git directories, never
// follows symbolic links, and reads only the files whose names match.
func Take(s Scope) (Snapshot, error) {
	snap := Snapshot{}
	var l lister
	if s.Project != "" {
		if err := walk(&l, snap, s.Project, zoneProject, 0); err != nil {
			return nil, err
		}
	}
	if s.Project != "" {
		addHooksPaths(snap, s.Project)
	}
	if s.ClaudeDir != "" {
		err := walk(&l, snap, s.ClaudeDir, zoneClaude, 0)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
	}
	return snap, nil
}

// readDir lists dir without sorting.
func readDir(dir string) ([]fs.DirEntry, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.ReadDir(-1)
}

// walk records the watched files in dir, in zone z, depth directories
// below where the walk began.
func walk(l *lister, snap Snapshot, dir string, z zone, depth int) error {
	entries, err := l.list(dir, depth)
	if err != nil {
		if errors.Is(err, fs.ErrPermission) || errors.Is(err, unix.ENOTDIR) || errors.Is(err, fs.ErrNotExist) {
			// Gone since its parent was listed, or not readable by
			// the user (nor by git as the user).
			return nil
		}
		return fmt.Errorf("audit: %w", err)
	}
	if z != zoneGit && z != zoneGitHooks && isBareRepo(entries) {
		z = zoneGit
	}
	hasHEAD := false
	if z == zoneGit {
		for _, e := range entries {
			if e.name == "HEAD" {
				hasHEAD = true
			}
		}
	}
	// An entry's path is built only for what the walk enters or records:
	// most entries are neither.
	for _, e := range entries {
		name := e.name
		t := e.typ
		if t.IsDir() {
			sub, ok := descend(z, name, hasHEAD)
			if !ok {
				continue
			}
			if err := walk(l, snap, filepath.Join(dir, name), sub, depth+1); err != nil {
				return err
			}
			continue
		}
		kind := classify(z, name, t)
		if kind == "" {
			continue
		}
		p := filepath.Join(dir, name)
		snap[p] = inspect(p, kind)
	}
	return nil
}

// isBareRepo recognises a git directory by its HEAD, objects and refs.
func isBareRepo(entries []dirent) bool {
	n := 0
	for _, e := range entries {
		switch e.name {
		case "HEAD":
			if e.typ.IsRegular() {
				n++
			}
		case "objects", "refs":
			if e.IsDir() {
				n++
			}
		}
	}
	return n == 3
}

// descend decides whether the walk enters directory name from zone z,
// and in which zone.
func descend(z zone, name string, inRepo bool) (zone, bool) {
	switch z {
	case zoneGit:
		if name == "objects" && inRepo {
			return 0, false
		}
		if name == "hooks" {
			return zoneGitHooks, true
		}
		return zoneGit, true
	case zoneGitHooks:
		return zoneGit, true
	}
	switch name {
	case ".git":
		return zoneGit, true
	case "node_modules":
		return 0, false
	}
	switch z {
	case zoneProject:
		switch name {
		case ".vscode", ".idea":
			return zoneEditor, true
		case ".claude":
			return zoneClaude, true
		case ".husky", ".githooks":
			return zoneHookScripts, true
		}
		return zoneProject, true
	case zoneClaude:
		switch name {
		case "commands", "agents", "hooks", "skills", "plugins":
			return zoneClaudeFiles, true
		}
		return 0, false
	case zoneHookScripts:
		return 0, false
	}
	return z, true
}

// classify returns the kind of a non-directory entry, or "".
func classify(z zone, name string, t fs.FileMode) string {
	link := t&fs.ModeSymlink != 0
	switch z {
	case zoneGit:
		switch {
		case link:
			return KindGitDirLink
		case name == "config" || name == "config.worktree":
			return KindRepoConfig
		case name == "commondir" || name == "gitdir":
			return KindGitLink
		}
		return ""
	case zoneGitHooks:
		if link {
			return KindGitDirLink
		}
		if strings.HasSuffix(name, ".sample") {
			return ""
		}
		return KindHook
	case zoneEditor:
		return KindEditor
	case zoneClaudeFiles:
		return KindClaudeFile
	case zoneHookScripts:
		return KindHookScript
	case zoneClaude:
		switch name {
		case "settings.json", "settings.local.json":
			return KindClaudeSet
		case ".claude.json":
			return KindClaudeState
		case "commands", "agents", "hooks", "skills", "plugins":
			if link {
				return KindClaudeFile
			}
		}
		return ""
	}
	switch name {
	case ".git":
		if link {
			return KindGitDirLink
		}
		return KindGitLink
	case ".gitconfig":
		return KindGitConfig
	case ".gitmodules":
		return KindGitmodules
	case ".envrc":
		return KindEnvrc
	case ".mcp.json":
		return KindMCP
	case ".vscode", ".idea", ".claude", ".husky", ".githooks":
		if link {
			return KindEditor
		}
	}
	if shellRC[name] {
		return KindShellRC
	}
	return ""
}

// inspect records one file. Symbolic links are never followed and only
// regular files are read (without following a link swapped in since the
// directory was listed, and without blocking on a pipe).
func inspect(p, kind string) Entry {
	e := Entry{Kind: kind}
	k := kindByID(kind)
	if target, err := os.Readlink(p); err == nil {
		e.Hash = "link:" + target
		if k.Exec != nil {
			e.Exec = []string{"a symbolic link to " + target}
		}
		return e
	}
	f, err := os.OpenFile(p, os.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK, 0)
	if err != nil {
		e.Hash = "unreadable"
		return e
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		e.Hash = "special"
		if k.Exec != nil {
			e.Exec = []string{"not a regular file"}
		}
		return e
	}
	data, _ := io.ReadAll(io.LimitReader(f, maxRead))
	h := sha256.New()
	h.Write(data)
	fmt.Fprintf(h, "\x00%o\x00%d", st.Mode().Perm()&0o111, st.Size())
	if st.Size() > maxRead {
		fmt.Fprintf(h, "\x00%d", st.ModTime().UnixNano())
	}
	e.Hash = hex.EncodeToString(h.Sum(nil))[:32]
	if k.Exec != nil {
		e.Exec = k.Exec(data)
	}
	return e
}

// addHooksPaths records, as hooks, the files directly in every directory
// inside the project that a repository's core.hooksPath names.
func addHooksPaths(snap Snapshot, project string) {
	var dirs []string
	for p, e := range snap {
		if e.Kind != KindRepoConfig {
			continue
		}
		for _, x := range e.Exec {
			v, ok := strings.CutPrefix(x, "core.hookspath = ")
			if !ok {
				continue
			}
			if !filepath.IsAbs(v) {
				// Relative to the working tree: the parent of .git, or
				// the git directory of a bare repository.
				base := filepath.Dir(p)
				if filepath.Base(base) == ".git" {
					base = filepath.Dir(base)
				}
				v = filepath.Join(base, v)
			}
			if rel, err := filepath.Rel(project, v); err == nil && rel != ".." && !strings.HasPrefix(rel, "../") {
				dirs = append(dirs, v)
			}
		}
	}
	for _, d := range dirs {
		entries, err := readDir(d)
		if err != nil {
			continue
		}
		for _, e := range entries {
			if e.IsDir() || strings.HasSuffix(e.Name(), ".sample") {
				continue
			}
			p := filepath.Join(d, e.Name())
			snap[p] = inspect(p, KindHook)
		}
	}
}
