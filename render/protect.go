package render

import (
	"path"
	"sort"
	"strings"

	"github.com/claude-sandbox/claude-sandbox/profile"
)

// Protected paths
//
// A protected path lies in a writable share (the project, ~/.claude) but
// is something a host program runs or obeys later: git's configuration and
// hooks, shell start-up files, editor settings, Claude Code's settings. A
// read-only bind keeps its content; because it is a mount point, the
// sandbox can neither rename, remove nor replace it (the kernel answers
// EBUSY in the namespace where it is mounted). A repository's .git
// directory is pinned: bound onto itself read-write, so git inside still
// commits while .git cannot be moved aside and replaced by a planted one.

// Protection records what holds for one protected path, for explain.
type Protection struct {
	// Path is the host path.
	Path string `json:"path"`
	// Key is the policy key it comes from (protect.<path>); "" for what
	// holds in every repository regardless of the policy (the pinned .git
	// directory, a gitfile and GitInternals).
	Key string `json:"key"`
	// Holds says what the sandbox sees and what it cannot do.
	Holds string `json:"holds"`
}

// Placeholder is an empty file or directory the backend creates on the
// host before the launch where a protected path is missing, so that it can
// be bound read-only; the backend removes it at exit when it still holds
// exactly Content (or, for a directory, nothing).
type Placeholder struct {
	// Path is the absolute host path.
	Path string
	// Dir is true for a directory.
	Dir bool
	// Content is a file's initial bytes.
	Content []byte
}

// The things that hold for a protected path.
const (
	holdsRO          = "read-only bind: cannot be changed, renamed, removed or replaced"
	holdsPinned      = "pinned: writable, but cannot be renamed, removed or replaced"
	holdsGitfile     = "read-only bind (a gitfile): cannot be changed, renamed or replaced"
	holdsPlaceholder = "missing: a placeholder that changes nothing is created for the run, bound read-only and removed at exit when unchanged"
	holdsAudit       = "missing: checked by the audit at exit"
	holdsNotShared   = "not in a writable share: nothing to protect"
	holdsOutside     = "a link leading out of the share: the target is not shared; the link itself is not protected"
	holdsLink        = "a link: its target is read-only, but a mount cannot hold the link itself, which the exit audit checks"
)

// GitInternals are paths inside a .git directory, beside the policy's
// .git/ entries, that redirect where git reads configuration and hooks or
// hold a submodule's or worktree's own: always bound read-only when
// present. The probe expands the patterns (path.Match syntax).
var GitInternals = []string{"config.worktree", "commondir", "modules/*/config", "modules/*/hooks",
	"worktrees/*/config.worktree", "worktrees/*/commondir"}

// placeholders are the protected paths that get a placeholder when
// missing: git's top-level config and hooks (inside an existing .git
// directory, where an empty one changes nothing), the editor and Claude
// Code directories in the project (git ignores an empty directory, so it
// shows up nowhere) and Claude Code's executable configuration in
// ~/.claude. An empty git config and an empty JSON object are valid.
// Missing project files get none: an empty file would show up in git.
var placeholders = map[string]Placeholder{
	".vscode":                       {Dir: true},
	".idea":                         {Dir: true},
	".claude/commands":              {Dir: true},
	".claude/agents":                {Dir: true},
	".git/config":                   {},
	".git/hooks":                    {Dir: true},
	"~/.claude/settings.json":       {Content: []byte("{}\n")},
	"~/.claude/settings.local.json": {Content: []byte("{}\n")},
	"~/.claude/CLAUDE.md":           {},
	"~/.claude/commands":            {Dir: true},
	"~/.claude/agents":              {Dir: true},
	"~/.claude/plugins":             {Dir: true},
	"~/.claude/hooks":               {Dir: true},
	"~/.claude/skills":              {Dir: true},
}

// gitPlaceholders are the placeholders of GitInternals inside every
// .git directory, by name.
var gitPlaceholders = map[string]Placeholder{
	"commondir":       {Content: []byte(".\n")},
	"config.worktree": {},
}

// isGitEntry reports whether a protect entry holds in every repository:
// it lies inside .git or is .gitmodules.
func isGitEntry(rel string) bool {
	return strings.HasPrefix(rel, ".git/") || rel == ".gitmodules"
}

// homeEntry returns the home-relative part of a ~/ protect entry.
func homeEntry(rel string) (string, bool) { return strings.CutPrefix(rel, "~/") }

// RepoPaths lists the host paths the renderer consults for the repository
// whose .git entry is git: the policy's git entries below its directory.
// The probe stats them, and the paths its configuration names, for every
// repository it finds.
func RepoPaths(p *profile.Policy, git string) []string {
	out := []string{git}
	for _, rel := range p.Protect {
		if isGitEntry(rel) {
			out = append(out, path.Join(path.Dir(git), rel))
		}
	}
	return out
}

// protectPaths lists the host paths of the policy's protect entries at
// the project root and in the home (for HostPaths).
func protectPaths(p *profile.Policy, home string) []string {
	out := []string{path.Join(p.ProjectDir, ".git")}
	for _, rel := range p.Protect {
		if h, ok := homeEntry(rel); ok {
			out = append(out, path.Join(home, h), path.Dir(path.Join(home, h)))
		} else {
			out = append(out, path.Join(p.ProjectDir, rel), path.Dir(path.Join(p.ProjectDir, rel)))
		}
	}
	return out
}

// protect adds the shares of the protected paths: the project's and every
// nested repository's .git and git entries, the other project entries and
// the home entries inside a writable share.
func (s *shareSet) protect(p *profile.Policy, project string) {
	h := s.h
	repos := map[string]FileKind{}
	if f, ok := s.present(path.Join(p.ProjectDir, ".git")); ok && (f.Real == "" || f.Real == path.Join(project, ".git")) {
		repos[path.Join(project, ".git")] = f.Kind
	}
	for _, r := range h.Repos {
		if within(r.Git, project) && r.Git != project {
			repos[r.Git] = r.Kind
		}
	}
	if _, ok := repos[path.Join(project, ".git")]; !ok {
		// No repository at the root: one the sandbox creates is the
		// exit audit's.
		for _, rel := range p.Protect {
			if isGitEntry(rel) {
				s.protected = append(s.protected, Protection{Path: path.Join(project, rel), Key: "protect." + rel, Holds: holdsAudit})
			}
		}
	}
	for _, git := range sortedKeys(repos) {
		dir := path.Dir(git)
		switch repos[git] {
		case Dir:
			s.shares = append(s.shares, Share{Source: git, Target: git, Mode: SharePin, Kind: Dir, Why: "protect"})
			s.protected = append(s.protected, Protection{Path: git, Key: "", Holds: holdsPinned})
		case Regular:
			s.shares = append(s.shares, Share{Source: git, Target: git, Mode: ShareRO, Kind: Regular, Why: "protect"})
			s.protected = append(s.protected, Protection{Path: git, Key: "", Holds: holdsGitfile})
		default:
			continue
		}
		for _, rel := range p.Protect {
			// A gitfile's repository lives elsewhere: only .gitmodules
			// beside it is in the project.
			if !isGitEntry(rel) || (repos[git] == Regular && rel != ".gitmodules") {
				continue
			}
			var ph *Placeholder
			if v, ok := placeholders[rel]; ok && repos[git] == Dir {
				ph = &v
			}
			s.protectOne(path.Join(dir, rel), "protect."+rel, project, ph)
		}
		var internal, configured []string
		for _, r := range h.Repos {
			if r.Git == git {
				internal, configured = r.Internal, r.ConfigPaths
			}
		}
		for _, in := range internal {
			s.protectOne(in, "", git, nil)
		}
		// Hooks, a monitor or included configuration that the repository's
		// configuration names inside the project (such as a hooksPath
		// of .husky) are as dangerous as .git/hooks.
		for _, c := range configured {
			if within(c, project) && !within(c, git) {
				s.protectOne(c, "", project, nil)
			}
		}
		if repos[git] == Dir {
			// A new commondir would send git to another directory's
			// configuration and hooks; a new config.worktree would add
			// configuration where the extension is on. Their
			// placeholders change nothing ("." names the .git directory
			// itself).
			for _, name := range sortedKeys(gitPlaceholders) {
				if full := path.Join(git, name); !contains(internal, full) {
					ph := gitPlaceholders[name]
					s.protectOne(full, "", git, &ph)
				}
			}
		}
	}
	for _, rel := range p.Protect {
		if isGitEntry(rel) {
			continue
		}
		if hr, ok := homeEntry(rel); ok {
			full := path.Join(h.Home, hr)
			share, ok := s.writableShare(full)
			if !ok {
				s.protected = append(s.protected, Protection{Path: full, Key: "protect." + rel, Holds: holdsNotShared})
				continue
			}
			var ph *Placeholder
			if v, ok := placeholders[rel]; ok && (path.Dir(full) == share || h.Is(path.Dir(full), Dir)) {
				ph = &v
			}
			s.protectOne(full, "protect."+rel, share, ph)
			continue
		}
		full := path.Join(project, rel)
		var ph *Placeholder
		if v, ok := placeholders[rel]; ok && h.Is(path.Join(p.ProjectDir, path.Dir(rel)), Dir) {
			ph = &v
		}
		s.protectOne(full, "protect."+rel, project, ph)
	}
}

// protectOne binds the protected path full read-only when it exists
// inside area, or creates placeholder ph for it when it is missing.
func (s *shareSet) protectOne(full, key, area string, ph *Placeholder) {
	why := key
	if why == "" {
		why = "protect"
	}
	f, ok := s.present(full)
	switch {
	case ok:
		real := f.Real
		if real == "" {
			real = full
		}
		if !within(real, area) {
			s.protected = append(s.protected, Protection{Path: full, Key: key, Holds: holdsOutside})
			return
		}
		s.shares = append(s.shares, Share{Source: real, Target: real, Mode: ShareRO, Kind: f.Kind, Why: why})
		s.protected = append(s.protected, Protection{Path: real, Key: key, Holds: holdsRO})
		if real != full {
			s.protected = append(s.protected, Protection{Path: full, Key: key, Holds: holdsLink})
		}
	case ph != nil:
		kind := Regular
		if ph.Dir {
			kind = Dir
		}
		s.placeholders = append(s.placeholders, Placeholder{Path: full, Dir: ph.Dir, Content: ph.Content})
		s.shares = append(s.shares, Share{Source: full, Target: full, Mode: ShareRO, Kind: kind, Why: why})
		s.protected = append(s.protected, Protection{Path: full, Key: key, Holds: holdsPlaceholder})
	default:
		s.protected = append(s.protected, Protection{Path: full, Key: key, Holds: holdsAudit})
	}
}

// writableShare returns the target of the read-write share holding p.
func (s *shareSet) writableShare(p string) (string, bool) {
	best := ""
	for _, sh := range s.shares {
		if (sh.Mode == ShareRW || sh.Mode == SharePin) && sh.Kind == Dir && within(p, sh.Target) && len(sh.Target) > len(best) {
			best = sh.Target
		}
	}
	return best, best != ""
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
