package backends

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// userCommandDirs lists where a user usually installs programs that their
// login PATH finds but sudo's secure_path does not: the native installers'
// and npm's user prefixes (the prefix set in ~/.npmrc included), Volta,
// Bun, nvm's node versions (newest first) and ~/bin.
func userCommandDirs(home string) []string {
	dirs := []string{
		filepath.Join(home, ".local/bin"),
		filepath.Join(home, ".claude/local"),
	}
	if prefix := npmrcPrefix(home); prefix != "" {
		dirs = append(dirs, filepath.Join(prefix, "bin"))
	}
	dirs = append(dirs,
		filepath.Join(home, ".npm-global/bin"),
		filepath.Join(home, ".npm/bin"),
		filepath.Join(home, ".volta/bin"),
		filepath.Join(home, ".bun/bin"),
	)
	nvm, _ := filepath.Glob(filepath.Join(home, ".nvm/versions/node/*/bin"))
	sort.Sort(sort.Reverse(sort.StringSlice(nvm)))
	dirs = append(dirs, nvm...)
	dirs = append(dirs, filepath.Join(home, "bin"), "/usr/local/bin")
	return dedupeStrings(dirs)
}

// npmrcPrefix reads the prefix setting of ~/.npmrc ("" when none).
func npmrcPrefix(home string) string {
	data, err := os.ReadFile(filepath.Join(home, ".npmrc"))
	if err != nil {
		return ""
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "=")
		if !ok || strings.TrimSpace(k) != "prefix" {
			continue
		}
		v = strings.Trim(strings.TrimSpace(v), `"'`)
		switch {
		case v == "~" || strings.HasPrefix(v, "~/"):
			v = filepath.Join(home, v[1:])
		case strings.HasPrefix(v, "${HOME}"):
			v = filepath.Join(home, strings.TrimPrefix(v, "${HOME}"))
		case strings.HasPrefix(v, "$HOME"):
			v = filepath.Join(home, strings.TrimPrefix(v, "$HOME"))
		}
		if filepath.IsAbs(v) {
			return filepath.Clean(v)
		}
	}
	return ""
}

// findCommand resolves the command name as the invoking user would. A
// name with a slash is used as it is; otherwise PATH is searched. Through
// sudo (root on behalf of another user) PATH is sudo's secure_path, not
// the user's login PATH, so the user's usual install places are searched
// first. searched lists those places ("" when none were).
func findCommand(name, home string, forUser bool) (found string, searched []string) {
	if strings.Contains(name, "/") || !forUser {
		p, err := exec.LookPath(name)
		if err != nil {
			return "", nil
		}
		return absPath(p), nil
	}
	searched = userCommandDirs(home)
	for _, d := range searched {
		p := filepath.Join(d, name)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			return p, searched
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		return absPath(p), searched
	}
	return "", searched
}

// FindCommand is findCommand for the invoking user of this process.
func FindCommand(name string) (found string, searched []string) {
	h, err := probeUser()
	if err != nil {
		return findCommand(name, "", false)
	}
	return findCommand(name, h.Home, sudoed(h))
}

func absPath(p string) string {
	if abs, err := filepath.Abs(p); err == nil {
		return abs
	}
	return p
}

func dedupeStrings(in []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
