package render

import (
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/claude-sandbox/claude-sandbox/profile"
)

// TestQEMUNixLocalStore checks when the vm guest gets a Nix store of its
// own, which daemon it starts, what it changes of the host's settings and
// what explain says.
func TestQEMUNixLocalStore(t *testing.T) {
	withNix := func(base func() *Host, daemon string) func() *Host {
		return func() *Host {
			h := base()
			h.Files["/nix/store"] = File{Kind: Dir, Real: "/nix/store"}
			if daemon != "" {
				// Links to Nix's one program, as Debian and Nix ship it.
				real := "/usr/bin/nix"
				if !strings.HasPrefix(daemon, "/usr/") {
					real = "/nix/store/n-nix-2.8/bin/nix"
				}
				h.Files[daemon] = File{Kind: Regular, Real: real}
			}
			return h
		}
	}
	cases := []struct {
		name       string
		host       func() *Host
		policy     func(p *profile.Policy)
		daemon     string // "" for no guest store
		note       string // a part of the note, "" for no Nix note
		substitute bool
	}{
		{"debian-nix-bin", withNix(debianHost, "/usr/bin/nix-daemon"), func(*profile.Policy) {}, "/usr/bin/nix-daemon", "local store", true},
		{"installer", withNix(debianHost, "/nix/var/nix/profiles/default/bin/nix-daemon"), func(*profile.Policy) {},
			"/nix/store/n-nix-2.8/bin/nix-daemon", "local store", true},
		{"nixos", withNix(nixosHost, "/run/current-system/sw/bin/nix-daemon"), func(*profile.Policy) {}, "/nix/store/n-nix-2.8/bin/nix-daemon", "local store", true},
		{"network-off", withNix(debianHost, "/usr/bin/nix-daemon"), func(p *profile.Policy) { p.Network.Mode = profile.NetworkOff },
			"/usr/bin/nix-daemon", "substituters =", false},
		{"no-nix", debianHost, func(*profile.Policy) {}, "", "", false},
		{"forward-nix-off", withNix(debianHost, "/usr/bin/nix-daemon"), func(p *profile.Policy) { p.Forward.Nix = false }, "", "", false},
		{"no-daemon", withNix(debianHost, ""), func(*profile.Policy) {}, "", "stays read-only", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := defaultPolicy(t, "/home/alice/proj")
			p.Network.Mode = profile.NetworkFull
			c.policy(p)
			pl, err := QEMU(p, qemuHost(c.host)())
			if err != nil {
				t.Fatal(err)
			}
			cfg := guestConfig(t, pl)
			var note string
			for _, n := range pl.Notes {
				if strings.HasPrefix(n, "vm: Nix") {
					note = n
				}
			}
			if c.note == "" && note != "" || !strings.Contains(note, c.note) {
				t.Errorf("explain's note %q, want one with %q", note, c.note)
			}
			if c.daemon == "" {
				if strings.Contains(cfg.Etc["passwd"], "nixbld") {
					t.Errorf("build users without a guest store")
				}
				if cfg.Nix != nil {
					t.Fatalf("a guest store without Nix on the host: %+v", cfg.Nix)
				}
				if slices.Contains(cfg.Env, "NIX_REMOTE=daemon") {
					t.Errorf("NIX_REMOTE=daemon without a daemon in the guest")
				}
				return
			}
			if cfg.Nix == nil {
				t.Fatal("no guest store on a host with Nix")
			}
			if cfg.Nix.Daemon != c.daemon {
				t.Errorf("guest daemon %s, want %s", cfg.Nix.Daemon, c.daemon)
			}
			if !slices.Contains(cfg.Env, "NIX_REMOTE=daemon") {
				t.Errorf("the command's environment has no NIX_REMOTE=daemon: %q", cfg.Env)
			}
			for _, want := range []string{"build-users-group = nixbld\n", "sandbox = false\n", "store = local\n",
				"trusted-users =\n", "post-build-hook =\n", "pre-build-hook =\n", "plugin-files =\n"} {
				if !strings.Contains(cfg.Nix.Config, want) {
					t.Errorf("daemon settings %q lack %q", cfg.Nix.Config, want)
				}
			}
			// Builds run as build users of the guest, never as its root.
			if !strings.Contains(cfg.Etc["group"], "\nnixbld:x:30000:nixbld1,nixbld2,") ||
				!strings.Contains(cfg.Etc["passwd"], "\nnixbld1:x:30001:30000:") || !strings.Contains(cfg.Etc["passwd"], "\nalice:x:1000:1000:") {
				t.Errorf("the guest's build users: passwd\n%sgroup\n%s", cfg.Etc["passwd"], cfg.Etc["group"])
			}
			if got := !strings.Contains(cfg.Nix.Config, "substituters =\n"); got != c.substitute {
				t.Errorf("daemon settings %q: substituters kept %v, want %v", cfg.Nix.Config, got, c.substitute)
			}
		})
	}
}

// TestNixBuildUsersClearOfTheUser checks that the build users' ids never
// meet the invoking user's.
func TestNixBuildUsersClearOfTheUser(t *testing.T) {
	for _, id := range []int{30000, 30001, 30032} {
		etc := map[string]string{}
		addNixBuildUsers(etc, &Host{UID: id, GID: id})
		if strings.Contains(etc["passwd"], ":"+strconv.Itoa(id)+":") || strings.Contains(etc["group"], ":"+strconv.Itoa(id)+":") {
			t.Errorf("user %d: build users meet it:\n%s%s", id, etc["passwd"], etc["group"])
		}
	}
}
