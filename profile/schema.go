package profile

import (
	"sort"
	"strings"
)

// The schema of a layer file. Every layer (built-in, package, system, user,
// project) uses the same keys; [profiles.NAME] tables hold any key except
// profile and profiles.
//
// To add a key: add it to the tables below (and a decoder case in
// decode.go), give it a merge rule (unionKeys when lists accumulate), a
// trust classification in trust.go, a line in claude-sandbox.example.toml
// and, when it has a default, in defaults.toml; TestSchemaKeysInExample
// and TestTrustCoversSchema fail until the example and trust rules know it.

// settingKeys are the keys valid at the top level and inside a profile.
var settingKeys = []string{
	"backend", "command", "shell", "network", "unix_sockets", "notice", "hostname", "persist",
	"egress", "protect", "forward", "dbus", "env", "mounts", "vm", "container", "oci", "limits",
}

// topOnlyKeys are valid only at the top level of a file.
var topOnlyKeys = []string{"profile", "profiles"}

// egressKeys are the keys of the [egress] table.
var egressKeys = []string{"allow", "deny", "localhost_ports"}

// envKeys are the keys of the [env] table.
var envKeys = []string{"pass", "set"}

// mountKeys are the keys of a mount's long form.
var mountKeys = []string{"mode", "target", "optional"}

// vmKeys are the keys of the [vm] table.
var vmKeys = []string{"flavour", "machine", "accel", "memory", "cpus", "kernel", "initrd", "system", "display"}

// dbusKeys are the keys of the [dbus] table.
var dbusKeys = []string{"filter", "talk", "own", "see"}

// containerKeys are the keys of the [container] table.
var containerKeys = []string{"root", "machine_prefix"}

// ociKeys are the keys of the [oci] table.
var ociKeys = []string{"runtime", "runtime_class"}

// OCIRuntimes are the values of oci.runtime: "auto" picks crun, else runc.
var OCIRuntimes = []string{"auto", "crun", "runc", "runsc"}

// forwardSwitch ties a [forward] key to its field in Forward.
type forwardSwitch struct {
	Key   string
	Field func(*Forward) *bool
	// Doc says what the switch shares.
	Doc string
}

// forwardSwitches lists every [forward] key, in the order of Forward's fields.
var forwardSwitches = []forwardSwitch{
	{"claude", func(f *Forward) *bool { return &f.Claude }, "~/.claude read-write (its executable configuration read-only through [protect]) and a copy of ~/.claude.json"},
	{"git_config", func(f *Forward) *bool { return &f.GitConfig }, "~/.gitconfig and ~/.config/git, read-only"},
	{"ssh_keys", func(f *Forward) *bool { return &f.SSHKeys }, "~/.ssh, read-only"},
	{"gh_config", func(f *Forward) *bool { return &f.GHConfig }, "~/.config/gh, read-only"},
	{"gh_token", func(f *Forward) *bool { return &f.GHToken }, "GH_TOKEN and GITHUB_TOKEN"},
	{"nix", func(f *Forward) *bool { return &f.Nix }, "/nix/store read-only and the nix daemon socket (vm: a local store and daemon of the guest)"},
	{"display", func(f *Forward) *bool { return &f.Display }, "X11 and Wayland sockets"},
	{"audio", func(f *Forward) *bool { return &f.Audio }, "PipeWire and PulseAudio sockets"},
	{"gpu", func(f *Forward) *bool { return &f.GPU }, "/dev/dri and /run/opengl-driver"},
	{"dbus", func(f *Forward) *bool { return &f.DBus }, "the session D-Bus, filtered by [dbus] (the raw session and system buses with dbus.filter = false)"},
	{"ssh_agent", func(f *Forward) *bool { return &f.SSHAgent }, "the SSH agent socket"},
	{"locale", func(f *Forward) *bool { return &f.Locale }, "LANG, LC_* and /etc/locale.conf"},
	{"host_config", func(f *Forward) *bool { return &f.HostConfig }, "DNS, hosts, TLS certificates, fonts and timezone"},
}

func forwardKeys() []string {
	out := make([]string, len(forwardSwitches))
	for i, s := range forwardSwitches {
		out[i] = s.Key
	}
	return out
}

// unionKeys are the list keys whose values accumulate across layers
// instead of being replaced.
var unionKeys = map[string]bool{
	"egress.allow":           true,
	"egress.deny":            true,
	"egress.localhost_ports": true,
}

// SchemaKeys lists every key a layer file may hold, as dotted paths, in a
// stable order. Keys chosen by the user are written in angle brackets:
// "mounts.<path>", "mounts.<path>.mode", "env.set.<name>",
// "protect.<path>" (a project-relative path, or ~/path in the home),
// "profiles.<name>" (whose table holds any key that is valid at the top
// level except profile and profiles).
func SchemaKeys() []string {
	var out []string
	for _, k := range append(append([]string(nil), settingKeys...), topOnlyKeys...) {
		switch k {
		case "egress":
			for _, s := range egressKeys {
				out = append(out, "egress."+s)
			}
		case "protect":
			out = append(out, "protect.<path>")
		case "forward":
			for _, s := range forwardKeys() {
				out = append(out, "forward."+s)
			}
		case "env":
			out = append(out, "env.pass", "env.set.<name>")
		case "mounts":
			out = append(out, "mounts.<path>")
			for _, s := range mountKeys {
				out = append(out, "mounts.<path>."+s)
			}
		case "dbus":
			for _, s := range dbusKeys {
				out = append(out, "dbus."+s)
			}
		case "vm":
			for _, s := range vmKeys {
				out = append(out, "vm."+s)
			}
		case "container":
			for _, s := range containerKeys {
				out = append(out, "container."+s)
			}
		case "oci":
			for _, s := range ociKeys {
				out = append(out, "oci."+s)
			}
		case "limits":
			for _, s := range limitKeyNames() {
				out = append(out, "limits."+s)
			}
		case "profiles":
			out = append(out, "profiles.<name>")
		default:
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// MatchSchemaKey reports whether the key path (as written in a file, for
// example ["mounts", "/data", "mode"] or ["profiles", "work", "network"])
// is a key of the schema or a table holding schema keys.
func MatchSchemaKey(parts []string) bool {
	if len(parts) >= 2 && parts[0] == "profiles" {
		if len(parts) == 2 {
			return true
		}
		rest := parts[2:]
		if rest[0] == "profile" || rest[0] == "profiles" {
			return false
		}
		return MatchSchemaKey(rest)
	}
	for _, k := range SchemaKeys() {
		pat := strings.Split(k, ".")
		if len(parts) > len(pat) {
			continue
		}
		ok := true
		for i := range parts {
			if !strings.HasPrefix(pat[i], "<") && pat[i] != parts[i] {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}
