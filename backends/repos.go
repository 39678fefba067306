package backends

import (
	"io"
	"os"
	"path/filepath"
	"sort"

	"github.com/claude-sandbox/claude-sandbox/profile"
	"github.com/claude-sandbox/claude-sandbox/render"
)

// RepoDepth is how deep below the project the probe looks for nested
// repositories: a .git entry at most this many path components below the
// project (project/.git is 1, project/a/b/.git is 3).
const RepoDepth = 3

// findRepos lists the .git entries (directories and gitfiles) in project
// and its directories down to RepoDepth, not descending into
// node_modules, .git or symbolic links. It reads only the directories
// above the deepest level and checks the deepest with one lstat each, so
// its cost grows with the number of directories near the top, not with
// the files.
func findRepos(project string) []string {
	var out []string
	var walk func(dir string, level int)
	walk = func(dir string, level int) {
		git := filepath.Join(dir, ".git")
		if st, err := os.Lstat(git); err == nil && (st.IsDir() || st.Mode().IsRegular()) {
			out = append(out, git)
		}
		if level >= RepoDepth-1 {
			return
		}
		f, err := os.Open(dir)
		if err != nil {
			return
		}
		entries, _ := f.ReadDir(-1)
		f.Close()
		for _, e := range entries {
			if name := e.Name(); e.IsDir() && name != ".git" && name != "node_modules" {
				walk(filepath.Join(dir, name), level+1)
			}
		}
	}
	walk(project, 0)
	sort.Strings(out)
	return out
}

// probeRepos records the repositories in the project and what the
// renderers consult about each: its protected git paths and the internal
// paths matching render.GitInternals.
func probeRepos(h *render.Host, p *profile.Policy) {
	project := h.Real(p.ProjectDir)
	for _, git := range findRepos(project) {
		statInto(h, git)
		f := h.Files[git]
		if f.Kind != render.Dir && f.Kind != render.Regular {
			continue
		}
		repo := render.Repo{Git: git, Kind: f.Kind}
		for _, path := range render.RepoPaths(p, git) {
			statInto(h, path)
		}
		if f.Kind == render.Dir {
			if config, err := readSmall(filepath.Join(git, "config")); err == nil {
				repo.ConfigPaths = render.GitConfigPaths(config, git, h.Home)
				for _, path := range repo.ConfigPaths {
					statInto(h, path)
				}
			}
			for _, pat := range render.GitInternals {
				matches, _ := filepath.Glob(filepath.Join(git, pat))
				for _, m := range matches {
					statInto(h, m)
					repo.Internal = append(repo.Internal, m)
				}
			}
		}
		h.Repos = append(h.Repos, repo)
	}
}

// probeGHHosts reads gh's hosts file when the policy shares gh's
// configuration without its tokens: the renderers cover it with a copy
// whose token lines are removed.
func probeGHHosts(h *render.Host, p *profile.Policy) {
	if !p.Forward.GHConfig || p.Forward.GHToken {
		return
	}
	if data, err := readSmall(filepath.Join(h.Home, render.GHHostsFile)); err == nil {
		h.GHHosts = data
	}
}

// probeXauthority reads the X authority file for forward.display.
func probeXauthority(h *render.Host, p *profile.Policy) {
	if !p.Forward.Display {
		return
	}
	file := h.Env["XAUTHORITY"]
	if file == "" {
		file = filepath.Join(h.Home, ".Xauthority")
	}
	if data, err := readSmall(file); err == nil {
		h.Xauthority = data
	}
}

// maxSmall caps how much of a configuration file the probe reads.
const maxSmall = 1 << 20

// readSmall reads at most maxSmall bytes of a file.
func readSmall(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, maxSmall))
}
