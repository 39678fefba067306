// Package nix_test checks the Nix packaging from Go: every Nix file
// parses, the vendor hash matches the Go modules, and every setting the
// Nix code writes is a key the launcher knows.
package nix_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"

	"github.com/claude-sandbox/claude-sandbox/profile"
)

func requireNix(t *testing.T, tool string) string {
	t.Helper()
	p, err := exec.LookPath(tool)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is required under CI: apt install nix-bin", tool)
		}
		t.Skipf("%s is missing; install it to run this test: apt install nix-bin", tool)
	}
	return p
}

func nixFiles(t *testing.T) []string {
	files, _ := filepath.Glob("*.nix")
	files = append(files, "../flake.nix")
	if len(files) < 5 {
		t.Fatalf("found only %v", files)
	}
	return files
}

func TestNixFilesParse(t *testing.T) {
	bin := requireNix(t, "nix-instantiate")
	for _, f := range nixFiles(t) {
		if out, err := exec.Command(bin, "--parse", f).CombinedOutput(); err != nil {
			t.Errorf("%s does not parse: %v\n%s", f, err, out)
		}
	}
}

func TestVendorHash(t *testing.T) {
	nix := requireNix(t, "nix")
	dir := t.TempDir()
	vendor := filepath.Join(dir, "vendor")
	cmd := exec.Command("go", "mod", "vendor", "-o", vendor)
	cmd.Dir = ".."
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go mod vendor: %v\n%s", err, out)
	}
	out, err := exec.Command(nix, "--extra-experimental-features", "nix-command", "hash", "path", vendor).Output()
	if err != nil {
		t.Fatalf("nix hash path: %v", err)
	}
	want := strings.TrimSpace(string(out))
	data, err := os.ReadFile("vendor-hash.nix")
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Trim(strings.TrimSpace(string(data)), `"`)
	if got != want {
		t.Fatalf("nix/vendor-hash.nix holds %s, but the Go modules hash to %s: update it", got, want)
	}
}

// evalJSON evaluates a Nix expression that needs no nixpkgs.
func evalJSON(t *testing.T, expr string) any {
	t.Helper()
	bin := requireNix(t, "nix-instantiate")
	out, err := exec.Command(bin, "--eval", "--strict", "--json", "-E", expr).Output()
	if err != nil {
		t.Fatalf("evaluating %s: %v", expr, err)
	}
	var v any
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// checkSettings renders settings as TOML and validates them with the
// launcher's own schema, as the layer they become.
func checkSettings(t *testing.T, name string, kind profile.LayerKind, settings any) {
	t.Helper()
	var b strings.Builder
	if err := toml.NewEncoder(&b).Encode(settings); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if err := profile.CheckFileAs(kind, name, []byte(b.String())); err != nil {
		t.Errorf("%s sets keys or values the launcher refuses:\n%v\n%s", name, err, b.String())
	}
}

func TestSettingsMatchTheSchema(t *testing.T) {
	dir, _ := filepath.Abs(".")
	presets := evalJSON(t, "import "+filepath.Join(dir, "presets.nix")).(map[string]any)
	if len(presets) < 3 {
		t.Fatalf("presets: %v", presets)
	}
	for name, s := range presets {
		checkSettings(t, "presets.nix:"+name, profile.LayerPackage, s)
	}
	checkSettings(t, "module-defaults.nix", profile.LayerSystem, evalJSON(t, "import "+filepath.Join(dir, "module-defaults.nix")))
	checkSettings(t, "package-defaults.nix", profile.LayerPackage,
		evalJSON(t, "import "+filepath.Join(dir, "package-defaults.nix")+` { kernelImage = "/nix/store/k-linux/bzImage"; containerRoot = "/nix/store/s-nixos-system"; }`))
	// A key the launcher does not know must be caught.
	var b strings.Builder
	toml.NewEncoder(&b).Encode(map[string]any{"netwrok": "off"})
	if profile.CheckFileAs(profile.LayerSystem, "bad", []byte(b.String())) == nil {
		t.Fatal("an unknown key passed the check")
	}
}
