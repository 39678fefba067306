package profile

import (
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
)

// Layer is one decoded layer file: its values keyed by dotted path, each
// with the line it was written on.
type Layer struct {
	// Kind is the layer kind.
	Kind LayerKind
	// File is the file name used in messages and origins.
	File string

	base     settings
	profiles map[string]settings
	// profileLines holds the line of each [profiles.NAME] header.
	profileLines map[string]int
}

// settings maps a dotted key ("network", "forward.audio", "mounts./data",
// "env.set.FOO") to its decoded value.
type settings map[string]entry

type entry struct {
	value any
	line  int
}

// Profiles returns the names of the profiles the layer defines, sorted.
func (l *Layer) Profiles() []string {
	names := make([]string, 0, len(l.profiles))
	for n := range l.profiles {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Env holds the facts about the invoking user and project that the loader
// needs. It is a value: the profile package reads nothing from the process
// environment or the file system.
type Env struct {
	// Home is the invoking user's home directory (absolute).
	Home string
	// ProjectDir is the absolute, canonical project directory.
	ProjectDir string
	// ConfigHome is $XDG_CONFIG_HOME (absolute).
	ConfigHome string
	// ConfigDirs are $XDG_CONFIG_DIRS, most important first.
	ConfigDirs []string
	// PackageDefaults is the package defaults file set at build time ("" for none).
	PackageDefaults string
	// DataHome is $XDG_DATA_HOME, which holds the trust store.
	DataHome string
}

// Decode decodes one layer file of the given kind. name is used in messages
// and origins. It returns every problem in the file at once, each with its
// line; a file with problems yields no layer.
func Decode(kind LayerKind, name string, data []byte, env Env) (*Layer, error) {
	var ps problems
	l := decode(kind, name, data, env, &ps)
	if err := ps.err(); err != nil {
		return nil, err
	}
	return l, nil
}

// CheckFile validates one file's bytes against the schema, the way a
// project file is checked (relative paths are taken as project-relative),
// and returns every problem as FILE:LINE: message, or nil. It needs no
// home or project: paths are checked for form only.
func CheckFile(name string, data []byte) error {
	_, err := Decode(LayerProject, name, data, Env{Home: "/home/user", ProjectDir: "/project"})
	return err
}

func decode(kind LayerKind, name string, data []byte, env Env, ps *problems) *Layer {
	var raw map[string]any
	src := string(data)
	if _, err := toml.Decode(src, &raw); err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			ps.add(name, parseErrorLine(pe, src), "", "", "%s", pe.Message)
		} else {
			ps.add(name, 1, "", "", "not valid TOML")
		}
		return nil
	}
	d := &decoder{file: name, kind: kind, env: env, ix: indexKeys(src), ps: ps}
	l := &Layer{Kind: kind, File: name, base: settings{}, profiles: map[string]settings{}, profileLines: map[string]int{}}
	d.settings(raw, nil, l.base, l)
	return l
}

// parseErrorLine returns the 1-based line of a syntax error.
func parseErrorLine(pe toml.ParseError, src string) int {
	line := pe.Position.Line
	if line < 1 {
		// The older field, which some lexer errors set instead.
		line = pe.Line
	}
	if line < 1 {
		start := min(max(pe.Position.Start, 0), len(src))
		line = strings.Count(src[:start], "\n") + 1
	}
	return line
}

type decoder struct {
	file string
	kind LayerKind
	env  Env
	ix   keyIndex
	ps   *problems
}

// at returns the path with prefix for line lookups.
func at(prefix []string, parts ...string) []string {
	return append(append([]string(nil), prefix...), parts...)
}

func (d *decoder) problem(path []string, hint, format string, args ...any) {
	d.ps.add(d.file, d.line(path), displayKey(path), hint, format, args...)
}

// line returns the line of a key for a problem: never 0, so every problem
// has a position even for keys the scanner cannot place (control
// characters in quoted keys).
func (d *decoder) line(path []string) int {
	return max(d.ix.line(path...), 1)
}

// displayKey writes a key path for messages the way a file writes it:
// parts that are not bare keys are quoted (mounts."/data").
func displayKey(path []string) string {
	parts := make([]string, len(path))
	for i, p := range path {
		parts[i] = p
		if !isBareKey(p) {
			parts[i] = strconv.Quote(p)
		}
	}
	return strings.Join(parts, ".")
}

func isBareKey(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isBareKeyByte(s[i]) {
			return false
		}
	}
	return true
}

// DisplayKey writes a dotted key of Policy.Origins (such as
// "mounts./data") the way a file writes it (mounts."/data").
func DisplayKey(key string) string {
	for _, table := range []string{"mounts.", "protect.", "env.set."} {
		if rest, ok := strings.CutPrefix(key, table); ok {
			return displayKey(append(strings.Split(strings.TrimSuffix(table, "."), "."), rest))
		}
	}
	return key
}

func (d *decoder) unknown(path []string, valid []string) {
	name := path[len(path)-1]
	hint := ""
	if s := suggest(name, valid); s != "" {
		hint = fmt.Sprintf("did you mean %q?", s)
	}
	key := displayKey(path)
	if !strings.Contains(key, `"`) {
		key = strconv.Quote(key)
	}
	d.ps.add(d.file, d.line(path), "", hint, "unknown key %s", key)
}

func (d *decoder) put(s settings, key string, path []string, v any) {
	s[key] = entry{value: v, line: d.ix.line(path...)}
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// settings decodes a table of setting keys. l is non-nil at the top level.
func (d *decoder) settings(tbl map[string]any, prefix []string, s settings, l *Layer) {
	valid := settingKeys
	if l != nil {
		valid = append(append([]string(nil), settingKeys...), topOnlyKeys...)
	}
	for _, k := range sortedKeys(tbl) {
		v := tbl[k]
		path := at(prefix, k)
		switch k {
		case "backend":
			if str, ok := d.str(path, v); ok {
				var b Backend
				if err := b.UnmarshalText([]byte(str)); err != nil {
					d.problem(path, "", "%v", err)
				} else {
					d.put(s, k, path, b)
				}
			}
		case "command", "shell":
			if list, ok := d.strList(path, v); ok {
				if len(list) == 0 || list[0] == "" {
					d.problem(path, "", "must name a program (a non-empty list whose first element is not empty)")
				} else {
					d.put(s, k, path, list)
				}
			}
		case "network":
			switch x := v.(type) {
			case bool:
				m := NetworkOff
				if x {
					m = NetworkFull
				}
				d.put(s, k, path, m)
			case string:
				var m NetworkMode
				if x == "true" || x == "false" {
					d.problem(path, "write network = true or false without quotes", "unknown network mode %q", x)
				} else if err := m.UnmarshalText([]byte(x)); err != nil {
					d.problem(path, "", "%v", err)
				} else {
					d.put(s, k, path, m)
				}
			default:
				d.typeErr(path, "a mode string (off, allowlist, full, host) or a boolean", v)
			}
		case "notice":
			if b, ok := d.boolean(path, v); ok {
				d.put(s, k, path, b)
			}
		case "hostname":
			if str, ok := d.str(path, v); ok {
				if str != "" && !validHostname(str) {
					d.problem(path, "", "invalid host name %q (letters, digits, '-' and '.', at most 253 characters; \"\" lets the backend choose)", str)
				} else {
					d.put(s, k, path, str)
				}
			}
		case "persist":
			if list, ok := d.strList(path, v); ok {
				var out []string
				good := true
				for _, p := range list {
					rel, err := homeRelative(p)
					if err != nil {
						d.problem(path, "", "%v", err)
						good = false
						continue
					}
					out = append(out, rel)
				}
				if good {
					d.put(s, k, path, out)
				}
			}
		case "egress":
			d.egress(path, v, s)
		case "protect":
			d.protect(path, v, s)
		case "forward":
			d.forward(path, v, s)
		case "env":
			d.envTable(path, v, s)
		case "mounts":
			d.mounts(path, v, s)
		case "vm":
			d.vm(path, v, s)
		case "container":
			d.container(path, v, s)
		case "profile":
			if l == nil {
				d.unknown(path, valid)
				continue
			}
			if str, ok := d.str(path, v); ok {
				d.put(s, k, path, str)
			}
		case "profiles":
			if l == nil {
				d.unknown(path, valid)
				continue
			}
			tbl, ok := d.table(path, v)
			if !ok {
				continue
			}
			for _, name := range sortedKeys(tbl) {
				ppath := at(path, name)
				if !validProfileName(name) {
					d.problem(ppath, "", "invalid profile name %q (letters, digits, '-' and '_')", name)
					continue
				}
				ptbl, ok := d.table(ppath, tbl[name])
				if !ok {
					continue
				}
				ps := settings{}
				d.settings(ptbl, ppath, ps, nil)
				l.profiles[name] = ps
				l.profileLines[name] = d.ix.line(ppath...)
			}
		default:
			d.unknown(path, valid)
		}
	}
}

func (d *decoder) egress(path []string, v any, s settings) {
	tbl, ok := d.table(path, v)
	if !ok {
		return
	}
	for _, k := range sortedKeys(tbl) {
		kp := at(path, k)
		switch k {
		case "allow", "deny":
			list, ok := d.strList(kp, tbl[k])
			if !ok {
				continue
			}
			out := make([]string, 0, len(list))
			good := true
			for _, p := range list {
				norm, err := domainPattern(p)
				if err != nil {
					d.problem(kp, "", "%v", err)
					good = false
					continue
				}
				out = append(out, norm)
			}
			if good {
				d.put(s, "egress."+k, kp, out)
			}
		case "localhost_ports":
			arr, ok := tbl[k].([]any)
			if !ok {
				d.typeErr(kp, "a list of port numbers", tbl[k])
				continue
			}
			ports := make([]int, 0, len(arr))
			good := true
			for _, e := range arr {
				n, ok := e.(int64)
				if !ok || n < 1 || n > 65535 {
					d.problem(kp, "", "%s is not a port number (1-65535)", describe(e))
					good = false
					continue
				}
				ports = append(ports, int(n))
			}
			if good {
				d.put(s, "egress.localhost_ports", kp, ports)
			}
		default:
			d.unknown(kp, egressKeys)
		}
	}
}

func (d *decoder) protect(path []string, v any, s settings) {
	tbl, ok := d.table(path, v)
	if !ok {
		return
	}
	for _, k := range sortedKeys(tbl) {
		kp := at(path, k)
		b, ok := d.boolean(kp, tbl[k])
		if !ok {
			continue
		}
		rel, err := projectRelative(k)
		if err != nil {
			d.problem(kp, "", "%v", err)
			continue
		}
		d.put(s, "protect."+rel, kp, b)
	}
}

func (d *decoder) forward(path []string, v any, s settings) {
	tbl, ok := d.table(path, v)
	if !ok {
		return
	}
	valid := forwardKeys()
	for _, k := range sortedKeys(tbl) {
		kp := at(path, k)
		known := false
		for _, f := range valid {
			known = known || f == k
		}
		if !known {
			d.unknown(kp, valid)
			continue
		}
		if b, ok := d.boolean(kp, tbl[k]); ok {
			d.put(s, "forward."+k, kp, b)
		}
	}
}

func (d *decoder) envTable(path []string, v any, s settings) {
	tbl, ok := d.table(path, v)
	if !ok {
		return
	}
	for _, k := range sortedKeys(tbl) {
		kp := at(path, k)
		switch k {
		case "pass":
			list, ok := d.strList(kp, tbl[k])
			if !ok {
				continue
			}
			good := true
			for _, n := range list {
				if !validEnvName(n) {
					d.problem(kp, "", "invalid variable name %q", n)
					good = false
				}
			}
			if good {
				d.put(s, "env.pass", kp, list)
			}
		case "set":
			set, ok := d.table(kp, tbl[k])
			if !ok {
				continue
			}
			for _, n := range sortedKeys(set) {
				np := at(kp, n)
				if !validEnvName(n) {
					d.problem(np, "", "invalid variable name %q", n)
					continue
				}
				str, ok := d.str(np, set[n])
				if !ok {
					continue
				}
				if strings.ContainsRune(str, 0) {
					d.problem(np, "", "value contains a NUL byte")
					continue
				}
				d.put(s, "env.set."+n, np, str)
			}
		default:
			d.unknown(kp, envKeys)
		}
	}
}

func (d *decoder) mounts(path []string, v any, s settings) {
	tbl, ok := d.table(path, v)
	if !ok {
		return
	}
	for _, k := range sortedKeys(tbl) {
		kp := at(path, k)
		src, err := expandPath(k, d.kind, d.env)
		if err != nil {
			d.problem(kp, "", "%v", err)
			continue
		}
		m := Mount{Source: src, Target: src}
		switch x := tbl[k].(type) {
		case string:
			if err := m.Mode.UnmarshalText([]byte(x)); err != nil {
				d.problem(kp, "", "%v", err)
				continue
			}
		case map[string]any:
			good := true
			sawMode := false
			for _, f := range sortedKeys(x) {
				fp := at(kp, f)
				switch f {
				case "mode":
					str, ok := d.str(fp, x[f])
					if !ok {
						good = false
						continue
					}
					if err := m.Mode.UnmarshalText([]byte(str)); err != nil {
						d.problem(fp, "", "%v", err)
						good = false
					}
					sawMode = true
				case "target":
					str, ok := d.str(fp, x[f])
					if !ok {
						good = false
						continue
					}
					t, err := expandPath(str, d.kind, d.env)
					if err != nil {
						d.problem(fp, "", "%v", err)
						good = false
						continue
					}
					m.Target = t
				case "optional":
					b, ok := d.boolean(fp, x[f])
					if !ok {
						good = false
					}
					m.Optional = b
				default:
					d.unknown(fp, mountKeys)
					good = false
				}
			}
			if !sawMode && good {
				d.problem(kp, "", "mount needs a mode (rw, ro, tmpfs or hide)")
				good = false
			}
			if !good {
				continue
			}
		default:
			d.typeErr(kp, `a mode ("rw", "ro", "tmpfs", "hide") or a table { mode, target, optional }`, tbl[k])
			continue
		}
		if m.Mode == MountTmpfs || m.Mode == MountHide {
			if m.Target != src {
				d.problem(kp, "", "a %s mount takes no target: its key is the path it covers", m.Mode)
				continue
			}
			m.Source = ""
		}
		if m.Target == "/" {
			d.problem(kp, "", "cannot mount over /")
			continue
		}
		d.put(s, "mounts."+src, kp, m)
	}
}

func (d *decoder) vm(path []string, v any, s settings) {
	tbl, ok := d.table(path, v)
	if !ok {
		return
	}
	for _, k := range sortedKeys(tbl) {
		kp := at(path, k)
		val := tbl[k]
		key := "vm." + k
		switch k {
		case "flavour":
			if str, ok := d.str(kp, val); ok {
				if str != "host" && str != "nix" {
					d.problem(kp, "", "unknown vm flavour %q (want one of host, nix)", str)
				} else {
					d.put(s, key, kp, str)
				}
			}
		case "accel":
			if str, ok := d.str(kp, val); ok {
				if str != "auto" && str != "kvm" && str != "tcg" {
					d.problem(kp, "", "unknown accelerator %q (want one of auto, kvm, tcg)", str)
				} else {
					d.put(s, key, kp, str)
				}
			}
		case "machine":
			if str, ok := d.str(kp, val); ok {
				if !validToken(str, 64) {
					d.problem(kp, "", "invalid machine type %q (letters, digits, '.', '_' and '-')", str)
				} else {
					d.put(s, key, kp, str)
				}
			}
		case "memory":
			mib, err := parseMemory(val)
			if err != nil {
				d.problem(kp, "", "%v", err)
			} else {
				d.put(s, key, kp, mib)
			}
		case "cpus":
			n, ok := val.(int64)
			if !ok {
				d.typeErr(kp, "an integer", val)
			} else if n < 1 || n > 256 {
				d.problem(kp, "", "%d CPUs is out of range (1-256)", n)
			} else {
				d.put(s, key, kp, int(n))
			}
		case "kernel", "initrd", "system":
			if str, ok := d.str(kp, val); ok {
				if str == "" {
					d.put(s, key, kp, "")
					continue
				}
				p, err := expandPath(str, d.kind, d.env)
				if err != nil {
					d.problem(kp, "", "%v", err)
				} else {
					d.put(s, key, kp, p)
				}
			}
		case "display":
			if b, ok := d.boolean(kp, val); ok {
				d.put(s, key, kp, b)
			}
		default:
			d.unknown(kp, vmKeys)
		}
	}
}

func (d *decoder) container(path []string, v any, s settings) {
	tbl, ok := d.table(path, v)
	if !ok {
		return
	}
	for _, k := range sortedKeys(tbl) {
		kp := at(path, k)
		val := tbl[k]
		switch k {
		case "root":
			if str, ok := d.str(kp, val); ok {
				if str == "" {
					d.put(s, "container.root", kp, "")
					continue
				}
				p, err := expandPath(str, d.kind, d.env)
				if err != nil {
					d.problem(kp, "", "%v", err)
				} else {
					d.put(s, "container.root", kp, p)
				}
			}
		case "machine_prefix":
			if str, ok := d.str(kp, val); ok {
				if !validMachinePrefix(str) {
					d.problem(kp, "", "invalid machine name prefix %q (lower-case letters, digits and '-', at most 32 characters)", str)
				} else {
					d.put(s, "container.machine_prefix", kp, str)
				}
			}
		default:
			d.unknown(kp, containerKeys)
		}
	}
}

// Typed accessors: each reports a positioned type problem on mismatch.

func (d *decoder) str(path []string, v any) (string, bool) {
	s, ok := v.(string)
	if !ok {
		d.typeErr(path, "a string", v)
	}
	return s, ok
}

func (d *decoder) boolean(path []string, v any) (bool, bool) {
	b, ok := v.(bool)
	if !ok {
		d.typeErr(path, "true or false", v)
	}
	return b, ok
}

func (d *decoder) table(path []string, v any) (map[string]any, bool) {
	t, ok := v.(map[string]any)
	if !ok {
		d.typeErr(path, "a table", v)
	}
	return t, ok
}

func (d *decoder) strList(path []string, v any) ([]string, bool) {
	arr, ok := v.([]any)
	if !ok {
		d.typeErr(path, "a list of strings", v)
		return nil, false
	}
	out := make([]string, len(arr))
	for i, e := range arr {
		s, ok := e.(string)
		if !ok {
			d.typeErr(path, "a list of strings", v)
			return nil, false
		}
		if strings.ContainsRune(s, 0) {
			d.problem(path, "", "value contains a NUL byte")
			return nil, false
		}
		out[i] = s
	}
	return out, true
}

func (d *decoder) typeErr(path []string, want string, got any) {
	d.problem(path, "", "want %s, got %s", want, describe(got))
}

// describe names a decoded TOML value's type for messages.
func describe(v any) string {
	switch x := v.(type) {
	case string:
		return fmt.Sprintf("string %q", x)
	case bool:
		return fmt.Sprintf("boolean %v", x)
	case int64:
		return fmt.Sprintf("integer %d", x)
	case float64:
		return "a float"
	case []any, []map[string]any:
		return "a list"
	case map[string]any:
		return "a table"
	default:
		return "a date or time"
	}
}

// expandPath expands ~ and $HOME and makes the path absolute: relative
// paths are joined to the project dir in a project file and refused
// elsewhere.
func expandPath(p string, kind LayerKind, env Env) (string, error) {
	if p == "" {
		return "", errors.New("empty path")
	}
	if strings.ContainsRune(p, 0) {
		return "", errors.New("path contains a NUL byte")
	}
	switch {
	case p == "~" || p == "$HOME" || p == "${HOME}":
		p = env.Home
	case strings.HasPrefix(p, "~/"):
		p = filepath.Join(env.Home, p[2:])
	case strings.HasPrefix(p, "$HOME/"):
		p = filepath.Join(env.Home, p[6:])
	case strings.HasPrefix(p, "${HOME}/"):
		p = filepath.Join(env.Home, p[8:])
	case strings.HasPrefix(p, "~"):
		return "", fmt.Errorf("path %q: only ~ and ~/ are expanded (other users' homes are not)", p)
	}
	if strings.Contains(p, "$") {
		return "", fmt.Errorf("path %q: only $HOME is expanded", p)
	}
	if !filepath.IsAbs(p) {
		if kind != LayerProject {
			return "", fmt.Errorf("path %q is relative (write an absolute path or start it with ~/)", p)
		}
		p = filepath.Join(env.ProjectDir, p)
	}
	return filepath.Clean(p), nil
}

// homeRelative checks a persist entry: a path relative to the home dir.
func homeRelative(p string) (string, error) {
	if strings.HasPrefix(p, "~/") {
		p = p[2:]
	}
	c := filepath.Clean(p)
	if p == "" || filepath.IsAbs(p) || c == "." || c == ".." || strings.HasPrefix(c, "../") {
		return "", fmt.Errorf("persist entry %q must be a directory inside the home dir, such as \".local/bin\"", p)
	}
	return c, nil
}

// projectRelative checks a protect entry: a path inside the project.
func projectRelative(p string) (string, error) {
	c := filepath.Clean(p)
	if p == "" || filepath.IsAbs(p) || strings.HasPrefix(p, "~") || c == "." || c == ".." || strings.HasPrefix(c, "../") {
		return "", fmt.Errorf("protect entry %q must be a path inside the project, such as \".git/hooks\"", p)
	}
	return c, nil
}
