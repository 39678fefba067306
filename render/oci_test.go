package render

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/claude-sandbox/claude-sandbox/profile"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func ociHost(base func() *Host) func() *Host {
	return func() *Host {
		h := base()
		h.Tools["crun"] = "/usr/bin/crun"
		h.Tools["runc"] = "/usr/sbin/runc"
		return h
	}
}

// ociConfig returns the config.json of an oci plan, decoded.
func ociConfig(t *testing.T, pl *Plan) *specs.Spec {
	t.Helper()
	for _, f := range pl.Files {
		if strings.HasSuffix(f.Path, "/"+OCIConfig) {
			if f.Mode != 0o600 || f.Show {
				t.Errorf("config.json is not private: mode %o, shown %v", f.Mode, f.Show)
			}
			var s specs.Spec
			if err := json.Unmarshal(f.Content, &s); err != nil {
				t.Fatal(err)
			}
			return &s
		}
	}
	t.Fatal("no config.json in the plan")
	return nil
}

func TestOCIGolden(t *testing.T) {
	cases := []struct {
		name   string
		host   func() *Host
		policy func(p *profile.Policy)
	}{
		{"debian-rootless", ociHost(debianHost), func(p *profile.Policy) {}},
		{"debian-root-no-tty-network-host", ociHost(func() *Host {
			h := debianHost()
			h.Root, h.StdinTTY = true, false
			h.Cgroup, h.CgroupControllers = "v2", []string{CgroupPids, CgroupMemory, CgroupCPU}
			return h
		}), func(p *profile.Policy) {
			p.Network.Mode = profile.NetworkHost
			p.Limits.MilliCPUs = 1500
		}},
		{"allowlist-runc", ociHost(debianHost), func(p *profile.Policy) {
			p.Network.Mode = profile.NetworkAllowlist
			p.Network.Allow = []string{"example.com"}
			p.OCI.Runtime = "runc"
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := defaultPolicy(t, "/home/alice/proj")
			p.Network.Mode = profile.NetworkOff
			c.policy(p)
			pl, err := OCI(p, c.host())
			if err != nil {
				t.Fatal(err)
			}
			var b strings.Builder
			b.WriteString(formatPlan(pl))
			for _, f := range pl.Files {
				if strings.HasSuffix(f.Path, "/"+OCIConfig) {
					b.WriteString("--- " + OCIConfig + "\n")
					b.Write(f.Content)
				}
			}
			golden(t, "oci/"+c.name, b.String())
		})
	}
}

func TestOCIRootlessMapsTheUser(t *testing.T) {
	h := ociHost(debianHost)()
	p := defaultPolicy(t, "/home/alice/proj")
	p.Network.Mode = profile.NetworkOff
	s := ociConfig(t, mustOCI(t, p, h))
	want := []specs.LinuxIDMapping{{ContainerID: uint32(h.UID), HostID: uint32(h.UID), Size: 1}}
	if !slices.Equal(s.Linux.UIDMappings, want) || s.Process.User.UID != uint32(h.UID) {
		t.Errorf("crun: uid mappings %+v, user %+v", s.Linux.UIDMappings, s.Process.User)
	}
	// runc with subordinate ids: inside the launcher's namespace the
	// user is 0 and the first subordinate id 1.
	p.OCI.Runtime = "runc"
	h.SubUID, h.SubGID = 100000, 100000
	h.Tools["newuidmap"], h.Tools["newgidmap"] = "/usr/bin/newuidmap", "/usr/bin/newgidmap"
	if !OCIOuterNamespace(h, "/usr/sbin/runc") {
		t.Fatal("no outer namespace for runc with subordinate ids")
	}
	s = ociConfig(t, mustOCI(t, p, h))
	want = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1, Size: 1}, {ContainerID: uint32(h.UID), HostID: 0, Size: 1}}
	if !slices.Equal(s.Linux.UIDMappings, want) || s.Process.User.UID != uint32(h.UID) {
		t.Errorf("runc: uid mappings %+v, user %+v", s.Linux.UIDMappings, s.Process.User)
	}
	// Without them the user is root inside, and explain says so.
	h.SubUID = 0
	pl := mustOCI(t, p, h)
	if s = ociConfig(t, pl); s.Process.User.UID != 0 || !strings.Contains(strings.Join(pl.Notes, "\n"), "appear as root inside") {
		t.Errorf("runc without subordinate ids: user %+v, notes %q", s.Process.User, pl.Notes)
	}
	p.OCI.Runtime = "auto"
	h.SubUID = 100000
	if !s.Process.NoNewPrivileges || len(s.Process.Capabilities.Bounding) != 0 || !s.Root.Readonly {
		t.Errorf("process not confined: %+v", s.Process)
	}
	h.Root = true
	s = ociConfig(t, mustOCI(t, p, h))
	for _, ns := range s.Linux.Namespaces {
		if ns.Type == specs.UserNamespace {
			t.Error("a user namespace as root")
		}
	}
	if s.Process.User.UID != uint32(h.UID) {
		t.Errorf("as root the command runs as %d", s.Process.User.UID)
	}
}

func TestOCIRuntimeChoice(t *testing.T) {
	p := defaultPolicy(t, "/home/alice/proj")
	h := ociHost(debianHost)()
	for _, c := range []struct{ want, got string }{{"auto", "/usr/bin/crun"}, {"runc", "/usr/sbin/runc"}} {
		p.OCI.Runtime = c.want
		if rt, err := OCIRuntime(p, h); err != nil || rt != c.got {
			t.Errorf("%s: %q %v", c.want, rt, err)
		}
	}
	p.OCI.Runtime = "runsc"
	if _, err := OCIRuntime(p, h); err == nil || !strings.Contains(err.Error(), "runsc") || !strings.Contains(err.Error(), "install gVisor") {
		t.Errorf("missing runsc: %v", err)
	}
	delete(h.Tools, "crun")
	delete(h.Tools, "runc")
	p.OCI.Runtime = "auto"
	if _, err := OCIRuntime(p, h); err == nil {
		t.Error("no runtime accepted")
	}
}

func TestOCISeccompMatchesTheFilter(t *testing.T) {
	sc, err := OCISeccomp()
	if err != nil {
		t.Fatal(err)
	}
	var blocked []string
	ioctls := map[uint64]bool{}
	for _, r := range sc.Syscalls {
		if r.Action != specs.ActErrno {
			t.Errorf("rule %v: action %s", r.Names, r.Action)
		}
		if len(r.Args) == 0 {
			blocked = append(blocked, r.Names...)
		}
		if slices.Equal(r.Names, []string{"ioctl"}) {
			ioctls[r.Args[0].ValueTwo] = r.Args[0].Value == 0xffffffff && r.Args[0].Op == specs.OpMaskedEqual && r.Args[0].Index == 1
		}
	}
	for name := range BlockedSyscalls {
		if !slices.Contains(blocked, name) {
			t.Errorf("%s is not blocked", name)
		}
	}
	for name, req := range BlockedIoctls {
		if !ioctls[uint64(req)] {
			t.Errorf("ioctl %s is not blocked on the low 32 bits of its request", name)
		}
	}
	if !slices.Contains(blocked, "clone3") || sc.DefaultAction != specs.ActAllow || len(sc.Architectures) != 1 {
		t.Errorf("seccomp section %+v", sc)
	}
}

func mustOCI(t *testing.T, p *profile.Policy, h *Host) *Plan {
	t.Helper()
	pl, err := OCI(p, h)
	if err != nil {
		t.Fatal(err)
	}
	return pl
}

// TestOCINetworkNeverTheHosts checks that every mode but host either
// gives the bundle a network namespace of its own or has the launcher
// start the runtime in one it connects; and that full is refused where
// the launcher cannot.
func TestOCINetworkNeverTheHosts(t *testing.T) {
	for _, root := range []bool{false, true} {
		for _, mode := range []profile.NetworkMode{profile.NetworkOff, profile.NetworkAllowlist, profile.NetworkFull, profile.NetworkHost} {
			h := ociHost(debianHost)()
			h.Root = root
			h.SubUID, h.SubGID = 100000, 100000
			h.Tools["newuidmap"], h.Tools["newgidmap"] = "/usr/bin/newuidmap", "/usr/bin/newgidmap"
			p := defaultPolicy(t, "/home/alice/proj")
			p.OCI.Runtime = "runc"
			p.Network.Mode = mode
			pl := mustOCI(t, p, h)
			own := slices.ContainsFunc(ociConfig(t, pl).Linux.Namespaces, func(n specs.LinuxNamespace) bool { return n.Type == specs.NetworkNamespace })
			// The launcher's namespace: slirp4netns attached to one it
			// makes, or its netns helper in front of the runtime.
			helper := len(pl.Network) > 0 || pl.Argv[0] == NetnsHelper(h)
			switch {
			case mode == profile.NetworkHost && (own || helper):
				t.Errorf("root %v, host: a private network", root)
			case mode != profile.NetworkHost && own == helper:
				t.Errorf("root %v, %s: own namespace %v, launcher's helper %v (%q)", root, mode, own, helper, pl.Argv[:2])
			}
			if mode == profile.NetworkAllowlist && (pl.Argv[0] != NetnsHelper(h) || !slices.Contains(ociConfig(t, pl).Process.Args, "--dns")) {
				t.Errorf("root %v, allowlist: no netns helper in front of the runtime or no DNS from the bridge: %q", root, pl.Argv)
			}
		}
	}
	// Rootless crun cannot have the full mode.
	p := defaultPolicy(t, "/home/alice/proj")
	p.Network.Mode = profile.NetworkFull
	if _, err := OCI(p, ociHost(debianHost)()); err == nil || !strings.Contains(err.Error(), "needs root") {
		t.Errorf("rootless crun with network full: %v", err)
	}
}
