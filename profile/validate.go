package profile

import (
	"path/filepath"
	"strings"
)

// The semantic checks on a resolved policy. Each is a small named function;
// all run, and every problem is reported at the origin of the value.
var checks = []struct {
	name string
	fn   func(p *Policy, env Env, ps *problems)
}{
	{"project-dir", checkProjectDir},
	{"command", checkCommand},
	{"sensitive-mounts", checkSensitiveMounts},
	{"paths", checkPaths},
	{"mount-targets", checkMountTargets},
}

func validate(p *Policy, env Env, ps *problems) {
	for _, c := range checks {
		c.fn(p, env, ps)
	}
}

func (ps *problems) at(o Origin, key, hint, format string, args ...any) {
	ps.add(o.File, o.Line, DisplayKey(key), hint, format, args...)
}

// isWithin reports whether path is dir or lies below it.
func isWithin(path, dir string) bool {
	if dir == "/" {
		return strings.HasPrefix(path, "/")
	}
	return path == dir || strings.HasPrefix(path, dir+"/")
}

// checkProjectDir refuses /, the home dir and its ancestors as project,
// and a project dir that is, contains or lies inside a directory the
// sandbox must never write: the launcher's own configuration, trust store
// and state, ~/.ssh, ~/.gnupg, ~/.config, ~/.local and ~/.claude (the
// sandbox could rewrite its next policy, keys or programs the host runs).
func checkProjectDir(p *Policy, env Env, ps *problems) {
	dir := filepath.Clean(p.ProjectDir)
	if p.ProjectDir == "" || !filepath.IsAbs(dir) {
		ps.add("", 0, "", "", "project dir %q is not an absolute path", p.ProjectDir)
		return
	}
	if p.Force {
		return
	}
	const hint = "pass --force to share it anyway"
	if dir == "/" || (env.Home != "" && isWithin(filepath.Clean(env.Home), dir)) {
		ps.add("", 0, "", hint,
			"refusing project dir %s: it is / or contains the home dir, so the sandbox would see everything in it", dir)
		return
	}
	for _, s := range sensitiveDirs(env) {
		switch {
		case dir == s.dir:
			ps.add("", 0, "", hint, "refusing project dir %s: it is %s, %s", dir, s.name, s.why)
		case isWithin(dir, s.dir):
			ps.add("", 0, "", hint, "refusing project dir %s: it lies inside %s (%s), %s", dir, s.name, s.dir, s.why)
		case isWithin(s.dir, dir):
			ps.add("", 0, "", hint, "refusing project dir %s: it contains %s (%s), %s", dir, s.name, s.dir, s.why)
		}
	}
}

// sensitiveDir is a directory the sandbox must never get write access to.
type sensitiveDir struct {
	dir, name, why string
}

// sensitiveDirs lists the directories a project dir may not be, contain or
// lie inside, most specific first.
func sensitiveDirs(env Env) []sensitiveDir {
	const policy = "so the sandbox could rewrite the policy of its next run"
	var out []sensitiveDir
	add := func(dir, name, why string) {
		if dir == "" || !filepath.IsAbs(dir) {
			return
		}
		dir = filepath.Clean(dir)
		for _, o := range out {
			if o.dir == dir {
				return
			}
		}
		out = append(out, sensitiveDir{dir, name, why})
	}
	if env.ConfigHome != "" {
		add(filepath.Join(env.ConfigHome, "claude-sandbox"), "claude-sandbox's configuration dir", policy)
	}
	if env.DataHome != "" {
		add(filepath.Join(env.DataHome, "claude-sandbox"), "claude-sandbox's trust store", policy)
	}
	if env.StateHome != "" {
		add(filepath.Join(env.StateHome, "claude-sandbox"), "claude-sandbox's state dir", "so the sandbox could change what its next run keeps")
	}
	add(filepath.Dir(SystemConfig), "claude-sandbox's system configuration dir", policy)
	if env.Home != "" {
		for _, d := range []struct{ rel, why string }{
			{".ssh", "so the sandbox could change SSH keys and configuration"},
			{".gnupg", "so the sandbox could change GnuPG keys and configuration"},
			{".config", "so the sandbox could change the configuration of programs the host runs"},
			{".local", "so the sandbox could change programs and data the host uses"},
			{".claude", "so the sandbox could change Claude Code's settings, hooks and credentials"},
		} {
			add(filepath.Join(env.Home, d.rel), "~/"+d.rel, d.why)
		}
	}
	return out
}

// checkCommand requires a program to run.
func checkCommand(p *Policy, env Env, ps *problems) {
	if len(p.Command) == 0 || p.Command[0] == "" {
		ps.at(p.Origins["command"], "command", "", "no command to run")
	}
	if p.UseShell && (len(p.Shell) == 0 || p.Shell[0] == "") {
		ps.at(p.Origins["shell"], "shell", "", "no shell to run")
	}
}

// checkSensitiveMounts refuses read-write mounts of the home dir, its
// ancestors, ~/.ssh, ~/.gnupg and the directories holding the launcher's
// own configuration and trust store (the sandbox could rewrite its next
// policy) unless forced.
func checkSensitiveMounts(p *Policy, env Env, ps *problems) {
	var policyDirs []string
	for _, d := range []string{env.ConfigHome, env.DataHome, filepath.Dir(SystemConfig)} {
		if d != "" && filepath.IsAbs(d) {
			if d != filepath.Dir(SystemConfig) {
				d = filepath.Join(d, "claude-sandbox")
			}
			policyDirs = append(policyDirs, filepath.Clean(d))
		}
	}
	for _, m := range p.Mounts {
		if m.Mode != MountRW {
			continue
		}
		if p.Force {
			continue
		}
		key := MountKey(m)
		policyDir := false
		for _, d := range policyDirs {
			policyDir = policyDir || isWithin(d, m.Source) || isWithin(m.Source, d)
		}
		if policyDir {
			ps.at(p.Origins[key], key, "mount it read-only, or pass --force",
				"refusing read-write mount of %s: the sandbox could rewrite claude-sandbox's own configuration or trust store", m.Source)
			continue
		}
		if env.Home == "" {
			continue
		}
		home := filepath.Clean(env.Home)
		bad := isWithin(home, m.Source)
		for _, s := range []string{filepath.Join(home, ".ssh"), filepath.Join(home, ".gnupg")} {
			bad = bad || isWithin(m.Source, s)
		}
		if bad {
			ps.at(p.Origins[key], key, "mount it read-only, or pass --force",
				"refusing read-write mount of %s", m.Source)
		}
	}
}

// checkPaths requires absolute paths after expansion (the decoder makes
// them absolute; this guards policies built by other means).
func checkPaths(p *Policy, env Env, ps *problems) {
	for _, m := range p.Mounts {
		if !filepath.IsAbs(m.Target) || (m.Source != "" && !filepath.IsAbs(m.Source)) {
			key := MountKey(m)
			ps.at(p.Origins[key], key, "", "mount paths must be absolute")
		}
	}
}

// checkMountTargets refuses two mounts at the same target: which one wins
// would depend on their order.
func checkMountTargets(p *Policy, env Env, ps *problems) {
	for i := 1; i < len(p.Mounts); i++ {
		a, b := p.Mounts[i-1], p.Mounts[i]
		if a.Target != b.Target {
			continue
		}
		key := MountKey(b)
		ps.at(p.Origins[key], key, "hide or remove one of them",
			"%s and %s are both mounted at %s", describeMount(a), describeMount(b), b.Target)
	}
}

func describeMount(m Mount) string {
	if m.Source == "" {
		return "a " + string(m.Mode) + " mount"
	}
	return m.Source
}
