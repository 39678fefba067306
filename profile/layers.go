package profile

import (
	_ "embed"
	"path/filepath"
)

//go:embed defaults.toml
var builtinDefaults []byte

// BuiltinName is the name under which the embedded defaults file is cited.
const BuiltinName = "<builtin>/defaults.toml"

// BuiltinDefaults returns the embedded defaults file's bytes.
func BuiltinDefaults() []byte { return append([]byte(nil), builtinDefaults...) }

// SystemConfig is the system-wide configuration file.
const SystemConfig = "/etc/claude-sandbox/config.toml"

// ProjectFile is the project layer's file name inside the project dir.
const ProjectFile = ".claude-sandbox.toml"

// Location is a layer file the loader looks for.
type Location struct {
	// Kind is the layer kind.
	Kind LayerKind
	// Path is the absolute file path.
	Path string
}

// Locations lists the files of every layer above the built-in one, lowest
// precedence first: the package defaults file, the system files
// (/etc/claude-sandbox/config.toml, then $XDG_CONFIG_DIRS from least to
// most important), the user file and the project file. Duplicates are
// listed once.
func Locations(env Env) []Location {
	var out []Location
	seen := map[string]bool{}
	add := func(kind LayerKind, p string) {
		if p == "" || !filepath.IsAbs(p) {
			return
		}
		p = filepath.Clean(p)
		if seen[p] {
			return
		}
		seen[p] = true
		out = append(out, Location{Kind: kind, Path: p})
	}
	add(LayerPackage, env.PackageDefaults)
	add(LayerSystem, SystemConfig)
	for i := len(env.ConfigDirs) - 1; i >= 0; i-- {
		if env.ConfigDirs[i] != "" {
			add(LayerSystem, filepath.Join(env.ConfigDirs[i], "claude-sandbox", "config.toml"))
		}
	}
	if env.ConfigHome != "" {
		add(LayerUser, filepath.Join(env.ConfigHome, "claude-sandbox", "config.toml"))
	}
	if env.ProjectDir != "" {
		add(LayerProject, filepath.Join(env.ProjectDir, ProjectFile))
	}
	return out
}

// Builtin decodes the embedded defaults for env. Their parse is done at
// build time (builtinParsed, checked against the file by the tests);
// what depends on env is done here.
func Builtin(env Env) (*Layer, error) {
	var ps problems
	raw, ix := builtinParsed()
	l := decodeParsed(LayerBuiltin, BuiltinName, raw, ix, env, &ps)
	if err := ps.err(); err != nil {
		return nil, err
	}
	return l, nil
}

// Defaults returns the policy of the built-in defaults alone for env, as
// if no other layer existed. Any absolute project dir is accepted.
// Tests of the renderers start from it.
func Defaults(env Env) (*Policy, error) {
	b, err := Builtin(env)
	if err != nil {
		return nil, err
	}
	p, err := Resolve(env, []*Layer{b}, Flags{Force: true})
	if err != nil {
		return nil, err
	}
	p.Force = false
	delete(p.Origins, "force")
	return p, nil
}
