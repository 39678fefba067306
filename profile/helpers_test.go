package profile

import (
	"strings"
	"testing"
)

var testEnv = Env{Home: "/home/u", ProjectDir: "/home/u/src/app"}

// mustLayer decodes src or fails the test.
func mustLayer(t testing.TB, kind LayerKind, src string) *Layer {
	t.Helper()
	l, err := Decode(kind, string(kind)+".toml", []byte(src), testEnv)
	if err != nil {
		t.Fatalf("decoding %s layer: %v", kind, err)
	}
	return l
}

// resolveLayers resolves builtin defaults plus the given layers.
func resolveLayers(t testing.TB, flags Flags, layers ...*Layer) *Policy {
	t.Helper()
	b, err := Builtin(testEnv)
	if err != nil {
		t.Fatal(err)
	}
	p, err := Resolve(testEnv, append([]*Layer{b}, layers...), flags)
	if err != nil {
		t.Fatalf("resolve: %v", err)
	}
	return p
}

// problemsOf decodes src as a project file and returns its problem lines.
func problemsOf(src string) []string {
	_, err := Decode(LayerProject, "p.toml", []byte(src), testEnv)
	if err == nil {
		return nil
	}
	return strings.Split(err.Error(), "\n")
}

// wantProblems checks that src, decoded as a project file, has exactly the
// problems of want, in order, each line starting with its entry.
func wantProblems(t *testing.T, src string, want []string) {
	t.Helper()
	got := problemsOf(src)
	if len(got) != len(want) {
		t.Fatalf("got %d problems %q, want %d", len(got), got, len(want))
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("problem %d = %q, want prefix %q", i, got[i], want[i])
		}
	}
}
