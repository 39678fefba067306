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
// repositories: a .git entry in the project or in a directory up to this
// many levels below it.
const RepoDepth = 3

// findRepos lists the .git entries (directories and gitfiles) in project
// and its directories down to RepoDepth levels, not descending into
// node_modules, .git or symbolic links. Only directories are read, never
// files, so the cost grows with the number of directories near the top.
func findRepos(project string) []string {
	var out []string
	var walk func(dir string, depth int)
	walk = func(dir string, depth int) {
		entries, err := os.ReadDir(dir)
		if err != nil {
			return
		}
		for _, e := range entries {
			name := e.Name()
			if name == ".git" {
				if e.Type().IsDir() || e.Type().IsRegular() {
					out = append(out, filepath.Join(dir, name))
				}
				continue
			}
			if depth < RepoDepth && e.IsDir() && name != "node_modules" {
				walk(filepath.Join(dir, name), depth+1)
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

// maxGHHosts caps how much of gh's hosts file the probe reads.
const maxGHHosts = 1 << 20

// probeGHHosts reads gh's hosts file when the policy shares gh's
// configuration without its tokens: the renderers cover it with a copy
// whose token lines are removed.
func probeGHHosts(h *render.Host, p *profile.Policy) {
	if !p.Forward.GHConfig || p.Forward.GHToken {
		return
	}
	f, err := os.Open(filepath.Join(h.Home, render.GHHostsFile))
	if err != nil {
		return
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxGHHosts))
	if err == nil {
		h.GHHosts = data
	}
}
