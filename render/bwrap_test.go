package render

import (
	"slices"
	"strings"
	"testing"

	"github.com/claude-sandbox/claude-sandbox/profile"
)

func TestBwrapGolden(t *testing.T) {
	cases := []struct {
		name   string
		host   func() *Host
		policy func(p *profile.Policy)
	}{
		{"debian", debianHost, func(p *profile.Policy) {}},
		{"nixos-all-forwards", nixosHost, func(p *profile.Policy) {
			f := &p.Forward
			f.Display, f.Audio, f.GPU, f.DBus, f.SSHAgent, f.GHToken, f.GHConfig = true, true, true, true, true, true, true
		}},
		{"dbus-raw", nixosHost, func(p *profile.Policy) {
			p.Forward.DBus = true
			p.DBus.Filter = false
		}},
		{"missing-dbus-gpu", debianHost, func(p *profile.Policy) {
			p.Forward.DBus, p.Forward.GPU = true, true
		}},
		{"network-off", debianHost, func(p *profile.Policy) { p.Network.Mode = profile.NetworkOff }},
		{"network-full-pasta", debianHost, func(p *profile.Policy) {
			p.Network.Mode = profile.NetworkFull
			p.Network.LocalhostPorts = []int{5432}
		}},
		{"network-full-root-slirp", func() *Host {
			h := debianHost()
			h.UID, h.GID, h.Groups, h.Root = 0, 0, []int{0}, true
			return h
		}, func(p *profile.Policy) {
			p.Network.Mode = profile.NetworkFull
			p.Network.LocalhostPorts = []int{5432}
		}},
		{"network-allowlist", debianHost, func(p *profile.Policy) {
			p.Network.Mode = profile.NetworkAllowlist
			p.Network.Allow = []string{"api.anthropic.com", "*.github.com"}
			p.Network.LocalhostPorts = []int{5432, 8080}
		}},
		{"shell-with-args", debianHost, func(p *profile.Policy) {
			p.UseShell = true
			p.Args = []string{"-c", "echo hi"}
		}},
		{"not-a-tty", func() *Host { h := debianHost(); h.StdinTTY = false; return h }, func(p *profile.Policy) {}},
		{"missing-forwards", debianHost, func(p *profile.Policy) {
			p.Forward.Display, p.Forward.SSHAgent, p.Forward.Audio = true, true, true
		}},
		{"policy-mounts", debianHost, func(p *profile.Policy) {
			p.Mounts = []profile.Mount{
				{Source: "/srv/data", Target: "/data", Mode: profile.MountRO, Optional: true},
				{Target: "/home/alice/.ssh", Mode: profile.MountHide},
				{Source: "/home/alice/proj/.env", Target: "/home/alice/proj/.env", Mode: profile.MountHide},
			}
			p.Env.Pass = []string{"ANTHROPIC_API_KEY", "AWS_SECRET_ACCESS_KEY"}
			p.Env.Set = map[string]string{"EDITOR": "vi"}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := c.host()
			p := defaultPolicy(t, "/home/alice/proj")
			p.Network.Mode = profile.NetworkHost
			c.policy(p)
			if c.name == "policy-mounts" {
				h.Files["/home/alice/proj/.env"] = File{Kind: Regular, Real: "/home/alice/proj/.env"}
			}
			pl, err := Bwrap(p, h)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, "bwrap/"+c.name, formatPlan(pl))
		})
	}
}

func TestBwrapProjectWithSpacesAndQuotes(t *testing.T) {
	h := debianHost()
	dir := `/home/alice/my "odd" project's dir`
	h.Files[dir] = File{Kind: Dir, Real: dir}
	p := defaultPolicy(t, dir)
	pl, err := Bwrap(p, h)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "bwrap/project-spaces-quotes", formatPlan(pl))
	i := slices.Index(pl.Argv, "--chdir")
	if i < 0 || pl.Argv[i+1] != dir {
		t.Fatalf("--chdir not followed by the project dir: %q", pl.Argv)
	}
}

func TestBwrapNeverLeaksHostEnvironment(t *testing.T) {
	h := debianHost()
	p := defaultPolicy(t, "/home/alice/proj")
	pl, err := Bwrap(p, h)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range pl.Env {
		if strings.HasPrefix(e, "AWS_SECRET_ACCESS_KEY=") {
			t.Fatalf("host variable leaked: %s", e)
		}
	}
	for _, a := range pl.Argv {
		if strings.Contains(a, "hunter2") || strings.Contains(a, "sk-test") {
			t.Fatalf("secret value on argv: %q", a)
		}
	}
	if !slices.Contains(pl.Secret, "ANTHROPIC_API_KEY") {
		t.Errorf("ANTHROPIC_API_KEY passed but not marked secret: %v", pl.Secret)
	}
}

func TestBwrapProtectsProjectFiles(t *testing.T) {
	h := debianHost()
	p := defaultPolicy(t, "/home/alice/proj")
	pl, err := Bwrap(p, h)
	if err != nil {
		t.Fatal(err)
	}
	args := strings.Join(pl.Argv, "\x00")
	proj := strings.Index(args, "--bind\x00/home/alice/proj\x00/home/alice/proj")
	for _, rel := range []string{".git/hooks", ".git/config", ".claude-sandbox.toml"} {
		full := "/home/alice/proj/" + rel
		i := strings.Index(args, "--ro-bind\x00"+full+"\x00"+full)
		if i < 0 || i < proj {
			t.Errorf("%s is not re-bound read-only after the project bind", rel)
		}
	}
	p.Protect = nil
	pl, _ = Bwrap(p, h)
	if strings.Contains(strings.Join(pl.Argv, " "), "--ro-bind /home/alice/proj/.git/hooks") {
		t.Errorf("protect opt-out ignored")
	}
}

func TestBwrapHidesHomeAndBindsAgentFromHiddenHome(t *testing.T) {
	h := nixosHost()
	p := defaultPolicy(t, "/home/alice/proj")
	pl, err := Bwrap(p, h)
	if err != nil {
		t.Fatal(err)
	}
	args := strings.Join(pl.Argv, " ")
	if !strings.Contains(args, "--tmpfs /home ") {
		t.Errorf("home not isolated: %s", args)
	}
	if !strings.Contains(args, "--ro-bind /home/alice/.local/share/claude/versions /home/alice/.local/share/claude/versions") {
		t.Errorf("agent installation under the hidden home not bound: %s", args)
	}
	if !slices.Contains(pl.Argv, "/home/alice/.local/share/claude/versions/2.1.0") {
		t.Errorf("agent not run by its canonical path")
	}
}

func TestBwrapMissingCommandNamesPath(t *testing.T) {
	h := debianHost()
	h.CommandPath = ""
	_, err := Bwrap(defaultPolicy(t, "/home/alice/proj"), h)
	if err == nil || !strings.Contains(err.Error(), "/usr/local/bin:/usr/bin:/bin") {
		t.Fatalf("want an error naming the PATH searched, got %v", err)
	}
}

func TestBwrapRefusesMissingMountSource(t *testing.T) {
	h := debianHost()
	p := defaultPolicy(t, "/home/alice/proj")
	p.Mounts = []profile.Mount{{Source: "/srv/missing", Target: "/data", Mode: profile.MountRO}}
	if _, err := Bwrap(p, h); err == nil || !strings.Contains(err.Error(), "/srv/missing") {
		t.Fatalf("want an error naming the missing source, got %v", err)
	}
}

func TestBwrapNewSessionOnlyWithoutTerminal(t *testing.T) {
	p := defaultPolicy(t, "/home/alice/proj")
	h := debianHost()
	pl, _ := Bwrap(p, h)
	if slices.Contains(pl.Argv, "--new-session") {
		t.Errorf("--new-session with a terminal breaks resizing")
	}
	h.StdinTTY = false
	pl, _ = Bwrap(p, h)
	if !slices.Contains(pl.Argv, "--new-session") {
		t.Errorf("--new-session missing without a terminal")
	}
}

func TestBwrapFullNetworkNeedsPasta(t *testing.T) {
	h := debianHost()
	delete(h.Tools, "pasta")
	p := defaultPolicy(t, "/home/alice/proj")
	p.Network.Mode = profile.NetworkFull
	if _, err := Bwrap(p, h); err == nil || !strings.Contains(err.Error(), "passt") {
		t.Fatalf("full network without pasta: %v", err)
	}
}

// TestFullNetworkWithSlirp checks which full-mode plans use slirp4netns:
// bubblewrap as root and the container, never bubblewrap as a user, and
// that a missing slirp4netns is an error naming the package, not a
// silent fallback to the host's network.
func TestFullNetworkWithSlirp(t *testing.T) {
	root := func() *Host {
		h := debianHost()
		h.UID, h.GID, h.Groups, h.Root = 0, 0, []int{0}, true
		return h
	}
	cases := []struct {
		name    string
		host    func() *Host
		backend profile.Backend
		slirp   bool
	}{
		{"bubblewrap as a user", debianHost, profile.Bubblewrap, false},
		{"bubblewrap through sudo", func() *Host { h := debianHost(); h.Root = true; return h }, profile.Bubblewrap, false},
		{"bubblewrap as root", root, profile.Bubblewrap, true},
		{"container", debianHost, profile.Container, true},
	}
	for _, c := range cases {
		p := defaultPolicy(t, "/home/alice/proj")
		p.Network.Mode = profile.NetworkFull
		np := NetworkFor(p, c.host(), c.backend)
		if np.Err != nil {
			t.Fatalf("%s: %v", c.name, np.Err)
		}
		if got := len(np.Attach) > 0; got != c.slirp {
			t.Errorf("%s: slirp4netns attached = %v, want %v", c.name, got, c.slirp)
		}
		if c.slirp && (np.Unshare || len(np.Prefix) > 0 || np.ResolvConf == nil) {
			t.Errorf("%s: slirp plan also unshares or prefixes, or keeps the host resolver: %+v", c.name, np)
		}
		h := c.host()
		delete(h.Tools, "slirp4netns")
		np = NetworkFor(p, h, c.backend)
		if c.slirp && (np.Err == nil || !strings.Contains(np.Err.Error(), "apt install slirp4netns")) {
			t.Errorf("%s without slirp4netns: %v", c.name, np.Err)
		}
	}
}
