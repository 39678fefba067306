package profile

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
)

// expandPath expands ~ and $HOME and makes the path absolute: relative
// paths are joined to the project dir in a project file and refused
// elsewhere.
func expandPath(p string, kind LayerKind, env Env) (string, error) {
	if p == "" {
		return "", errors.New("empty path")
	}
	if strings.ContainsRune(p, 0) {
		return "", errors.New("path contains a NUL byte")
	}
	if err := checkNoGlob(p); err != nil {
		return "", err
	}
	switch {
	case p == "~" || p == "$HOME" || p == "${HOME}":
		p = env.Home
	case strings.HasPrefix(p, "~/"):
		p = filepath.Join(env.Home, p[2:])
	case strings.HasPrefix(p, "$HOME/"):
		p = filepath.Join(env.Home, p[6:])
	case strings.HasPrefix(p, "${HOME}/"):
		p = filepath.Join(env.Home, p[8:])
	case strings.HasPrefix(p, "~"):
		return "", fmt.Errorf("path %q: only ~ and ~/ are expanded (other users' homes are not)", p)
	}
	if strings.Contains(p, "$") {
		return "", fmt.Errorf("path %q: only $HOME is expanded", p)
	}
	if !filepath.IsAbs(p) {
		if kind != LayerProject {
			return "", fmt.Errorf("path %q is relative (write an absolute path or start it with ~/)", p)
		}
		p = filepath.Join(env.ProjectDir, p)
	}
	return filepath.Clean(p), nil
}

// homeRelative checks a persist entry: a path relative to the home dir.
func homeRelative(p string) (string, error) {
	p = strings.TrimPrefix(p, "~/")
	if err := checkNoGlob(p); err != nil {
		return "", err
	}
	c := filepath.Clean(p)
	if p == "" || filepath.IsAbs(p) || c == "." || c == ".." || strings.HasPrefix(c, "../") {
		return "", fmt.Errorf("persist entry %q must be a directory inside the home dir, such as \".local/bin\"", p)
	}
	return c, nil
}

// projectRelative checks a protect entry: a path inside the project, or
// with a leading ~/ a path inside the home dir (kept in that form).
func projectRelative(p string) (string, error) {
	if err := checkNoGlob(p); err != nil {
		return "", err
	}
	rest, home := strings.CutPrefix(p, "~/")
	c := filepath.Clean(rest)
	if rest == "" || filepath.IsAbs(rest) || strings.HasPrefix(rest, "~") || c == "." || c == ".." || strings.HasPrefix(c, "../") {
		return "", fmt.Errorf("protect entry %q must be a path inside the project, such as \".git/hooks\", or inside the home dir, such as \"~/.claude/settings.json\"", p)
	}
	if home {
		return "~/" + c, nil
	}
	return c, nil
}

// checkNoGlob refuses a path written as a glob pattern: paths are taken
// literally, so "*.pem" = "hide" would hide only a file named "*.pem" and
// leave every real .pem file readable. '*', '?' and a '[' closed by a
// later ']' are refused; a lone bracket is an ordinary character.
func checkNoGlob(p string) error {
	open := strings.IndexByte(p, '[')
	if !strings.ContainsAny(p, "*?") && (open < 0 || !strings.Contains(p[open:], "]")) {
		return nil
	}
	return fmt.Errorf("path %q is a glob pattern, but paths are taken literally (globs are not supported; list the files)", p)
}
