package profile

import (
	"strings"
	"testing"
)

// baseUser is the user layer every trust case is compared against.
const baseUser = `
backend = "container"
network = "allowlist"
persist = [".local/bin"]
[egress]
allow = ["a.com"]
deny = ["bad.com"]
localhost_ports = [80]
[forward]
audio = true
dbus = true
[dbus]
talk = ["org.freedesktop.Notifications"]
[env]
pass = ["A"]
set = { S = "1" }
[mounts]
"/data" = "ro"
"/rw" = "rw"
"/hidden" = "hide"
[vm]
memory = "4G"
cpus = 4
kernel = "/boot/vmlinuz"
display = true
[container]
root = "/nix/store/x-root"
[limits]
processes = 1000
memory = "4G"
cpus = 2
[profiles.wide]
network = "host"
`

func TestTrustDirections(t *testing.T) {
	tests := []struct {
		name string
		src  string
		key  string // the widening key, "" when the file only narrows
	}{
		{"backend stronger", `backend = "vm"`, ""},
		{"backend weaker", `backend = "bubblewrap"`, "backend"},
		{"network off", `network = "off"`, ""},
		{"network full", `network = "full"`, "network"},
		{"network host", `network = true`, "network"},
		{"unix sockets granted", `unix_sockets = "granted"`, ""},
		{"unix sockets all", `unix_sockets = "all"`, "unix_sockets"},
		{"allow known", "[egress]\nallow = [\"a.com\"]", ""},
		{"allow new", "[egress]\nallow = [\"b.com\"]", "egress.allow"},
		{"deny more", "[egress]\ndeny = [\"c.com\"]", ""},
		{"allow while off", "network = \"off\"\n[egress]\nallow = [\"b.com\"]\nlocalhost_ports = [22]", ""},
		{"port known", "[egress]\nlocalhost_ports = [80]", ""},
		{"port new", "[egress]\nlocalhost_ports = [22]", "egress.localhost_ports"},
		{"forward off", "[forward]\naudio = false\nssh_keys = false", ""},
		{"forward on", "[forward]\ngpu = true", "forward.gpu"},
		{"dbus filter kept", "[dbus]\nfilter = true", ""},
		{"dbus raw bus", "[dbus]\nfilter = false", "dbus.filter"},
		{"dbus talk fewer", "[dbus]\ntalk = []", ""},
		{"dbus talk new", "[dbus]\ntalk = [\"org.freedesktop.secrets\"]", "dbus.talk"},
		{"dbus own new", "[dbus]\nown = [\"org.example.*\"]", "dbus.own"},
		{"dbus see new", "[dbus]\nsee = [\"org.example.App\"]", "dbus.see"},
		{"dbus names while off", "[forward]\ndbus = false\n[dbus]\nfilter = false\ntalk = [\"org.freedesktop.secrets\"]", ""},
		{"env pass fewer", "[env]\npass = []", ""},
		{"env pass new", "[env]\npass = [\"A\", \"SECRET\"]", "env.pass"},
		{"env set same", "[env.set]\nS = \"1\"", ""},
		{"env set changed", "[env.set]\nS = \"2\"", "env.set.S"},
		{"env set new", "[env.set]\nLD_PRELOAD = \"/x.so\"", "env.set.LD_PRELOAD"},
		{"command", `command = ["sh", "-c", "curl evil"]`, "command"},
		{"shell", `shell = ["zsh"]`, "shell"},
		{"hide a mount", "[mounts]\n\"/data\" = \"hide\"", ""},
		{"tmpfs new", "[mounts]\n\"/tmp/x\" = \"tmpfs\"", ""},
		{"rw to ro", "[mounts]\n\"/rw\" = \"ro\"", ""},
		{"ro to rw", "[mounts]\n\"/data\" = \"rw\"", "mounts./data"},
		{"unhide", "[mounts]\n\"/hidden\" = \"ro\"", "mounts./hidden"},
		{"new mount outside", "[mounts]\n\"~/.aws\" = \"ro\"", "mounts./home/u/.aws"},
		{"new mount inside project", "[mounts]\n\"link\" = \"ro\"", "mounts./home/u/src/app/link"},
		{"retarget", "[mounts]\n\"/data\" = { mode = \"ro\", target = \"/elsewhere\" }", "mounts./data"},
		{"protect off", "[protect]\n\".git/hooks\" = false", "protect..git/hooks"},
		{"protect more", "[protect]\n\"Makefile\" = true", ""},
		{"protect editor off", "[protect]\n\".vscode\" = false", "protect..vscode"},
		{"protect claude settings off", "[protect]\n\"~/.claude/settings.json\" = false", "protect.~/.claude/settings.json"},
		{"protect home more", "[protect]\n\"~/.claude/statusline.sh\" = true", ""},
		{"persist fewer", "persist = []", ""},
		{"persist new", "persist = [\".config/autostart\"]", "persist"},
		{"memory lower", "[vm]\nmemory = \"2G\"\ncpus = 1", ""},
		{"memory higher", "[vm]\nmemory = \"64G\"", "vm.memory"},
		{"cpus higher", "[vm]\ncpus = 64", "vm.cpus"},
		{"kernel", "[vm]\nkernel = \"/tmp/evil\"", "vm.kernel"},
		{"initrd", "[vm]\ninitrd = \"/tmp/evil\"", "vm.initrd"},
		{"system", "[vm]\nsystem = \"/tmp/evil\"", "vm.system"},
		{"flavour", "[vm]\nflavour = \"nix\"", "vm.flavour"},
		{"machine", "[vm]\nmachine = \"pc\"", "vm.machine"},
		{"display off", "[vm]\ndisplay = false", ""},
		{"accel free", "[vm]\naccel = \"tcg\"", ""},
		{"container root", "[container]\nroot = \"/tmp/root\"", "container.root"},
		{"machine prefix free", "[container]\nmachine_prefix = \"x\"", ""},
		{"processes lower", "[limits]\nprocesses = 500", ""},
		{"processes higher", "[limits]\nprocesses = 5000", "limits.processes"},
		{"processes removed", "[limits]\nprocesses = \"unlimited\"", "limits.processes"},
		{"memory limit lower", "[limits]\nmemory = \"1G\"", ""},
		{"memory limit higher", "[limits]\nmemory = \"16G\"", "limits.memory"},
		{"cpus lower", "[limits]\ncpus = 1.5", ""},
		{"cpus removed", "[limits]\ncpus = \"unlimited\"", "limits.cpus"},
		{"open files lower", "[limits]\nopen_files = 1024", ""},
		{"open files higher", "[limits]\nopen_files = 100000", "limits.open_files"},
		{"file size removed", "[limits]\nfile_size = \"unlimited\"", "limits.file_size"},
		{"disk lower", "[limits]\ndisk = \"1G\"", ""},
		{"disk higher", "[limits]\ndisk = \"100G\"", "limits.disk"},
		{"notice and hostname free", "notice = false\nhostname = \"h\"", ""},
		{"select a wide profile", `profile = "wide"`, "network"},
		{"define a wide profile only", "[profiles.mine]\nnetwork = \"host\"", ""},
	}
	b, _ := Builtin(testEnv)
	user := mustLayer(t, LayerUser, baseUser)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			proj := mustLayer(t, LayerProject, tt.src+"\n")
			_, w, err := Assess(testEnv, []*Layer{b, user, proj}, Flags{})
			if err != nil {
				t.Fatal(err)
			}
			if tt.key == "" {
				if len(w) != 0 {
					t.Errorf("widenings %v, want none", w)
				}
				return
			}
			if len(w) != 1 || w[0].Key != tt.key {
				t.Fatalf("widenings %v, want exactly one for %s", w, tt.key)
			}
			if w[0].Origin.Layer != LayerProject && tt.key != "network" {
				t.Errorf("widening origin %+v, want the project file", w[0].Origin)
			}
		})
	}
}

func TestTrustFlagsAreNotBlamedOnProject(t *testing.T) {
	b, _ := Builtin(testEnv)
	proj := mustLayer(t, LayerProject, "notice = false\n")
	_, w, err := Assess(testEnv, []*Layer{b, proj}, Flags{Network: NetworkHost, GHToken: true, Backend: VM})
	if err != nil || len(w) != 0 {
		t.Fatalf("widenings %v err %v: flags apply to both sides", w, err)
	}
}

func TestTrustProfileOnlyInProject(t *testing.T) {
	b, _ := Builtin(testEnv)
	proj := mustLayer(t, LayerProject, "[profiles.p]\nnetwork = \"host\"\n")
	_, w, err := Assess(testEnv, []*Layer{b, proj}, Flags{Profile: "p"})
	if err != nil || len(w) != 1 || w[0].Key != "network" {
		t.Fatalf("widenings %v err %v", w, err)
	}
}

func TestTrustCoversSchema(t *testing.T) {
	for _, k := range SchemaKeys() {
		if _, ok := TrustClassOf(k); !ok {
			t.Errorf("schema key %s has no trust class", k)
		}
	}
}

func TestWideningString(t *testing.T) {
	w := Widening{Key: "network", Message: "network opens from off to full", Origin: Origin{Layer: LayerProject, File: "/p/.claude-sandbox.toml", Line: 3}}
	if got := w.String(); !strings.HasPrefix(got, "/p/.claude-sandbox.toml:3: network opens") {
		t.Errorf("String() = %q", got)
	}
}

func TestTrustEgressInFullMode(t *testing.T) {
	b, _ := Builtin(testEnv) // network full
	for src, key := range map[string]string{
		"[egress]\nallow = [\"x.com\"]":                          "",
		"network = \"allowlist\"\n[egress]\nallow = [\"x.com\"]": "",
		"[egress]\nlocalhost_ports = [8080]":                     "egress.localhost_ports",
		"network = \"off\"\n[egress]\nlocalhost_ports = [8080]":  "",
	} {
		proj := mustLayer(t, LayerProject, src+"\n")
		_, w, err := Assess(testEnv, []*Layer{b, proj}, Flags{})
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case key == "" && len(w) != 0:
			t.Errorf("%q: widenings %v, want none", src, w)
		case key != "" && (len(w) != 1 || w[0].Key != key):
			t.Errorf("%q: widenings %v, want %s", src, w, key)
		}
	}
}

// TestUnprotectFromUserLayer: the user's own layer may unprotect a path
// (no trust needed), and the project file may not without trust.
func TestUnprotectFromUserLayer(t *testing.T) {
	b, _ := Builtin(testEnv)
	user := mustLayer(t, LayerUser, "[protect]\n\".vscode\" = false\n\"~/.claude/CLAUDE.md\" = false\n")
	p, w, err := Assess(testEnv, []*Layer{b, user}, Flags{})
	if err != nil || len(w) != 0 {
		t.Fatalf("user layer unprotecting: widenings %v, err %v", w, err)
	}
	if contains(p.Protect, ".vscode") || contains(p.Protect, "~/.claude/CLAUDE.md") || !contains(p.Protect, ".idea") {
		t.Errorf("protect = %q", p.Protect)
	}
}
