package limits

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/claude-sandbox/claude-sandbox/render"
)

// TestMain lets this test binary serve as the rlimit helper, as the
// launcher's main does.
func TestMain(m *testing.M) {
	if filepath.Base(os.Args[0]) == HelperName {
		os.Exit(HelperMain(os.Args))
	}
	os.Exit(m.Run())
}

// TestHelperKeepsEnvironment runs programs through the helper and checks
// that they get exactly the environment they were given (the launcher's
// own when none is given) and the limit, soft and hard.
func TestHelperKeepsEnvironment(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	envProg, err := exec.LookPath("env")
	if err != nil {
		t.Fatal(err)
	}
	for _, env := range [][]string{
		{"A=1", "PATH=/usr/bin:/bin"},
		{"A=1", "TZ=Europe/Paris"},
		nil, // the launcher's own
	} {
		cmd := exec.Command(envProg)
		cmd.Env = env
		WrapCmd(cmd, self, []render.Rlimit{{Name: "NOFILE", Value: 512}})
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("env %q: %v", env, err)
		}
		want := env
		if want == nil {
			want = os.Environ()
		}
		want = slices.Sorted(slices.Values(want))
		got := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("environment %q reached the program as %q", want, got)
		}
	}
	cmd := exec.Command("/bin/sh", "-c", "ulimit -Sn; ulimit -Hn")
	cmd.Env = []string{"PATH=/usr/bin:/bin"}
	WrapCmd(cmd, self, []render.Rlimit{{Name: "NOFILE", Value: 512}})
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	if got := string(out); got != "512\n512\n" {
		t.Errorf("soft and hard RLIMIT_NOFILE under the helper: %q, want 512 and 512", got)
	}
}
