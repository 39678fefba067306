package profile

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// A project file arrives with a cloned repository, so it is not trusted:
// it is compared with the policy the layers below it give. Changes that
// only narrow that policy apply without asking; changes that widen it are
// refused until the user trusts the file's exact bytes.

// TrustClass says what a project file may do with a key without trust.
type TrustClass string

// The trust classes.
const (
	// TrustFree keys may change freely (they open nothing).
	TrustFree TrustClass = "free"
	// TrustNarrow keys may only be narrowed (turned off, lowered, hidden).
	TrustNarrow TrustClass = "narrow"
	// TrustFixed keys may not change at all without trust.
	TrustFixed TrustClass = "fixed"
)

// trustClasses classifies every schema key; Widenings implements it.
var trustClasses = map[string]TrustClass{
	"backend":                  TrustNarrow, // towards stronger isolation only
	"profile":                  TrustNarrow, // judged by what the profile changes
	"profiles.<name>":          TrustNarrow, // judged when selected
	"command":                  TrustFixed,
	"shell":                    TrustFixed,
	"network":                  TrustNarrow,
	"unix_sockets":             TrustNarrow,
	"notice":                   TrustFree,
	"hostname":                 TrustFree,
	"persist":                  TrustNarrow,
	"egress.allow":             TrustNarrow,
	"egress.deny":              TrustNarrow,
	"egress.localhost_ports":   TrustNarrow,
	"protect.<path>":           TrustNarrow,
	"dbus.filter":              TrustNarrow, // false shares the raw buses
	"dbus.talk":                TrustNarrow,
	"dbus.own":                 TrustNarrow,
	"dbus.see":                 TrustNarrow,
	"env.pass":                 TrustNarrow,
	"env.set.<name>":           TrustFixed,
	"mounts.<path>":            TrustNarrow, // a new ro or rw mount widens, hide and tmpfs narrow
	"mounts.<path>.mode":       TrustNarrow,
	"mounts.<path>.target":     TrustFixed,
	"mounts.<path>.optional":   TrustFree,
	"vm.flavour":               TrustFixed,
	"vm.machine":               TrustFixed,
	"vm.accel":                 TrustFree,
	"vm.memory":                TrustNarrow,
	"vm.cpus":                  TrustNarrow,
	"vm.kernel":                TrustFixed,
	"vm.initrd":                TrustFixed,
	"vm.system":                TrustFixed,
	"vm.display":               TrustNarrow,
	"container.root":           TrustFixed,
	"container.machine_prefix": TrustFree,
	"oci.runtime":              TrustFixed,
	"oci.runtime_class":        TrustFixed,
	"limits.processes":         TrustNarrow, // raising or removing a limit widens
	"limits.memory":            TrustNarrow,
	"limits.cpus":              TrustNarrow,
	"limits.open_files":        TrustNarrow,
	"limits.file_size":         TrustNarrow,
	"limits.disk":              TrustNarrow,
}

// TrustClassOf returns the trust class of a schema key as listed by
// SchemaKeys (forward switches are all TrustNarrow).
func TrustClassOf(schemaKey string) (TrustClass, bool) {
	if strings.HasPrefix(schemaKey, "forward.") {
		return TrustNarrow, true
	}
	c, ok := trustClasses[schemaKey]
	return c, ok
}

// Widening is one way a policy opens more than a base policy.
type Widening struct {
	// Key is the dotted key that widens.
	Key string
	// Message says what it opens.
	Message string
	// Origin is where the widening value was set.
	Origin Origin
}

// String formats the widening as "FILE:LINE: key: message".
func (w Widening) String() string {
	return describeOrigin(w.Origin) + ": " + w.Message
}

var backendRank = map[Backend]int{Bubblewrap: 0, OCI: 0, Container: 1, VM: 2}

// Widenings lists what p opens beyond base, sorted by origin line.
func Widenings(base, p *Policy) []Widening {
	var out []Widening
	add := func(key, format string, args ...any) {
		out = append(out, Widening{Key: key, Message: fmt.Sprintf(format, args...), Origin: p.Origins[key]})
	}
	if backendRank[p.Backend] < backendRank[base.Backend] {
		add("backend", "backend changes from %s to the weaker %s", base.Backend, p.Backend)
	}
	if !slices.Equal(p.Command, base.Command) {
		add("command", "command changes from %q to %q", base.Command, p.Command)
	}
	if !slices.Equal(p.Shell, base.Shell) {
		add("shell", "shell changes from %q to %q", base.Shell, p.Shell)
	}
	if p.Network.Mode.Rank() > base.Network.Mode.Rank() {
		add("network", "network opens from %s to %s", base.Network.Mode, p.Network.Mode)
	}
	if p.UnixSockets == UnixSocketsAll && base.UnixSockets != UnixSocketsAll {
		add("unix_sockets", "unix_sockets opens from %s to all: host programs' sockets in shared directories become connectable", base.UnixSockets)
	}
	// Domains and ports count only where the mode uses them: a domain added
	// while the network is full or off opens nothing.
	if p.Network.Mode == NetworkAllowlist {
		for _, d := range p.Network.Allow {
			if !domainAllowed(base.Network, d) {
				add("egress.allow", "allows network access to %s", d)
			}
		}
		for _, d := range base.Network.Deny {
			if !contains(p.Network.Deny, d) && domainAllowed(p.Network, d) {
				add("egress.deny", "no longer denies %s", d)
			}
		}
	}
	if p.Network.Mode == NetworkAllowlist || p.Network.Mode == NetworkFull {
		for _, port := range p.Network.LocalhostPorts {
			if !portAllowed(base.Network, port) {
				add("egress.localhost_ports", "allows host loopback port %d", port)
			}
		}
	}
	for _, f := range forwardSwitches {
		if *f.Field(&p.Forward) && !*f.Field(&base.Forward) {
			add("forward."+f.Key, "forwards %s (forward.%s)", f.Doc, f.Key)
		}
	}
	if p.Forward.DBus {
		// The filter counts only when the bus is shared. A base that did
		// not share it compares by its (unused) filter settings.
		baseFiltered := base.DBus.Filter || !base.Forward.DBus
		switch {
		case !p.DBus.Filter && baseFiltered:
			add("dbus.filter", "shares the raw session and system D-Bus, unfiltered (dbus.filter = false)")
		case p.DBus.Filter && baseFiltered:
			for _, l := range []struct {
				key, verb string
				new, old  []string
			}{
				{"dbus.talk", "lets the sandbox talk to", p.DBus.Talk, base.DBus.Talk},
				{"dbus.own", "lets the sandbox own", p.DBus.Own, base.DBus.Own},
				{"dbus.see", "lets the sandbox see", p.DBus.See, base.DBus.See},
			} {
				for _, n := range l.new {
					if !contains(l.old, n) {
						add(l.key, "%s the D-Bus name %s", l.verb, n)
					}
				}
			}
		}
	}
	for _, n := range p.Env.Pass {
		if !contains(base.Env.Pass, n) {
			add("env.pass", "passes the host variable %s", n)
		}
	}
	for _, n := range sortedMapKeys(p.Env.Set) {
		if old, ok := base.Env.Set[n]; !ok || old != p.Env.Set[n] {
			add("env.set."+n, "sets the variable %s", n)
		}
	}
	for _, m := range p.Mounts {
		if w := mountWidening(base, p, m); w != "" {
			add(MountKey(m), "%s", w)
		}
	}
	for _, rel := range base.Protect {
		if !contains(p.Protect, rel) {
			add("protect."+rel, "makes %s writable inside the sandbox", rel)
		}
	}
	for _, d := range p.Persist {
		if !contains(base.Persist, d) {
			add("persist", "keeps ~/%s across runs", d)
		}
	}
	if p.VM.MemoryMiB > base.VM.MemoryMiB {
		add("vm.memory", "raises vm memory from %s to %s", FormatMemory(base.VM.MemoryMiB), FormatMemory(p.VM.MemoryMiB))
	}
	if p.VM.CPUs > base.VM.CPUs {
		add("vm.cpus", "raises vm cpus from %d to %d", base.VM.CPUs, p.VM.CPUs)
	}
	for _, c := range []struct{ key, old, new string }{
		{"vm.flavour", base.VM.Flavour, p.VM.Flavour},
		{"vm.machine", base.VM.Machine, p.VM.Machine},
		{"vm.kernel", base.VM.Kernel, p.VM.Kernel},
		{"vm.initrd", base.VM.Initrd, p.VM.Initrd},
		{"vm.system", base.VM.System, p.VM.System},
		{"container.root", base.Container.Root, p.Container.Root},
		{"oci.runtime", base.OCI.Runtime, p.OCI.Runtime},
		{"oci.runtime_class", base.OCI.RuntimeClass, p.OCI.RuntimeClass},
	} {
		if c.old != c.new {
			add(c.key, "changes %s from %q to %q", c.key, c.old, c.new)
		}
	}
	for _, k := range limitKeys {
		old, cur := *k.Field(&base.Limits), *k.Field(&p.Limits)
		if looser(cur, old) {
			if cur == 0 {
				add("limits."+k.Key, "removes the limit on %s (limits.%s)", k.Doc, k.Key)
			} else {
				add("limits."+k.Key, "raises limits.%s from %s to %s", k.Key, FormatValue(k.value(old)), FormatValue(k.value(cur)))
			}
		}
	}
	if p.VM.Display && !base.VM.Display {
		add("vm.display", "opens a vm display window")
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Origin.Line < out[j].Origin.Line })
	return out
}

// domainAllowed reports whether network policy n lets the pattern d
// through: every domain in full and host mode, the listed ones in
// allowlist mode, none when off.
func domainAllowed(n Network, d string) bool {
	switch n.Mode {
	case NetworkFull, NetworkHost:
		return true
	case NetworkAllowlist:
		return contains(n.Allow, d)
	}
	return false
}

// portAllowed reports whether network policy n lets the sandbox reach host
// loopback port port: every port in host mode, the listed ones in
// allowlist and full mode.
func portAllowed(n Network, port int) bool {
	switch n.Mode {
	case NetworkHost:
		return true
	case NetworkAllowlist, NetworkFull:
		return contains(n.LocalhostPorts, port)
	}
	return false
}

// mountWidening says how mount m of p opens more than base, or "".
func mountWidening(base, p *Policy, m Mount) string {
	if m.Mode != MountRW && m.Mode != MountRO {
		return ""
	}
	// A mount inside the project dir is not exempt: the policy's paths are
	// not canonical, and a symlink committed to the repository could point
	// anywhere on the host.
	for _, b := range base.Mounts {
		if b.Source != m.Source || b.Target != m.Target {
			continue
		}
		if b.Mode == MountRW || (b.Mode == MountRO && m.Mode == MountRO) {
			return ""
		}
	}
	return fmt.Sprintf("mounts %s %s at %s", m.Source, m.Mode, m.Target)
}

func sortedMapKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Assess resolves layers and flags like Resolve and, when the highest
// layer is a project file, also returns what that file widens compared
// with the policy the layers below it give (with the same flags).
func Assess(env Env, layers []*Layer, flags Flags) (*Policy, []Widening, error) {
	p, err := Resolve(env, layers, flags)
	if err != nil {
		return nil, nil, err
	}
	if len(layers) == 0 || layers[len(layers)-1].Kind != LayerProject {
		return p, nil, nil
	}
	var ps problems
	below := layers[:len(layers)-1]
	acc, name := merge(below, flags, &ps, true)
	base := build(env, acc, name, flags)
	return p, Widenings(base, p), nil
}
