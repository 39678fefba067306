package profile

import (
	"errors"
	"fmt"
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
	// StateHome is $XDG_STATE_HOME, which holds the per-project state.
	StateHome string
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
	return CheckFileAs(LayerProject, name, data)
}

// CheckFileAs is CheckFile for a file of the given layer kind: outside a
// project file, relative paths are problems.
func CheckFileAs(kind LayerKind, name string, data []byte) error {
	_, err := Decode(kind, name, data, Env{Home: "/home/user", ProjectDir: "/project"})
	return err
}

func decode(kind LayerKind, name string, data []byte, env Env, ps *problems) *Layer {
	if !checkBounds(name, data, ps) {
		return nil
	}
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
	return decodeParsed(kind, name, raw, indexKeys(src), env, ps)
}

// decodeParsed is decode after the parse: raw is the file as toml.Decode
// reads it and ix the line of each of its keys.
func decodeParsed(kind LayerKind, name string, raw map[string]any, ix keyIndex, env Env, ps *problems) *Layer {
	d := &decoder{file: name, kind: kind, env: env, ix: ix, ps: ps}
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
		case "unix_sockets":
			if str, ok := d.str(path, v); ok {
				var u UnixSockets
				if err := u.UnmarshalText([]byte(str)); err != nil {
					d.problem(path, "", "%v", err)
				} else {
					d.put(s, k, path, u)
				}
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
		case "dbus":
			d.dbus(path, v, s)
		case "env":
			d.envTable(path, v, s)
		case "mounts":
			d.mounts(path, v, s)
		case "vm":
			d.vm(path, v, s)
		case "container":
			d.container(path, v, s)
		case "oci":
			d.oci(path, v, s)
		case "limits":
			d.limits(path, v, s)
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
