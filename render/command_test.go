package render

import (
	"slices"
	"strings"
	"testing"

	"github.com/claude-sandbox/claude-sandbox/profile"
)

// TestShellModeKeepsTheAgent gives the shell the agent by name on every
// backend: its installation under the hidden home is shared and a link in
// AgentBin, on PATH, points at it.
func TestShellModeKeepsTheAgent(t *testing.T) {
	for _, b := range []struct {
		name   string
		render func(*profile.Policy, *Host) (*Plan, error)
		host   func() *Host
	}{
		{"bubblewrap", Bwrap, nixosHost},
		{"container", Nspawn, nspawnHost(nixosHost)},
	} {
		h := b.host()
		p := defaultPolicy(t, "/home/alice/proj")
		p.UseShell = true
		us, err := UserShares(p, h)
		if err != nil {
			t.Fatal(err)
		}
		shares := us.Shares
		var install, link bool
		for _, s := range shares {
			install = install || (s.Mode == ShareRO && s.Target == "/home/alice/.local/share/claude/versions")
			link = link || (s.Mode == ShareSymlink && s.Target == AgentBin(h)+"/claude" && s.Source == "/home/alice/.local/share/claude/versions/2.1.0")
		}
		if !install || !link {
			t.Errorf("%s: shell mode: installation shared %v, link %v: %+v", b.name, install, link, shares)
		}
		pl, err := b.render(p, h)
		if err != nil {
			t.Fatal(err)
		}
		var pathVar string
		for _, kv := range pl.Env {
			if v, ok := strings.CutPrefix(kv, "PATH="); ok {
				pathVar = v
			}
		}
		if b.name == "container" {
			// nspawn's environment travels in a file, not Plan.Env.
			pathVar = sandboxPath(p, h)
		}
		if !slices.Contains(strings.Split(pathVar, ":"), AgentBin(h)) {
			t.Errorf("%s: shell PATH %q lacks %s", b.name, pathVar, AgentBin(h))
		}
	}
}

// TestCommandOutsideTheSandboxIsRefused names the command and the mount
// that would share it, instead of a failing exec inside.
func TestCommandOutsideTheSandboxIsRefused(t *testing.T) {
	h := debianHost()
	h.CommandPath = "/srv/tools/bin/claude"
	h.Files["/srv/tools/bin/claude"] = File{Kind: Regular, Real: "/srv/tools/lib/claude/cli.js"}
	p := defaultPolicy(t, "/home/alice/proj")
	_, err := Bwrap(p, h)
	if err == nil || !strings.Contains(err.Error(), `"/srv/tools/lib/claude" = \"ro\"`) && !strings.Contains(err.Error(), `[mounts] "/srv/tools/lib/claude" = "ro"`) {
		t.Fatalf("want a refusal naming the mount, got %v", err)
	}
	// Under /opt, which the sandbox shows, it runs; its directory is on
	// PATH so an interpreter beside it (node) is found.
	h.CommandPath = "/opt/node/bin/claude"
	h.Files["/opt/node/bin/claude"] = File{Kind: Regular, Real: "/opt/node/lib/node_modules/@anthropic-ai/claude-code/cli.js"}
	pl, err := Bwrap(p, h)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(pl.Env, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/opt/node/lib/node_modules/@anthropic-ai/claude-code:/opt/node/bin:/home/alice/.local/bin") {
		t.Errorf("PATH: %q", pl.Env)
	}
	// A mount of its installation makes it visible.
	h.CommandPath = "/srv/tools/bin/claude"
	h.Files["/srv/tools/lib/claude"] = File{Kind: Dir, Real: "/srv/tools/lib/claude"}
	p.Mounts = append(p.Mounts, profile.Mount{Source: "/srv/tools/lib/claude", Target: "/srv/tools/lib/claude", Mode: profile.MountRO})
	if _, err := Bwrap(p, h); err != nil {
		t.Errorf("with a mount: %v", err)
	}
}

// TestMissingClaudeSaysHowToInstall gives the install commands and, through
// sudo, the directories searched.
func TestMissingClaudeSaysHowToInstall(t *testing.T) {
	h := debianHost()
	h.CommandPath = ""
	h.CommandSearched = []string{"/home/alice/.local/bin", "/home/alice/.npm-global/bin"}
	_, err := Bwrap(defaultPolicy(t, "/home/alice/proj"), h)
	for _, want := range []string{"npm install -g @anthropic-ai/claude-code", "https://claude.ai/install.sh", "alice's install directories /home/alice/.local/bin:/home/alice/.npm-global/bin", `command = ["/full/path/to/claude"]`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
}
