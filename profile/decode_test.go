package profile

import (
	"reflect"
	"strings"
	"testing"
)

func TestDecodeProblems(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string // substrings, one per problem line, in order
	}{
		{"unknown top key", "netwrok = \"off\"\n", []string{`p.toml:1: unknown key "netwrok" (did you mean "network"?)`}},
		{"unknown forward key", "[forward]\naudoi = true\n", []string{`p.toml:2: unknown key "forward.audoi" (did you mean "audio"?)`}},
		{"unknown vm key in profile", "[profiles.x.vm]\nmemroy = \"1G\"\n", []string{`p.toml:2: unknown key "profiles.x.vm.memroy" (did you mean "memory"?)`}},
		{"bad backend", "backend = \"docker\"\n", []string{`p.toml:1: backend: unknown backend "docker"`}},
		{"bad mount mode", "[mounts]\n\"/data\" = \"rx\"\n", []string{`p.toml:2: mounts."/data": unknown mount mode "rx"`}},
		{"wrong type", "notice = \"yes\"\n", []string{`p.toml:1: notice: want true or false, got string "yes"`}},
		{"quoted bool network", "network = \"true\"\n", []string{`p.toml:1: network: unknown network mode "true"`}},
		{"network number", "network = 1\n", []string{`p.toml:1: network: want a mode string`}},
		{"bad unix_sockets", "unix_sockets = \"granterd\"\n", []string{`p.toml:1: unix_sockets: unknown unix_sockets value "granterd"`}},
		{"unix_sockets bool", "unix_sockets = true\n", []string{`p.toml:1: unix_sockets: want`}},
		{"empty command", "command = []\n", []string{`p.toml:1: command: must name a program`}},
		{"bad memory", "[vm]\nmemory = \"lots\"\n", []string{`p.toml:2: vm.memory: memory "lots" is not a size`}},
		{"small memory", "[vm]\nmemory = \"64M\"\n", []string{`p.toml:2: vm.memory: memory 64M is out of range`}},
		{"cpus zero", "[vm]\ncpus = 0\n", []string{`p.toml:2: vm.cpus: 0 CPUs is out of range`}},
		{"unknown limit", "[limits]\nprocesess = 10\n", []string{`p.toml:2: unknown key "limits.procesess" (did you mean "processes"?)`}},
		{"limit type", "[limits]\nprocesses = \"many\"\n", []string{`p.toml:2: limits.processes: want a number or "unlimited", got string "many"`}},
		{"limit range", "[limits]\nprocesses = 3\n", []string{`p.toml:2: limits.processes: 3 is out of range (16-4194304, or "unlimited")`}},
		{"limit size", "[limits]\nmemory = \"8X\"\n", []string{`p.toml:2: limits.memory: size "8X" has an unknown unit`}},
		{"limit size small", "[limits]\ndisk = \"1M\"\n", []string{`p.toml:2: limits.disk: 1M is out of range (64M-1024G)`}},
		{"limit cpus", "[limits]\ncpus = 0.001\n", []string{`p.toml:2: limits.cpus: 0.001 cpus is out of range`}},
		{"limit cpus type", "[limits]\ncpus = true\n", []string{`p.toml:2: limits.cpus: want a number of cores`}},
		{"accel", "[vm]\naccel = \"hvf\"\n", []string{`p.toml:2: vm.accel: unknown accelerator "hvf"`}},
		{"machine injection", "[vm]\nmachine = \"q35,accel=tcg\"\n", []string{`p.toml:2: vm.machine: invalid machine type`}},
		{"port range", "[egress]\nlocalhost_ports = [0, 70000]\n", []string{`p.toml:2: egress.localhost_ports: integer 0 is not a port`, `p.toml:2: egress.localhost_ports: integer 70000 is not a port`}},
		{"scheme", "[egress]\nallow = [\"https://x.com\"]\n", []string{`has a scheme`}},
		{"path", "[egress]\nallow = [\"x.com/a\"]\n", []string{`has a path`}},
		{"bare star", "[egress]\ndeny = [\"*\"]\n", []string{`matches everything`}},
		{"mid star", "[egress]\nallow = [\"a.*.com\"]\n", []string{`a wildcard may only stand first`}},
		{"dbus name", "[dbus]\ntalk = [\"org\", \"org.1x\", \":1.5\"]\n", []string{`p.toml:2: dbus.talk: invalid D-Bus name ":1.5"`, `invalid D-Bus name "org"`, `invalid D-Bus name "org.1x"`}},
		{"dbus key", "[dbus]\nfiltre = false\n", []string{`p.toml:2: unknown key "dbus.filtre" (did you mean "filter"?)`}},
		{"env name", "[env]\npass = [\"A-B\"]\n", []string{`invalid variable name "A-B"`}},
		{"env set type", "[env.set]\nX = 1\n", []string{`p.toml:2: env.set.X: want a string, got integer 1`}},
		{"mount no mode", "[mounts]\n\"/d\" = { target = \"/e\" }\n", []string{`mount needs a mode`}},
		{"mount unknown field", "[mounts]\n\"/d\" = { mode = \"ro\", targte = \"/e\" }\n", []string{`p.toml:2: unknown key mounts."/d".targte (did you mean "target"?)`}},
		{"tmpfs target", "[mounts]\n\"/d\" = { mode = \"tmpfs\", target = \"/e\" }\n", []string{`takes no target`}},
		{"mount over root", "[mounts]\n\"/\" = \"tmpfs\"\n", []string{`cannot mount over /`}},
		{"other user home", "[mounts]\n\"~bob/x\" = \"ro\"\n", []string{`only ~ and ~/ are expanded`}},
		{"other variable", "[mounts]\n\"$XDG_DATA_HOME/x\" = \"ro\"\n", []string{`only $HOME is expanded`}},
		{"persist absolute", "persist = [\"/abs\"]\n", []string{`persist entry "/abs" must be a directory inside the home dir`}},
		{"protect escape", "[protect]\n\"../x\" = true\n", []string{`protect entry "../x" must be a path inside the project`}},
		{"protect home escape", "[protect]\n\"~/../x\" = true\n", []string{`protect entry "~/../x" must be a path inside the project`}},
		{"protect other home", "[protect]\n\"~bob/x\" = true\n", []string{`protect entry "~bob/x"`}},
		{"protect home itself", "[protect]\n\"~/\" = true\n", []string{`protect entry "~/"`}},
		{"profile in profile", "[profiles.a]\nprofile = \"b\"\n", []string{`p.toml:2: unknown key "profiles.a.profile"`}},
		{"bad profile name", "[profiles.\"a b\"]\nnotice = true\n", []string{`invalid profile name "a b"`}},
		{"hostname", "hostname = \"-bad\"\n", []string{`invalid host name "-bad"`}},
		{"syntax", "network = \n", []string{`p.toml:1: `}},
		{
			"all problems at once, sorted by line",
			"[vm]\ncpus = 0\n\n[forward]\naudoi = true\n\nbackend = 3\n",
			[]string{`p.toml:2: vm.cpus`, `p.toml:5: unknown key "forward.audoi"`, `p.toml:7: unknown key "forward.backend"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := problemsOf(tt.src)
			if len(got) != len(tt.want) {
				t.Fatalf("got %d problems %q, want %d", len(got), got, len(tt.want))
			}
			for i, w := range tt.want {
				if !strings.Contains(got[i], w) {
					t.Errorf("problem %d = %q, want it to contain %q", i, got[i], w)
				}
			}
		})
	}
}

func TestDecodeValues(t *testing.T) {
	p := resolveLayers(t, Flags{}, mustLayer(t, LayerProject, `
network = false
hostname = "box"
persist = ["~/.cargo", ".local/bin"]
[egress]
allow = ["Example.COM", "*.foo.org"]
[mounts]
"data" = "ro"
"~/x" = { mode = "rw", target = "$HOME/y", optional = true }
"/secret" = "hide"
[vm]
memory = "1536M"
[env.set]
A = "1"
[limits]
processes = 300
memory = 2048
cpus = 1.5
open_files = "unlimited"
file_size = "1G"
disk = "512M"
`))
	if want := (Limits{Processes: 300, MemoryMiB: 2048, MilliCPUs: 1500, FileSizeMiB: 1024, DiskMiB: 512}); p.Limits != want {
		t.Errorf("limits = %+v, want %+v", p.Limits, want)
	}
	if p.Network.Mode != NetworkOff {
		t.Errorf("network = %q, want off", p.Network.Mode)
	}
	if want := append(builtinAllow(t), "example.com", "*.foo.org"); !reflect.DeepEqual(p.Network.Allow, want) {
		t.Errorf("allow = %q, want %q", p.Network.Allow, want)
	}
	if want := []string{".cargo", ".local/bin"}; !reflect.DeepEqual(p.Persist, want) {
		t.Errorf("persist = %q, want %q", p.Persist, want)
	}
	want := []Mount{
		{Source: "/home/u/src/app/data", Target: "/home/u/src/app/data", Mode: MountRO},
		{Source: "/home/u/x", Target: "/home/u/y", Mode: MountRW, Optional: true},
		{Target: "/secret", Mode: MountHide},
	}
	if !reflect.DeepEqual(p.Mounts, want) {
		t.Errorf("mounts = %+v\nwant %+v", p.Mounts, want)
	}
	if p.VM.MemoryMiB != 1536 || p.Hostname != "box" || p.Env.Set["A"] != "1" {
		t.Errorf("memory %d hostname %q env %v", p.VM.MemoryMiB, p.Hostname, p.Env.Set)
	}
	if o := p.Origins["mounts./home/u/x"]; o.Layer != LayerProject || o.Line != 9 {
		t.Errorf("origin of the ~/x mount = %+v, want project line 9", o)
	}
}

func TestRelativePathsOnlyInProject(t *testing.T) {
	_, err := Decode(LayerUser, "u.toml", []byte("[mounts]\n\"data\" = \"ro\"\n"), testEnv)
	if err == nil || !strings.Contains(err.Error(), `u.toml:2: mounts.data: path "data" is relative`) {
		t.Fatalf("err = %v, want a relative-path problem on line 2", err)
	}
}

func TestParseMemory(t *testing.T) {
	for in, want := range map[any]int{"4G": 4096, "4096M": 4096, "512MiB": 512, "2GiB": 2048, "1T": 1 << 20, int64(1024): 1024} {
		got, err := parseMemory(in)
		if err != nil || got != want {
			t.Errorf("parseMemory(%v) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []any{"", "G", "4X", "-1G", "100", "2T", "99999999999999999999G", 3.5} {
		if got, err := parseMemory(in); err == nil {
			t.Errorf("parseMemory(%v) = %d, want an error", in, got)
		}
	}
	if FormatMemory(4096) != "4G" || FormatMemory(1536) != "1536M" {
		t.Error("FormatMemory")
	}
}

func TestCheckFileAs(t *testing.T) {
	src := []byte("[mounts]\n\"data\" = \"ro\"\n")
	if err := CheckFile("p.toml", src); err != nil {
		t.Errorf("a project file may use relative paths: %v", err)
	}
	if err := CheckFileAs(LayerSystem, "s.toml", src); err == nil || !strings.Contains(err.Error(), "s.toml:2:") {
		t.Errorf("err = %v, want a positioned relative-path problem", err)
	}
}

func TestDecodeProtectHomeEntries(t *testing.T) {
	p := resolveLayers(t, Flags{}, mustLayer(t, LayerProject, "[protect]\n\"~/.claude//statusline.sh\" = true\n\"sub/../Makefile\" = true\n"))
	for _, want := range []string{"~/.claude/statusline.sh", "Makefile"} {
		if !contains(p.Protect, want) {
			t.Errorf("protect = %q, want %q in it", p.Protect, want)
		}
	}
}
