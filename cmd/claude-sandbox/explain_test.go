package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/claude-sandbox/claude-sandbox/profile"
	"github.com/claude-sandbox/claude-sandbox/render"
)

// copyTree copies the directory src into dst.
func copyTree(t testing.TB, src, dst string) {
	t.Helper()
	err := filepath.Walk(src, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if info.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// realisticSession resolves the top-level testdata layer tree, copied to
// a temporary dir, as the user it describes.
func realisticSession(t *testing.T, flags profile.Flags) (*session, string) {
	t.Helper()
	env, project := realisticEnv(t)
	sess, err := resolveSessionEnv(env, project, flags)
	if err != nil {
		t.Fatal(err)
	}
	return sess, filepath.Dir(env.Home)
}

// realisticEnv copies the layer tree to a temporary dir and returns the
// user it describes and the project dir.
func realisticEnv(t testing.TB) (userEnv, string) {
	t.Helper()
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	copyTree(t, "../../testdata/layers", dir)
	home := filepath.Join(dir, "home")
	env := userEnv{
		Env: profile.Env{
			Home:            home,
			ConfigHome:      filepath.Join(home, ".config"),
			ConfigDirs:      []string{filepath.Join(dir, "etc-xdg")},
			PackageDefaults: filepath.Join(dir, "package", "defaults.toml"),
			DataHome:        filepath.Join(home, ".local", "share"),
		},
	}
	return env, filepath.Join(home, "src", "app")
}

// fixedPlan stands for a backend's renderer so the golden output does not
// depend on the machine.
func fixedPlan(p *profile.Policy) (*render.Plan, error) {
	return &render.Plan{
		Argv:      []string{"/usr/bin/bwrap", "--chdir", p.ProjectDir, "--", p.Command[0], "it's"},
		Env:       []string{"HOME=" + p.Home, "ANTHROPIC_API_KEY=sk-secret"},
		Notes:     []string{"example note"},
		Protected: []render.Protection{{Path: p.ProjectDir + "/.git/hooks", Key: "protect..git/hooks", Holds: "read-only bind"}},
		Limits: render.Limits(p, &render.Host{UID: 1000, Cgroup: "v2", CgroupDelegated: true,
			CgroupControllers: []string{render.CgroupPids, render.CgroupMemory}}, p.Backend),
	}, nil
}

func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the output (run go test -update after checking the change):\n%s", path, got)
	}
}

func TestExplainGolden(t *testing.T) {
	sess, dir := realisticSession(t, profile.Flags{})
	doc := explain(sess, fixedPlan, false)
	var text bytes.Buffer
	writeExplanation(&text, doc)
	checkGolden(t, "explain.golden", []byte(strings.ReplaceAll(text.String(), dir, "$TREE")))

	var js bytes.Buffer
	enc := json.NewEncoder(&js)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(doc); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(js.String(), "sk-secret") || strings.Contains(text.String(), "sk-secret") {
		t.Fatal("explain prints an environment value")
	}
	checkGolden(t, "explain.json.golden", []byte(strings.ReplaceAll(js.String(), dir, "$TREE")))

	// The JSON document decodes back to the same value.
	var back explanation
	if err := json.Unmarshal(js.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if back.Version != 1 || back.ProjectDir != doc.ProjectDir || len(back.Settings) != len(doc.Settings) {
		t.Errorf("round trip lost data: %+v", back)
	}
}

func TestExplainUnavailablePlan(t *testing.T) {
	sess, _ := realisticSession(t, profile.Flags{Backend: profile.VM})
	doc := explain(sess, func(*profile.Policy) (*render.Plan, error) { return nil, os.ErrNotExist }, false)
	var text bytes.Buffer
	writeExplanation(&text, doc)
	if !strings.Contains(text.String(), "backend: vm\ncommand: unavailable: file does not exist\n") {
		t.Errorf("explain output lacks the unavailable command:\n%s", text.String())
	}
	if doc.Plan.Error == "" {
		t.Error("plan.error not set")
	}
}

func TestDryRunPrintsNamesNotValues(t *testing.T) {
	sess, _ := realisticSession(t, profile.Flags{})
	var out bytes.Buffer
	if err := dryRun(&out, sess.policy, fixedPlan); err != nil {
		t.Fatal(err)
	}
	want := "# environment (values redacted): ANTHROPIC_API_KEY HOME\n/usr/bin/bwrap --chdir " + sess.policy.ProjectDir + " -- claude 'it'\\''s'\n"
	if out.String() != want {
		t.Errorf("dry run printed\n%s\nwant\n%s", out.String(), want)
	}
	if strings.Contains(out.String(), "sk-secret") {
		t.Error("dry run printed an environment value")
	}
}

func TestExplainAllBackends(t *testing.T) {
	sess, _ := realisticSession(t, profile.Flags{})
	var seen []profile.Backend
	doc := explain(sess, func(p *profile.Policy) (*render.Plan, error) {
		seen = append(seen, p.Backend)
		return fixedPlan(p)
	}, true)
	if len(seen) != 4 || seen[0] != profile.Bubblewrap || len(doc.Others) != 3 || doc.Others[0].Backend != "container" || doc.Others[1].Backend != "vm" || doc.Others[2].Backend != "oci" {
		t.Errorf("rendered %v, others %+v", seen, doc.Others)
	}
	if sess.policy.Backend != profile.Bubblewrap {
		t.Error("rendering the other backends changed the policy")
	}
}

// TestExplainShowsDBusProxy prints the proxy a plan starts beside the
// sandbox, in text and JSON.
func TestExplainShowsDBusProxy(t *testing.T) {
	sess, _ := realisticSession(t, profile.Flags{})
	withProxy := func(p *profile.Policy) (*render.Plan, error) {
		pl, _ := fixedPlan(p)
		pl.DBusProxy = &render.DBusProxy{Argv: []string{"/usr/bin/xdg-dbus-proxy", "unix:path=/run/user/1000/bus", "/run/x/dbus/bus", "--filter", "--talk=org.freedesktop.Notifications"}}
		return pl, nil
	}
	doc := explain(sess, withProxy, false)
	var b strings.Builder
	writeExplanation(&b, doc)
	want := "dbus proxy: /usr/bin/xdg-dbus-proxy unix:path=/run/user/1000/bus /run/x/dbus/bus --filter --talk=org.freedesktop.Notifications\n"
	if !strings.Contains(b.String(), want) {
		t.Errorf("explain does not show the proxy line %q:\n%s", want, b.String())
	}
	data, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), `"dbus_proxy":["/usr/bin/xdg-dbus-proxy",`) {
		t.Errorf("explain --json has no dbus_proxy: %s", data)
	}
}
