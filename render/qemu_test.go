package render

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/claude-sandbox/claude-sandbox/profile"
)

func qemuHost(base func() *Host) func() *Host {
	return func() *Host {
		h := base()
		h.Tools["qemu-system-x86_64"] = "/usr/bin/qemu-system-x86_64"
		h.Kernel = Kernel{Version: "6.1.0-56-amd64", Image: "/home/alice/.cache/claude-sandbox/vm/k/vmlinux",
			Modules: "/lib/modules/6.1.0-56-amd64", Initramfs: "/home/alice/.cache/claude-sandbox/vm/k/initramfs.cpio"}
		h.TermRows, h.TermCols = 40, 120
		return h
	}
}

func TestQEMUGolden(t *testing.T) {
	cases := []struct {
		name   string
		host   func() *Host
		policy func(p *profile.Policy)
	}{
		{"debian-tcg", qemuHost(debianHost), func(p *profile.Policy) {}},
		{"network-allowlist", qemuHost(debianHost), func(p *profile.Policy) {
			p.Network.Mode = profile.NetworkAllowlist
			p.Network.Allow = []string{"api.anthropic.com"}
			p.Network.LocalhostPorts = []int{5432}
		}},
		{"network-off-shell", qemuHost(debianHost), func(p *profile.Policy) {
			p.Network.Mode = profile.NetworkOff
			p.UseShell = true
		}},
		{"kvm-window-small", qemuHost(func() *Host {
			h := debianHost()
			h.KVM = true
			h.Env["DISPLAY"], h.Env["XAUTHORITY"], h.Env["DBUS_SESSION_BUS_ADDRESS"] = ":1", "/run/user/1000/xauth_abc", "unix:path=/run/user/1000/bus"
			h.Files[XorgEvdevDriver] = File{Kind: Regular, Real: XorgEvdevDriver}
			return h
		}), func(p *profile.Policy) {
			p.VM.Display, p.VM.MemoryMiB, p.VM.CPUs = true, 2048, 2
		}},
		{"nix-flavour", qemuHost(nixosHost), func(p *profile.Policy) {
			p.VM.Flavour, p.VM.Kernel, p.VM.Initrd, p.VM.System = "nix", "/nix/store/k-linux/bzImage", "/nix/store/i-initrd/initrd", "/nix/store/s-nixos-system"
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := defaultPolicy(t, "/home/alice/proj")
			p.Network.Mode = profile.NetworkFull
			c.policy(p)
			pl, err := QEMU(p, c.host())
			if err != nil {
				t.Fatal(err)
			}
			golden(t, "qemu/"+c.name, formatPlan(pl))
		})
	}
}

func guestConfig(t *testing.T, pl *Plan) GuestConfig {
	t.Helper()
	for _, f := range pl.Files {
		if strings.HasSuffix(f.Path, "/guest/"+GuestConfigName) {
			if f.Mode != 0o600 || f.Show {
				t.Fatalf("guest configuration is not private: mode %o", f.Mode)
			}
			var cfg GuestConfig
			if err := json.Unmarshal(f.Content, &cfg); err != nil {
				t.Fatal(err)
			}
			return cfg
		}
	}
	t.Fatal("no guest configuration in the plan")
	return GuestConfig{}
}

func TestQEMUNetworkOffHasNoNIC(t *testing.T) {
	p := defaultPolicy(t, "/home/alice/proj")
	p.Network.Mode = profile.NetworkOff
	pl, err := QEMU(p, qemuHost(debianHost)())
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(pl.Argv, "-netdev") || guestConfig(t, pl).Network {
		t.Fatalf("network off still has a network card: %q", pl.Argv)
	}
}

func TestQEMUSharesAndSecrets(t *testing.T) {
	p := defaultPolicy(t, "/home/alice/proj")
	pl, err := QEMU(p, qemuHost(debianHost)())
	if err != nil {
		t.Fatal(err)
	}
	args := strings.Join(pl.Argv, " ")
	if strings.Contains(args, "sk-test") {
		t.Fatal("a secret value is on QEMU's command line")
	}
	for _, a := range pl.Argv {
		if strings.Contains(a, "path=/home/alice/.ssh,") {
			t.Errorf("~/.ssh exported on its own (it is read-only: a bind of the host root's export): %s", a)
		}
		if strings.Contains(a, "path=/,") && !strings.Contains(a, "readonly=on") {
			t.Errorf("host root exported writable: %s", a)
		}
	}
	if !strings.Contains(args, "path=/,mount_tag="+GuestRootTag+",") {
		t.Fatalf("host root not exported: %s", args)
	}
	cfg := guestConfig(t, pl)
	var ssh bool
	for _, s := range cfg.Shares {
		if s.Target == "/home/alice/.ssh" {
			ssh = true
			if s.Kind != "hostdir" || s.Tag != "/home/alice/.ssh" || !s.ReadOnly {
				t.Errorf("~/.ssh in the guest: %+v, want a read-only bind of the host root's /home/alice/.ssh", s)
			}
		}
	}
	if !ssh {
		t.Errorf("~/.ssh not shared: %+v", cfg.Shares)
	}
	if cfg.UID != 1000 || cfg.Cwd != "/home/alice/proj" || !slices.Contains(cfg.Env, "ANTHROPIC_API_KEY=sk-test") {
		t.Fatalf("guest configuration: %+v", cfg)
	}
	var gitconfig bool
	for _, s := range pl.Seed {
		gitconfig = gitconfig || s.From == "/home/alice/.gitconfig"
	}
	if !gitconfig {
		t.Errorf("~/.gitconfig (a file) not copied for the guest: %+v", pl.Seed)
	}
}

func TestQEMUEscapesCommas(t *testing.T) {
	if qemuEscape("/a,b") != "/a,,b" {
		t.Fatal("commas not doubled")
	}
}

// TestQEMUDisplayEnv checks that QEMU's window gets the host display's
// variables and nothing else of the host's environment, and that a window
// without a host display is refused.
func TestQEMUDisplayEnv(t *testing.T) {
	cases := []struct {
		name string
		env  map[string]string
		want []string
	}{
		{"x11", map[string]string{"DISPLAY": ":1", "XAUTHORITY": "/tmp/xa"}, []string{"DISPLAY=:1", "PATH=" + SystemPath, "XAUTHORITY=/tmp/xa"}},
		{"x11-no-xauthority", map[string]string{"DISPLAY": ":1"}, []string{"DISPLAY=:1", "PATH=" + SystemPath}},
		{"wayland", map[string]string{"WAYLAND_DISPLAY": "wayland-0"}, []string{"PATH=" + SystemPath, "WAYLAND_DISPLAY=wayland-0", "XDG_RUNTIME_DIR=/run/user/1000"}},
		{"none", map[string]string{"XAUTHORITY": "/tmp/xa"}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := qemuHost(debianHost)()
			for k, v := range c.env {
				h.Env[k] = v
			}
			p := defaultPolicy(t, "/home/alice/proj")
			p.VM.Display = true
			pl, err := QEMU(p, h)
			if c.want == nil {
				if err == nil || !strings.Contains(err.Error(), "vm.display = true needs a host display") {
					t.Fatalf("no display: err = %v, want a refusal naming vm.display", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := slices.Clone(pl.Env)
			slices.Sort(got)
			if !slices.Equal(got, c.want) {
				t.Errorf("QEMU's environment = %q, want %q", got, c.want)
			}
			if !slices.Contains(pl.Argv, "virtio-vga") || !slices.Contains(pl.Argv, "gtk") {
				t.Errorf("no virtio VGA window: %q", pl.Argv)
			}
		})
	}
}

// TestQEMUWindowInput checks the window's input: QEMU gets a virtio
// keyboard and tablet only with vm.display, and the guest's X server a
// configuration that opens exactly those through the evdev driver (golden
// file), or none and a note when the host lacks the driver.
func TestQEMUWindowInput(t *testing.T) {
	h := qemuHost(debianHost)()
	h.Env["DISPLAY"] = ":1"
	p := defaultPolicy(t, "/home/alice/proj")
	pl, err := QEMU(p, h)
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(pl.Argv, "virtio-keyboard-pci") || slices.Contains(pl.Argv, "virtio-tablet-pci") || guestConfig(t, pl).Xorg != nil {
		t.Errorf("a vm without a window has input devices: %q", pl.Argv)
	}
	p.VM.Display = true
	pl, err = QEMU(p, h)
	if err != nil {
		t.Fatal(err)
	}
	if guestConfig(t, pl).Xorg != nil || !slices.ContainsFunc(pl.Notes, func(n string) bool {
		return strings.HasPrefix(n, "vm.display: ") && strings.Contains(n, "xserver-xorg-input-evdev")
	}) {
		t.Errorf("without the evdev driver: want no X input configuration and a note naming the package; notes %q", pl.Notes)
	}
	h.Files[XorgEvdevDriver] = File{Kind: Regular, Real: XorgEvdevDriver}
	pl, err = QEMU(p, h)
	if err != nil {
		t.Fatal(err)
	}
	args := strings.Join(pl.Argv, " ")
	if !strings.Contains(args, "-device virtio-vga -device virtio-keyboard-pci -device virtio-tablet-pci -display gtk") {
		t.Errorf("QEMU's window devices: %s", args)
	}
	x := guestConfig(t, pl).Xorg
	if x == nil {
		t.Fatal("no X input configuration for the guest")
	}
	want := []GuestInput{{"QEMU Virtio Keyboard", "/dev/input/virtio-keyboard"}, {"QEMU Virtio Tablet", "/dev/input/virtio-tablet"}}
	if !slices.Equal(x.Inputs, want) {
		t.Errorf("inputs = %q, want %q", x.Inputs, want)
	}
	for _, in := range x.Inputs {
		if !strings.Contains(x.Config, `Option "Device" "`+in.Link+`"`) {
			t.Errorf("xorg.conf does not open %s", in.Link)
		}
	}
	golden(t, "qemu/guest-xorg.conf", x.Config)
}

// TestQEMUEmulatedEnv checks that only an emulated guest turns Bun's
// optimising JIT tiers off, and that the policy's own value wins.
func TestQEMUEmulatedEnv(t *testing.T) {
	cases := []struct {
		name string
		kvm  bool
		set  map[string]string
		want []string
		not  []string
	}{
		{"tcg", false, nil, []string{"BUN_JSC_useDFGJIT=0", "BUN_JSC_useFTLJIT=0"}, nil},
		{"kvm", true, nil, nil, []string{"BUN_JSC_useDFGJIT=0", "BUN_JSC_useFTLJIT=0"}},
		{"tcg, policy sets it", false, map[string]string{"BUN_JSC_useDFGJIT": "1"}, []string{"BUN_JSC_useDFGJIT=1", "BUN_JSC_useFTLJIT=0"}, []string{"BUN_JSC_useDFGJIT=0"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := defaultPolicy(t, "/home/alice/proj")
			for k, v := range c.set {
				if p.Env.Set == nil {
					p.Env.Set = map[string]string{}
				}
				p.Env.Set[k] = v
			}
			h := qemuHost(debianHost)()
			h.KVM = c.kvm
			pl, err := QEMU(p, h)
			if err != nil {
				t.Fatal(err)
			}
			env := guestConfig(t, pl).Env
			for _, w := range c.want {
				if !slices.Contains(env, w) {
					t.Errorf("guest environment lacks %s: %q", w, env)
				}
			}
			for _, n := range c.not {
				if slices.Contains(env, n) {
					t.Errorf("guest environment has %s: %q", n, env)
				}
			}
		})
	}
}
