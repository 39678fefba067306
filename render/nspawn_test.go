package render

import (
	"slices"
	"strings"
	"testing"

	"github.com/claude-sandbox/claude-sandbox/profile"
)

func nspawnHost(base func() *Host) func() *Host {
	return func() *Host {
		h := base()
		h.Tools["systemd-nspawn"] = "/usr/bin/systemd-nspawn"
		return h
	}
}

func TestNspawnGolden(t *testing.T) {
	cases := []struct {
		name   string
		host   func() *Host
		policy func(p *profile.Policy)
	}{
		{"debian", nspawnHost(debianHost), func(p *profile.Policy) {}},
		{"debian-systemd-no-tty-network-off", nspawnHost(func() *Host {
			h := debianHost()
			h.Systemd, h.StdinTTY = true, false
			return h
		}), func(p *profile.Policy) { p.Network.Mode = profile.NetworkOff }},
		{"nixos-closure-all-forwards", nspawnHost(nixosHost), func(p *profile.Policy) {
			p.Container.Root = "/nix/store/xyz-nixos-system"
			f := &p.Forward
			f.Display, f.Audio, f.GPU, f.DBus, f.SSHAgent, f.GHToken = true, true, true, true, true, true
		}},
		{"shell", nspawnHost(debianHost), func(p *profile.Policy) { p.UseShell = true; p.Args = []string{"-l"} }},
		{"network-full-slirp", nspawnHost(debianHost), func(p *profile.Policy) { p.Network.Mode = profile.NetworkFull }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := defaultPolicy(t, "/home/alice/proj")
			p.Network.Mode = profile.NetworkHost
			c.policy(p)
			pl, err := Nspawn(p, c.host())
			if err != nil {
				t.Fatal(err)
			}
			golden(t, "nspawn/"+c.name, formatPlan(pl))
		})
	}
}

func TestNspawnKeepsValuesOffTheCommandLine(t *testing.T) {
	h := nspawnHost(debianHost)()
	p := defaultPolicy(t, "/home/alice/proj")
	p.Env.Set = map[string]string{"SECRET_SETTING": "s3cr3t"}
	pl, err := Nspawn(p, h)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range pl.Argv {
		if strings.Contains(a, "sk-test") || strings.Contains(a, "s3cr3t") || strings.HasPrefix(a, "--setenv") {
			t.Fatalf("environment value on nspawn's argv: %q", a)
		}
	}
	var envFile *GeneratedFile
	for i := range pl.Files {
		if strings.HasSuffix(pl.Files[i].Path, ContainerEnvFile) {
			envFile = &pl.Files[i]
		}
	}
	if envFile == nil || envFile.Mode != 0o600 || envFile.Show {
		t.Fatalf("environment file missing or not private: %+v", envFile)
	}
	if !strings.Contains(string(envFile.Content), "ANTHROPIC_API_KEY=sk-test\x00") || strings.Contains(string(envFile.Content), "AWS_SECRET") {
		t.Fatalf("environment file holds the wrong variables: %q", envFile.Content)
	}
}

func TestNspawnUniqueMachineNames(t *testing.T) {
	p := defaultPolicy(t, "/home/alice/proj")
	a, b := nspawnHost(debianHost)(), nspawnHost(debianHost)()
	b.RunID = "fedcba9876543210"
	pa, _ := Nspawn(p, a)
	pb, _ := Nspawn(p, b)
	name := func(pl *Plan) string {
		i := slices.IndexFunc(pl.Argv, func(s string) bool { return strings.HasPrefix(s, "--machine=") })
		return pl.Argv[i]
	}
	if name(pa) == name(pb) {
		t.Fatalf("two runs share the machine name %s", name(pa))
	}
	if !strings.HasPrefix(name(pa), "--machine=claude-sandbox-") {
		t.Fatalf("machine name without the policy's prefix: %s", name(pa))
	}
}

func TestNspawnPathEscaping(t *testing.T) {
	if got := nspawnPath(`/a:b\c`); got != `/a\:b\\c` {
		t.Fatalf("nspawnPath = %q", got)
	}
}
