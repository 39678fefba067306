package profile

import (
	"reflect"
	"slices"
	"strings"
	"testing"
)

// Each merge rule documented in the package doc has a test here.

func TestMergeScalarsReplaced(t *testing.T) {
	user := mustLayer(t, LayerUser, "backend = \"vm\"\nnetwork = \"off\"\nhostname = \"u\"\n")
	proj := mustLayer(t, LayerProject, "hostname = \"p\"\n")
	p := resolveLayers(t, Flags{}, user, proj)
	if p.Backend != VM || p.Network.Mode != NetworkOff || p.Hostname != "p" {
		t.Errorf("backend %s network %s hostname %s", p.Backend, p.Network.Mode, p.Hostname)
	}
	if o := p.Origins["hostname"]; o.Layer != LayerProject || o.Line != 1 {
		t.Errorf("hostname origin %+v", o)
	}
	if o := p.Origins["backend"]; o.Layer != LayerUser {
		t.Errorf("backend origin %+v", o)
	}
}

func TestMergeListsReplacedWhole(t *testing.T) {
	user := mustLayer(t, LayerUser, "command = [\"claude\", \"--verbose\"]\n[env]\npass = [\"A\", \"B\"]\n")
	proj := mustLayer(t, LayerProject, "[env]\npass = []\n")
	p := resolveLayers(t, Flags{}, user, proj)
	if len(p.Env.Pass) != 0 {
		t.Errorf("env.pass = %q, want empty: an empty list means nothing", p.Env.Pass)
	}
	if !reflect.DeepEqual(p.Command, []string{"claude", "--verbose"}) {
		t.Errorf("command = %q", p.Command)
	}
}

func TestMergeTablesPerKey(t *testing.T) {
	user := mustLayer(t, LayerUser, "[mounts]\n\"/a\" = \"ro\"\n\"/b\" = \"rw\"\n[forward]\naudio = true\n[vm]\nmemory = \"8G\"\n[env.set]\nX = \"1\"\nY = \"2\"\n")
	proj := mustLayer(t, LayerProject, "[mounts]\n\"/b\" = \"hide\"\n[forward]\ngpu = false\n[vm]\ncpus = 2\n[env.set]\nY = \"3\"\n")
	p := resolveLayers(t, Flags{}, user, proj)
	want := []Mount{{Source: "/a", Target: "/a", Mode: MountRO}, {Target: "/b", Mode: MountHide}}
	if !reflect.DeepEqual(p.Mounts, want) {
		t.Errorf("mounts = %+v, want %+v", p.Mounts, want)
	}
	if !p.Forward.Audio || !p.Forward.Claude {
		t.Errorf("forward = %+v: user audio and builtin claude must survive", p.Forward)
	}
	if p.VM.MemoryMiB != 8192 || p.VM.CPUs != 2 || p.VM.Machine != "q35" {
		t.Errorf("vm = %+v", p.VM)
	}
	if !reflect.DeepEqual(p.Env.Set, map[string]string{"X": "1", "Y": "3"}) {
		t.Errorf("env.set = %v", p.Env.Set)
	}
}

// builtinAllow is the built-in egress.allow list, which every layer's adds to.
func builtinAllow(t testing.TB) []string {
	return resolveLayers(t, Flags{}).Network.Allow
}

// TestBuiltinAllowKeepsClaudeCodeWorking: under network = "allowlist" the
// defaults alone reach Claude Code's API.
func TestBuiltinAllowKeepsClaudeCodeWorking(t *testing.T) {
	if !slices.Contains(builtinAllow(t), "api.anthropic.com") {
		t.Errorf("built-in egress.allow %q lacks api.anthropic.com", builtinAllow(t))
	}
}

func TestMergeEgressUnion(t *testing.T) {
	sys := mustLayer(t, LayerSystem, "[egress]\nallow = [\"a.com\"]\ndeny = [\"x.com\"]\nlocalhost_ports = [80]\n")
	user := mustLayer(t, LayerUser, "[egress]\nallow = [\"b.com\", \"a.com\"]\nlocalhost_ports = [443]\n")
	proj := mustLayer(t, LayerProject, "[egress]\ndeny = [\"y.com\"]\n")
	p := resolveLayers(t, Flags{}, sys, user, proj)
	if !reflect.DeepEqual(p.Network.Allow, append(builtinAllow(t), "a.com", "b.com")) ||
		!reflect.DeepEqual(p.Network.Deny, []string{"x.com", "y.com"}) ||
		!reflect.DeepEqual(p.Network.LocalhostPorts, []int{80, 443}) {
		t.Errorf("network = %+v", p.Network)
	}
}

func TestMergeProfiles(t *testing.T) {
	sys := mustLayer(t, LayerSystem, "[profiles.work]\nnetwork = \"allowlist\"\nhostname = \"sys\"\n")
	user := mustLayer(t, LayerUser, "profile = \"work\"\nnetwork = \"host\"\n[profiles.work]\nhostname = \"user\"\n")
	proj := mustLayer(t, LayerProject, "network = \"off\"\n")
	// The system profile applies after the system top level but below
	// the user's top level; the user's profile beats the user's top level;
	// the project's top level beats everything below it.
	p := resolveLayers(t, Flags{}, sys, user)
	if p.Profile != "work" || p.Network.Mode != NetworkHost || p.Hostname != "user" {
		t.Errorf("profile %q network %s hostname %q", p.Profile, p.Network.Mode, p.Hostname)
	}
	p = resolveLayers(t, Flags{}, sys, user, proj)
	if p.Network.Mode != NetworkOff {
		t.Errorf("network = %s, want the project's off", p.Network.Mode)
	}
	// --profile selects a profile defined in any layer.
	p = resolveLayers(t, Flags{Profile: "work"}, sys)
	if p.Network.Mode != NetworkAllowlist || p.Origins["profile"].Layer != LayerFlags {
		t.Errorf("network = %s origin %+v", p.Network.Mode, p.Origins["profile"])
	}
}

func TestUnknownProfileListsKnown(t *testing.T) {
	b, _ := Builtin(testEnv)
	user := mustLayer(t, LayerUser, "profile = \"wrok\"\n[profiles.work]\nnotice = false\n[profiles.home]\nnotice = true\n")
	_, err := Resolve(testEnv, []*Layer{b, user}, Flags{})
	if err == nil || !strings.Contains(err.Error(), `user.toml:1: profile: unknown profile "wrok" (known profiles: home, work)`) {
		t.Fatalf("err = %v", err)
	}
	_, err = Resolve(testEnv, []*Layer{b}, Flags{Profile: "x"})
	if err == nil || !strings.Contains(err.Error(), `unknown profile "x" (none are defined)`) {
		t.Fatalf("err = %v", err)
	}
}

func TestMergeFlags(t *testing.T) {
	user := mustLayer(t, LayerUser, "backend = \"vm\"\nnetwork = \"off\"\n")
	p := resolveLayers(t, Flags{Backend: Container, Network: NetworkAllowlist, GHToken: true, Shell: true, Args: []string{"-x"}}, user)
	if p.Backend != Container || p.Network.Mode != NetworkAllowlist || !p.Forward.GHToken || !p.UseShell || p.Args[0] != "-x" {
		t.Errorf("policy = %+v", p)
	}
	for _, k := range []string{"backend", "network", "forward.gh_token"} {
		if p.Origins[k].Layer != LayerFlags {
			t.Errorf("origin of %s = %+v, want flags", k, p.Origins[k])
		}
	}
}

func TestDefaults(t *testing.T) {
	p := resolveLayers(t, Flags{})
	want := Forward{Claude: true, GitConfig: true, SSHKeys: true, GHConfig: true, Nix: true, Locale: true, HostConfig: true}
	if p.Forward != want {
		t.Errorf("default forward = %+v, want %+v", p.Forward, want)
	}
	if p.Backend != Bubblewrap || p.Network.Mode != NetworkFull || !p.Notice || p.Command[0] != "claude" || p.Shell[0] != "bash" {
		t.Errorf("defaults = %+v", p)
	}
	// At least sandbox-runtime's mandatory denies, and Claude Code's
	// executable configuration in ~/.claude.
	for _, want := range []string{".claude-sandbox.toml", ".git/config", ".git/hooks", ".gitmodules", ".gitconfig",
		".mcp.json", ".envrc", ".ripgreprc", ".vscode", ".idea", ".claude/settings.json", ".claude/settings.local.json",
		".claude/commands", ".claude/agents", ".bashrc", ".bash_profile", ".bash_login", ".bash_logout", ".profile",
		".zshrc", ".zshenv", ".zprofile", ".zlogin", ".zlogout",
		"~/.claude/settings.json", "~/.claude/settings.local.json", "~/.claude/commands", "~/.claude/agents",
		"~/.claude/plugins", "~/.claude/hooks", "~/.claude/skills", "~/.claude/CLAUDE.md"} {
		if !contains(p.Protect, want) {
			t.Errorf("protect lacks %q by default: %q", want, p.Protect)
		}
	}
	if p.VM != (VMSettings{Flavour: "host", Machine: "q35", Accel: "auto", MemoryMiB: 4096, CPUs: 4}) || p.Container.MachinePrefix != "claude-sandbox" {
		t.Errorf("vm %+v container %+v", p.VM, p.Container)
	}
	if !reflect.DeepEqual(p.Env.Pass, []string{"ANTHROPIC_API_KEY"}) {
		t.Errorf("env.pass = %q", p.Env.Pass)
	}
	for _, o := range p.Origins {
		if o.Layer != LayerBuiltin || o.File != BuiltinName || o.Line == 0 {
			t.Errorf("origin %+v, want a line of the builtin file", o)
		}
	}
}

func TestLocations(t *testing.T) {
	env := Env{Home: "/h", ProjectDir: "/p", ConfigHome: "/h/.config", ConfigDirs: []string{"/etc/xdg2", "/etc/xdg"}, PackageDefaults: "/pkg/defaults.toml"}
	var got []string
	for _, l := range Locations(env) {
		got = append(got, string(l.Kind)+" "+l.Path)
	}
	want := []string{
		"package /pkg/defaults.toml",
		"system /etc/claude-sandbox/config.toml",
		"system /etc/xdg/claude-sandbox/config.toml",
		"system /etc/xdg2/claude-sandbox/config.toml",
		"user /h/.config/claude-sandbox/config.toml",
		"project /p/.claude-sandbox.toml",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("locations:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestDefaultsHelper(t *testing.T) {
	p, err := Defaults(Env{Home: "/home/u", ProjectDir: "/home/u"})
	if err != nil {
		t.Fatal(err)
	}
	if p.Backend != Bubblewrap || p.ProjectDir != "/home/u" || p.Force {
		t.Errorf("defaults = %+v", p)
	}
}
