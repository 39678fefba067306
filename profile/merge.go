package profile

import (
	"fmt"
	"sort"
	"strings"
)

// Flags are the command-line settings, the highest layer. Zero values mean
// "not given".
type Flags struct {
	// Backend is --backend.
	Backend Backend
	// Profile is --profile.
	Profile string
	// Network is --network / --no-network / --network=MODE.
	Network NetworkMode
	// Shell is --shell.
	Shell bool
	// GHToken is --gh-token: forward.gh_token switched on.
	GHToken bool
	// Force is --force.
	Force bool
	// Args are the arguments after the project dir.
	Args []string
}

// resolved is a merged value and where it came from.
type resolved struct {
	value  any
	origin Origin
}

// Resolve merges layers (lowest precedence first) and flags into a Policy
// and validates it. It returns every problem at once.
//
// Merge rules: a higher layer replaces a scalar or list value of a lower
// one, tables ([forward], [mounts], [protect], [env.set], [vm],
// [container], [limits]) merge key by key, and the lists egress.allow, egress.deny
// and egress.localhost_ports are the union of all layers. Within a layer,
// the selected profile's table applies after the layer's top level, so a
// layer's profile beats that layer, and a higher layer beats both.
func Resolve(env Env, layers []*Layer, flags Flags) (*Policy, error) {
	var ps problems
	acc, name := merge(layers, flags, &ps, false)
	if err := ps.err(); err != nil {
		return nil, err
	}
	p := build(env, acc, name, flags)
	validate(p, env, &ps)
	if err := ps.err(); err != nil {
		return nil, err
	}
	return p, nil
}

// selectedProfile returns the profile named by the flags or the highest
// layer that sets profile, with that setting's origin.
func selectedProfile(layers []*Layer, flags Flags) (string, Origin) {
	if flags.Profile != "" {
		return flags.Profile, Origin{Layer: LayerFlags}
	}
	for i := len(layers) - 1; i >= 0; i-- {
		if e, ok := layers[i].base["profile"]; ok {
			return e.value.(string), Origin{Layer: layers[i].Kind, File: layers[i].File, Line: e.line}
		}
	}
	return "", Origin{}
}

// merge folds the layers and flags into one map of dotted keys. When
// lenient is set an unknown profile is ignored instead of reported (the
// trust check resolves the layers below a project file, which may not
// define the profile the project selects).
func merge(layers []*Layer, flags Flags, ps *problems, lenient bool) (map[string]resolved, string) {
	name, nameOrigin := selectedProfile(layers, flags)
	if name != "" {
		known := map[string]bool{}
		for _, l := range layers {
			for n := range l.profiles {
				known[n] = true
			}
		}
		if !known[name] {
			if !lenient {
				names := make([]string, 0, len(known))
				for n := range known {
					names = append(names, n)
				}
				sort.Strings(names)
				list := "none are defined"
				if len(names) > 0 {
					list = "known profiles: " + strings.Join(names, ", ")
				}
				ps.add(nameOrigin.File, nameOrigin.Line, "profile", list, "unknown profile %q", name)
			}
			name = ""
		}
	}
	acc := make(map[string]resolved, 64)
	apply := func(l *Layer, s settings) {
		for k, e := range s {
			if k == "profile" {
				continue
			}
			o := Origin{Layer: l.Kind, File: l.File, Line: e.line}
			if unionKeys[k] {
				if prev, ok := acc[k]; ok {
					acc[k] = resolved{value: union(prev.value, e.value), origin: o}
					continue
				}
			}
			acc[k] = resolved{value: e.value, origin: o}
		}
	}
	for _, l := range layers {
		apply(l, l.base)
		if name != "" {
			if s, ok := l.profiles[name]; ok {
				apply(l, s)
			}
		}
	}
	if name != "" {
		acc["profile"] = resolved{value: name, origin: nameOrigin}
	}
	fo := Origin{Layer: LayerFlags}
	if flags.Backend != "" {
		acc["backend"] = resolved{value: flags.Backend, origin: fo}
	}
	if flags.Network != "" {
		acc["network"] = resolved{value: flags.Network, origin: fo}
	}
	if flags.GHToken {
		acc["forward.gh_token"] = resolved{value: true, origin: fo}
	}
	return acc, name
}

// union appends the elements of b missing from a, keeping a's order.
func union(a, b any) any {
	switch x := a.(type) {
	case []string:
		out := append([]string(nil), x...)
		for _, v := range b.([]string) {
			if !contains(out, v) {
				out = append(out, v)
			}
		}
		return out
	case []int:
		out := append([]int(nil), x...)
		for _, v := range b.([]int) {
			if !contains(out, v) {
				out = append(out, v)
			}
		}
		return out
	}
	return b
}

func contains[T comparable](list []T, v T) bool {
	for _, e := range list {
		if e == v {
			return true
		}
	}
	return false
}

// build turns the merged map into a Policy.
func build(env Env, acc map[string]resolved, name string, flags Flags) *Policy {
	p := &Policy{
		ProjectDir: env.ProjectDir,
		Home:       env.Home,
		Profile:    name,
		UseShell:   flags.Shell,
		Args:       append([]string(nil), flags.Args...),
		Force:      flags.Force,
		Env:        EnvPolicy{Set: map[string]string{}},
		Origins:    make(map[string]Origin, len(acc)+4),
	}
	get := func(k string) (any, bool) {
		r, ok := acc[k]
		return r.value, ok
	}
	str := func(k string) string {
		v, _ := get(k)
		s, _ := v.(string)
		return s
	}
	boolean := func(k string) bool {
		v, _ := get(k)
		b, _ := v.(bool)
		return b
	}
	integer := func(k string) int {
		v, _ := get(k)
		n, _ := v.(int)
		return n
	}
	strs := func(k string) []string {
		v, _ := get(k)
		s, _ := v.([]string)
		return append([]string(nil), s...)
	}
	if v, ok := get("backend"); ok {
		p.Backend = v.(Backend)
	}
	p.Command = strs("command")
	p.Shell = strs("shell")
	if v, ok := get("network"); ok {
		p.Network.Mode = v.(NetworkMode)
	}
	p.Network.Allow = strs("egress.allow")
	p.Network.Deny = strs("egress.deny")
	if v, ok := get("egress.localhost_ports"); ok {
		p.Network.LocalhostPorts = append([]int(nil), v.([]int)...)
	}
	if v, ok := get("unix_sockets"); ok {
		p.UnixSockets = v.(UnixSockets)
	}
	p.Notice = boolean("notice")
	p.Hostname = str("hostname")
	p.Persist = strs("persist")
	for _, f := range forwardSwitches {
		*f.Field(&p.Forward) = boolean("forward." + f.Key)
	}
	p.DBus = DBusPolicy{Filter: boolean("dbus.filter"), Talk: strs("dbus.talk"), Own: strs("dbus.own"), See: strs("dbus.see")}
	p.Env.Pass = strs("env.pass")
	p.VM = VMSettings{
		Flavour:   str("vm.flavour"),
		Machine:   str("vm.machine"),
		Accel:     str("vm.accel"),
		MemoryMiB: integer("vm.memory"),
		CPUs:      integer("vm.cpus"),
		Kernel:    str("vm.kernel"),
		Initrd:    str("vm.initrd"),
		System:    str("vm.system"),
		Display:   boolean("vm.display"),
	}
	for _, k := range limitKeys {
		if v, ok := get("limits." + k.Key); ok {
			*k.Field(&p.Limits) = v.(int64)
		}
	}
	p.Container = ContainerSettings{Root: str("container.root"), MachinePrefix: str("container.machine_prefix")}
	p.OCI = OCISettings{Runtime: orAuto(str("oci.runtime")), RuntimeClass: str("oci.runtime_class")}
	for k, r := range acc {
		p.Origins[k] = r.origin
		switch {
		case strings.HasPrefix(k, "mounts."):
			p.Mounts = append(p.Mounts, r.value.(Mount))
		case strings.HasPrefix(k, "env.set."):
			p.Env.Set[strings.TrimPrefix(k, "env.set.")] = r.value.(string)
		case strings.HasPrefix(k, "protect."):
			if r.value.(bool) {
				p.Protect = append(p.Protect, strings.TrimPrefix(k, "protect."))
			}
		}
	}
	sort.Slice(p.Mounts, func(i, j int) bool {
		if p.Mounts[i].Target != p.Mounts[j].Target {
			return p.Mounts[i].Target < p.Mounts[j].Target
		}
		return p.Mounts[i].Source < p.Mounts[j].Source
	})
	sort.Strings(p.Protect)
	if flags.Shell {
		p.Origins["use_shell"] = Origin{Layer: LayerFlags}
	}
	if flags.Force {
		p.Origins["force"] = Origin{Layer: LayerFlags}
	}
	return p
}

// MountKey returns the Origins key of a mount.
func MountKey(m Mount) string {
	if m.Source != "" {
		return "mounts." + m.Source
	}
	return "mounts." + m.Target
}

// describeOrigin formats an origin as FILE:LINE, the file alone, or
// "command line".
func describeOrigin(o Origin) string {
	switch {
	case o.File == "":
		return "command line"
	case o.Line > 0:
		return fmt.Sprintf("%s:%d", o.File, o.Line)
	default:
		return o.File
	}
}

// String formats the origin as "layer FILE:LINE".
func (o Origin) String() string {
	if o.Layer == LayerFlags || o.File == "" {
		return string(LayerFlags)
	}
	return string(o.Layer) + " " + describeOrigin(o)
}
