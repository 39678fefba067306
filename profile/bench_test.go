package profile

import (
	"os"
	"testing"
)

// realisticLayers reads the layer tree under the top-level testdata: a
// package defaults file, a system file, a user file with profiles and a
// project file.
func realisticLayers(tb testing.TB) (Env, [][]byte) {
	tb.Helper()
	env := Env{
		Home:            "/home/u",
		ProjectDir:      "/home/u/src/app",
		ConfigHome:      "/home/u/.config",
		ConfigDirs:      []string{"/etc/xdg"},
		PackageDefaults: "/usr/share/claude-sandbox/defaults.toml",
	}
	var files [][]byte
	for _, p := range []string{
		"../testdata/layers/package/defaults.toml",
		"../testdata/layers/etc-xdg/claude-sandbox/config.toml",
		"../testdata/layers/home/.config/claude-sandbox/config.toml",
		"../testdata/layers/home/src/app/.claude-sandbox.toml",
	} {
		data, err := os.ReadFile(p)
		if err != nil {
			tb.Fatal(err)
		}
		files = append(files, data)
	}
	return env, files
}

var realisticKinds = []LayerKind{LayerPackage, LayerSystem, LayerUser, LayerProject}

func resolveRealistic(env Env, files [][]byte) (*Policy, []Widening, error) {
	b, err := Builtin(env)
	if err != nil {
		return nil, nil, err
	}
	layers := []*Layer{b}
	for i, data := range files {
		l, err := Decode(realisticKinds[i], string(realisticKinds[i]), data, env)
		if err != nil {
			return nil, nil, err
		}
		layers = append(layers, l)
	}
	return Assess(env, layers, Flags{})
}

func TestRealisticLayers(t *testing.T) {
	env, files := realisticLayers(t)
	p, w, err := resolveRealistic(env, files)
	if err != nil {
		t.Fatal(err)
	}
	if len(w) != 0 {
		t.Errorf("the realistic project file only narrows, got widenings %v", w)
	}
	if p.Profile != "dev" || p.Network.Mode != NetworkAllowlist || p.Forward.Display || !p.Forward.SSHAgent || p.VM.CPUs != 2 || p.VM.MemoryMiB != 8192 {
		t.Errorf("policy = %+v", p)
	}
	allow := map[string]bool{}
	for _, d := range append(builtinAllow(t), p.Network.Allow...) {
		allow[d] = true
	}
	if len(p.Network.Deny) != 3 || len(p.Network.Allow) != len(allow) || !allow["registry.npmjs.org"] || !allow["*.github.com"] {
		t.Errorf("egress = %+v", p.Network)
	}
}

// BenchmarkResolve decodes and resolves the realistic layer tree (all
// layers present, several profiles), including the trust comparison, as
// the launcher does on every run.
func BenchmarkResolve(b *testing.B) {
	env, files := realisticLayers(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := resolveRealistic(env, files); err != nil {
			b.Fatal(err)
		}
	}
}
