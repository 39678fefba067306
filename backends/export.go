package backends

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/claude-sandbox/claude-sandbox/profile"
	"github.com/claude-sandbox/claude-sandbox/render"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// ExportOCI writes policy p as an OCI runtime bundle into dir, which must
// not exist or be empty: config.json (0600: it holds the environment),
// the read-only root with its generated /etc files, and the bundle's home
// and runtime directories. The bundle binds this host's paths; it runs
// here with `runc run --bundle DIR ID` (or crun). It returns the notes of
// the rendering.
func ExportOCI(p *profile.Policy, dir string) ([]string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	if entries, err := os.ReadDir(abs); err == nil && len(entries) > 0 {
		return nil, fmt.Errorf("export: %s is not empty", abs)
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("export: %w", err)
	}
	h, err := Probe(p)
	if err != nil {
		return nil, err
	}
	// A bundle runs without the launcher: no namespace of its own around
	// the runtime (the container's root maps to the user for runc), and
	// no placeholders for missing protected paths (their mounts go).
	h.SubUID, h.SubGID = 0, 0
	b, err := render.OCISpec(p, h, abs, profile.OCI)
	if err != nil {
		return nil, err
	}
	missing := map[string]bool{}
	for _, ph := range b.Shares.Placeholders {
		missing[ph.Path] = true
	}
	kept := b.Spec.Mounts[:0]
	for _, m := range b.Spec.Mounts {
		if missing[m.Source] {
			b.Notes = append(b.Notes, "export: "+m.Source+" is missing; create it and bind it read-only before trusting the bundle with a project that may gain it")
			continue
		}
		kept = append(kept, m)
	}
	b.Spec.Mounts = kept
	switch {
	case len(b.Net.Attach) > 0:
		// The launcher would connect the namespace; the bundle alone
		// gets one without connectivity rather than the host's.
		b.Spec.Linux.Namespaces = append(b.Spec.Linux.Namespaces, specs.LinuxNamespace{Type: specs.NetworkNamespace})
		b.Notes = append(b.Notes, "export: network \"full\" needs a connected namespace the launcher makes; the bundle has a new one holding only lo (attach slirp4netns to the container to connect it)")
	case b.Net.JoinPrefix:
		// The launcher's netns helper and proxy would make the
		// namespace and serve it; the bundle alone gets one holding
		// only lo rather than the host's.
		b.Spec.Linux.Namespaces = append(b.Spec.Linux.Namespaces, specs.LinuxNamespace{Type: specs.NetworkNamespace})
		b.Notes = append(b.Notes, "export: network \"allowlist\" needs the launcher's proxy and network namespace; the bundle has a new namespace holding only lo")
	}
	// The directories a launch creates (~/.claude, the persistent ones)
	// are bound; create them as a launch would.
	if err := materializeDirs(&render.Plan{HostDirs: render.HostDirs(p, h)}, h); err != nil {
		return nil, err
	}
	config, err := json.MarshalIndent(b.Spec, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	for _, d := range b.Dirs {
		if err := os.MkdirAll(filepath.Join(abs, d.Path), os.FileMode(d.Mode)); err != nil {
			return nil, fmt.Errorf("export: %w", err)
		}
	}
	for _, f := range b.Files {
		path := filepath.Join(abs, f.Path)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return nil, fmt.Errorf("export: %w", err)
		}
		if err := os.WriteFile(path, f.Content, os.FileMode(f.Mode)); err != nil {
			return nil, fmt.Errorf("export: %w", err)
		}
	}
	for _, l := range b.Symlinks {
		path := filepath.Join(abs, l.Path)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return nil, fmt.Errorf("export: %w", err)
		}
		if err := os.Symlink(l.Target, path); err != nil {
			return nil, fmt.Errorf("export: %w", err)
		}
	}
	if err := os.WriteFile(filepath.Join(abs, render.OCIConfig), append(config, '\n'), 0o600); err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	return b.Notes, nil
}

// ExportK8s renders policy p as a Kubernetes Pod manifest.
func ExportK8s(p *profile.Policy, o render.K8sOptions) ([]byte, error) {
	h, err := Probe(p)
	if err != nil {
		return nil, err
	}
	pod, err := render.K8sPod(p, h, o)
	if err != nil {
		return nil, err
	}
	return render.K8sManifest(pod, render.K8sNetworkPolicy(p, pod))
}
