package profile

import "testing"

func TestGlobPathsRefused(t *testing.T) {
	src := `persist = [".local/bin", ".cache/*"]

[mounts]
"*.pem" = "hide"
"~/.ssh/id_?sa" = "hide"
"/data" = { mode = "ro", target = "/mnt/[ab]" }
"/srv/[old" = "ro"
"/srv/new]" = "ro"

[protect]
".env*" = true

[vm]
kernel = "/boot/vmlinuz-*"

[container]
root = "/var/lib/machines/[ab]c"
`
	want := []string{
		`p.toml:1: persist: path ".cache/*" is a glob pattern, but paths are taken literally (globs are not supported; list the files)`,
		`p.toml:4: mounts."*.pem": path "*.pem" is a glob pattern`,
		`p.toml:5: mounts."~/.ssh/id_?sa": path "~/.ssh/id_?sa" is a glob pattern`,
		`p.toml:6: mounts."/data".target: path "/mnt/[ab]" is a glob pattern`,
		`p.toml:11: protect.".env*": path ".env*" is a glob pattern`,
		`p.toml:14: vm.kernel: path "/boot/vmlinuz-*" is a glob pattern`,
		`p.toml:17: container.root: path "/var/lib/machines/[ab]c" is a glob pattern`,
	}
	wantProblems(t, src, want)
}

func TestCheckNoGlob(t *testing.T) {
	for p, glob := range map[string]bool{
		"/data":          false,
		"/srv/[old":      false,
		"/srv/new]":      false,
		"/srv/a]b[c":     false,
		"*":              true,
		"/a/**/b":        true,
		"/a/file?.txt":   true,
		"/a/[abc].txt":   true,
		"/a/[/b]":        true,
		"~/.config/*.js": true,
	} {
		if err := checkNoGlob(p); (err != nil) != glob {
			t.Errorf("checkNoGlob(%q) = %v, want a problem: %v", p, err, glob)
		}
	}
}
