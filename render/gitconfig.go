package render

import (
	"path"
	"strings"
)

// GitConfigPaths returns the paths that the git configuration of the
// repository whose .git directory is git makes git run or read as more
// configuration: core.hooksPath, core.fsmonitor when it names a program,
// and include.path and includeIf.*.path, made absolute (~/ is home; a
// relative include is relative to the .git directory, any other relative
// path to the working tree). Only the plain `key = value` form git writes
// itself is understood.
func GitConfigPaths(config []byte, git, home string) []string {
	var out []string
	section := ""
	for _, line := range strings.Split(string(config), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		if line[0] == '[' {
			end := strings.IndexByte(line, ']')
			if end < 0 {
				continue
			}
			name := strings.TrimSpace(line[1:end])
			if i := strings.IndexAny(name, " \t\""); i >= 0 {
				name = name[:i]
			}
			section = strings.ToLower(name)
			line = strings.TrimSpace(line[end+1:])
			if line == "" {
				continue
			}
		}
		key, value, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		key = strings.ToLower(strings.TrimSpace(key))
		value = strings.Trim(strings.TrimSpace(value), `"`)
		if value == "" {
			continue
		}
		switch {
		case section == "core" && key == "hookspath":
			out = append(out, resolveGitPath(value, git, home, false))
		case (section == "include" || section == "includeif") && key == "path":
			out = append(out, resolveGitPath(value, git, home, true))
		case section == "core" && key == "fsmonitor":
			switch strings.ToLower(value) {
			case "true", "false", "yes", "no", "on", "off", "1", "0":
			default:
				out = append(out, resolveGitPath(value, git, home, false))
			}
		}
	}
	return out
}

// resolveGitPath makes a path from the configuration of the repository
// whose .git is git absolute.
func resolveGitPath(value, git, home string, include bool) string {
	switch {
	case strings.HasPrefix(value, "~/"):
		return path.Join(home, value[2:])
	case path.IsAbs(value):
		return path.Clean(value)
	case include:
		return path.Join(git, value)
	default:
		return path.Join(path.Dir(git), value)
	}
}
