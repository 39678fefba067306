package profile

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Setting is one resolved value of a policy under its dotted key.
type Setting struct {
	// Key is the dotted key, as in Policy.Origins.
	Key string
	// Value is a string, bool, int, []string, []int or MountSetting.
	Value any
	// Origin is where the value came from; Origin.Layer is "" for values
	// no layer set.
	Origin Origin
}

// MountSetting is a mount as explain shows it.
type MountSetting struct {
	// Mode is rw, ro, tmpfs or hide.
	Mode MountMode `json:"mode"`
	// Source is the host path ("" for tmpfs and hide).
	Source string `json:"source,omitempty"`
	// Target is the path inside the sandbox.
	Target string `json:"target"`
	// Optional mounts are skipped when Source is missing.
	Optional bool `json:"optional"`
}

// Settings lists every value of p under its dotted key, in a stable order
// (the order of SchemaKeys, map keys sorted), each with its origin.
func Settings(p *Policy) []Setting {
	var out []Setting
	add := func(key string, v any) {
		out = append(out, Setting{Key: key, Value: v, Origin: p.Origins[key]})
	}
	list := func(s []string) []string {
		if s == nil {
			return []string{}
		}
		return s
	}
	add("backend", string(p.Backend))
	if p.Profile != "" {
		add("profile", p.Profile)
	}
	add("command", list(p.Command))
	add("shell", list(p.Shell))
	add("network", string(p.Network.Mode))
	add("egress.allow", list(p.Network.Allow))
	add("egress.deny", list(p.Network.Deny))
	ports := p.Network.LocalhostPorts
	if ports == nil {
		ports = []int{}
	}
	add("egress.localhost_ports", ports)
	add("unix_sockets", string(p.UnixSockets))
	add("notice", p.Notice)
	add("hostname", p.Hostname)
	add("persist", list(p.Persist))
	var protect []string
	for k := range p.Origins {
		if strings.HasPrefix(k, "protect.") {
			protect = append(protect, k)
		}
	}
	sort.Strings(protect)
	for _, k := range protect {
		add(k, contains(p.Protect, strings.TrimPrefix(k, "protect.")))
	}
	for _, f := range forwardSwitches {
		add("forward."+f.Key, *f.Field(&p.Forward))
	}
	add("dbus.filter", p.DBus.Filter)
	add("dbus.talk", list(p.DBus.Talk))
	add("dbus.own", list(p.DBus.Own))
	add("dbus.see", list(p.DBus.See))
	add("env.pass", list(p.Env.Pass))
	for _, n := range sortedMapKeys(p.Env.Set) {
		add("env.set."+n, p.Env.Set[n])
	}
	for _, m := range p.Mounts {
		add(MountKey(m), MountSetting{Mode: m.Mode, Source: m.Source, Target: m.Target, Optional: m.Optional})
	}
	add("vm.flavour", p.VM.Flavour)
	add("vm.machine", p.VM.Machine)
	add("vm.accel", p.VM.Accel)
	add("vm.memory", FormatMemory(p.VM.MemoryMiB))
	add("vm.cpus", p.VM.CPUs)
	add("vm.kernel", p.VM.Kernel)
	add("vm.initrd", p.VM.Initrd)
	add("vm.system", p.VM.System)
	add("vm.display", p.VM.Display)
	add("container.root", p.Container.Root)
	add("container.machine_prefix", p.Container.MachinePrefix)
	add("oci.runtime", p.OCI.Runtime)
	add("oci.runtime_class", p.OCI.RuntimeClass)
	for _, l := range LimitSettings(p.Limits) {
		add(l.Key, l.Value)
	}
	return out
}

// FormatValue prints a setting's value in TOML syntax.
func FormatValue(v any) string {
	switch x := v.(type) {
	case string:
		return strconv.Quote(x)
	case bool:
		return strconv.FormatBool(x)
	case int:
		return strconv.Itoa(x)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case []string:
		q := make([]string, len(x))
		for i, s := range x {
			q[i] = strconv.Quote(s)
		}
		return "[" + strings.Join(q, ", ") + "]"
	case []int:
		q := make([]string, len(x))
		for i, n := range x {
			q[i] = strconv.Itoa(n)
		}
		return "[" + strings.Join(q, ", ") + "]"
	case MountSetting:
		if !x.Optional && (x.Source == "" || x.Target == x.Source) {
			return strconv.Quote(string(x.Mode))
		}
		s := fmt.Sprintf("{ mode = %q", x.Mode)
		if x.Source != "" && x.Target != x.Source {
			s += fmt.Sprintf(", target = %q", x.Target)
		}
		if x.Optional {
			s += ", optional = true"
		}
		return s + " }"
	default:
		return fmt.Sprint(v)
	}
}
