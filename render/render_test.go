package render

import (
	"crypto/sha256"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/claude-sandbox/claude-sandbox/profile"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// debianHost is a plain Debian 12 host with merged /usr, no Nix, no
// display, run from a terminal.
func debianHost() *Host {
	h := &Host{
		UID: 1000, GID: 1000, User: "alice", Home: "/home/alice", Hostname: "box",
		Env: map[string]string{
			"PATH": "/usr/local/bin:/usr/bin:/bin", "TERM": "xterm-kitty", "LANG": "en_GB.UTF-8",
			"LC_TIME": "de_DE.UTF-8", "AWS_SECRET_ACCESS_KEY": "hunter2", "ANTHROPIC_API_KEY": "sk-test",
			"XDG_RUNTIME_DIR": "/run/user/1000",
		},
		Files:        map[string]File{},
		StdinTTY:     true,
		Self:         "/usr/local/bin/claude-sandbox",
		Tools:        map[string]string{"bwrap": "/usr/bin/bwrap", "pasta": "/usr/bin/pasta", "slirp4netns": "/usr/bin/slirp4netns"},
		BwrapVersion: [3]int{0, 8, 0},
		CommandPath:  "/usr/local/bin/claude",
		RunDir:       "/run/user/1000/claude-sandbox-RUN",
		StateDir:     "/home/alice/.local/state/claude-sandbox/projects/proj-0123456789ab",
		RunID:        "0123456789abcdef",
	}
	dirs := []string{"/usr", "/opt", "/etc/alternatives", "/etc/ssl", "/etc/fonts", "/etc/ld.so.conf.d",
		"/home/alice", "/home/alice/proj", "/home/alice/proj/.git/hooks", "/home/alice/.claude", "/home/alice/.ssh",
		"/home/alice/.config/git", "/run/user/1000", "/etc/terminfo"}
	for _, d := range dirs {
		h.Files[d] = File{Kind: Dir, Real: d, UID: 1000}
	}
	for _, l := range [][2]string{{"/bin", "/usr/bin"}, {"/sbin", "/usr/sbin"}, {"/lib", "/usr/lib"}, {"/lib64", "/usr/lib64"}} {
		h.Files[l[0]] = File{Kind: Dir, Real: l[1]}
	}
	files := []string{"/etc/hosts", "/etc/ld.so.cache", "/etc/localtime", "/etc/bash.bashrc", "/etc/profile",
		"/home/alice/.gitconfig", "/home/alice/.claude.json", "/home/alice/proj/.git/config",
		"/home/alice/proj/.claude-sandbox.toml", "/usr/local/bin/claude", "/bin/bash", "/bin/sh", "/usr/bin/env"}
	for _, f := range files {
		h.Files[f] = File{Kind: Regular, Real: f}
	}
	h.Files["/etc/resolv.conf"] = File{Kind: Regular, Real: "/run/systemd/resolve/stub-resolv.conf"}
	h.Files["/etc/localtime"] = File{Kind: Regular, Real: "/usr/share/zoneinfo/Europe/London"}
	// The project's repository (a submodule's own config and hooks in
	// it), a nested repository without hooks, a gitfile of a worktree,
	// and a .vscode that is a link out of the project.
	for _, d := range []string{"/home/alice/proj/.git", "/home/alice/proj/.git/modules/lib/hooks", "/home/alice/proj/vendor/dep/.git"} {
		h.Files[d] = File{Kind: Dir, Real: d, UID: 1000}
	}
	for _, f := range []string{"/home/alice/proj/.git/modules/lib/config", "/home/alice/proj/vendor/dep/.git/config",
		"/home/alice/proj/wt/.git", "/home/alice/.claude/settings.json"} {
		h.Files[f] = File{Kind: Regular, Real: f}
	}
	h.Files["/home/alice/proj/.vscode"] = File{Kind: Dir, Real: "/home/alice/dotfiles/vscode"}
	h.Repos = []Repo{
		{Git: "/home/alice/proj/.git", Kind: Dir, Internal: []string{"/home/alice/proj/.git/modules/lib/config", "/home/alice/proj/.git/modules/lib/hooks"}},
		{Git: "/home/alice/proj/vendor/dep/.git", Kind: Dir},
		{Git: "/home/alice/proj/wt/.git", Kind: Regular},
	}
	// gh's configuration with a token.
	h.Files["/home/alice/.config/gh"] = File{Kind: Dir, Real: "/home/alice/.config/gh"}
	h.Files["/home/alice/.config/gh/hosts.yml"] = File{Kind: Regular, Real: "/home/alice/.config/gh/hosts.yml"}
	h.GHHosts = []byte("github.com:\n    users:\n        alice:\n            oauth_token: gho_secret\n    git_protocol: https\n    oauth_token: gho_secret\n    user: alice\n")
	return h
}

// nixosHost is a NixOS host with every socket present.
func nixosHost() *Host {
	h := debianHost()
	h.NixOS = true
	for _, d := range []string{"/bin", "/sbin", "/lib", "/lib64"} {
		delete(h.Files, d)
	}
	delete(h.Files, "/bin/bash")
	for _, d := range []string{"/nix/store", "/nix/var/nix/db", "/nix/var/nix/daemon-socket", "/run/current-system",
		"/etc/static", "/etc/nix", "/dev/dri", "/run/opengl-driver", "/home/alice/.config/gh"} {
		h.Files[d] = File{Kind: Dir, Real: d}
	}
	h.Files["/run/current-system"] = File{Kind: Dir, Real: "/nix/store/abc-nixos-system"}
	h.Files["/run/current-system/sw/bin/bash"] = File{Kind: Regular, Real: "/nix/store/def-bash/bin/bash"}
	h.Env["DISPLAY"] = ":0"
	h.Env["WAYLAND_DISPLAY"] = "wayland-1"
	h.Env["XAUTHORITY"] = "/run/user/1000/xauth_abc"
	h.Env["SSH_AUTH_SOCK"] = "/run/user/1000/gnupg/S.gpg-agent.ssh"
	h.Env["DBUS_SESSION_BUS_ADDRESS"] = "unix:path=/run/user/1000/bus"
	h.Env["GH_TOKEN"] = "ghp_secret"
	for _, s := range []string{"/tmp/.X11-unix/X0", "/run/user/1000/wayland-1", "/run/user/1000/pipewire-0",
		"/run/user/1000/pulse/native", "/run/user/1000/bus", "/run/dbus/system_bus_socket", "/run/user/1000/gnupg/S.gpg-agent.ssh"} {
		h.Files[s] = File{Kind: Socket, Real: s}
	}
	h.Files["/run/user/1000/xauth_abc"] = File{Kind: Regular, Real: "/run/user/1000/xauth_abc"}
	h.Xauthority = testXauth(h.Hostname)
	h.CommandPath = "/home/alice/.local/bin/claude"
	h.Files["/home/alice/.local/bin/claude"] = File{Kind: Regular, Real: "/home/alice/.local/share/claude/versions/2.1.0"}
	h.Tools["bwrap"] = "/run/current-system/sw/bin/bwrap"
	h.Tools["xdg-dbus-proxy"] = "/run/current-system/sw/bin/xdg-dbus-proxy"
	return h
}

// defaultPolicy is the built-in policy for the project /home/alice/proj.
func defaultPolicy(t *testing.T, project string) *profile.Policy {
	t.Helper()
	p, err := profile.Defaults(profile.Env{Home: "/home/alice", ProjectDir: project})
	if err != nil {
		t.Fatalf("defaults: %v", err)
	}
	return p
}

// formatPlan renders a plan deterministically for golden files.
func formatPlan(pl *Plan) string {
	var b strings.Builder
	b.WriteString("# argv\n")
	for _, a := range pl.Argv {
		fmt.Fprintf(&b, "%q\n", a)
	}
	b.WriteString("# env\n")
	for _, e := range pl.Env {
		fmt.Fprintf(&b, "%q\n", e)
	}
	fmt.Fprintf(&b, "# secret\n%s\n", strings.Join(pl.Secret, " "))
	b.WriteString("# files\n")
	for _, f := range pl.Files {
		fmt.Fprintf(&b, "fd=%d path=%s mode=%o\n", f.FD, f.Path, f.Mode)
		if f.Show {
			b.Write(f.Content)
		} else {
			fmt.Fprintf(&b, "(%d bytes, sha256 %x)\n", len(f.Content), sha256.Sum256(f.Content))
		}
	}
	fmt.Fprintf(&b, "# host dirs\n%s\n", strings.Join(pl.HostDirs, "\n"))
	for _, s := range pl.Seed {
		fmt.Fprintf(&b, "# seed %s -> %s\n", s.From, s.To)
	}
	if pl.DBusProxy != nil {
		fmt.Fprintf(&b, "# dbus proxy in %s\n%s\n", pl.DBusProxy.Dir, strings.Join(pl.DBusProxy.Argv, "\n"))
	}
	if len(pl.Network) > 0 {
		fmt.Fprintf(&b, "# network helper\n%s\n", strings.Join(pl.Network, " "))
	}
	for _, ph := range pl.Placeholders {
		fmt.Fprintf(&b, "# placeholder %s dir=%v %q\n", ph.Path, ph.Dir, ph.Content)
	}
	for _, pr := range pl.Protected {
		fmt.Fprintf(&b, "# protected %s (%s): %s\n", pr.Path, pr.Key, pr.Holds)
	}
	fmt.Fprintf(&b, "# notes\n%s\n", strings.Join(pl.Notes, "\n"))
	return b.String()
}

// golden compares got with testdata/<name>.golden, rewriting it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	file := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (run go test ./render -update to create it)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs from the golden file; run go test ./render -update after checking the change.\n--- got\n%s", file, got)
	}
}
