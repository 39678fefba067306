package limits

import (
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/claude-sandbox/claude-sandbox/render"
)

// limitsAfterSetOn starts a shell that waits for a line on its standard
// input before it prints its open-files limits (soft and hard), sets rl
// on it meanwhile and returns what it printed.
func limitsAfterSetOn(t *testing.T, rl []render.Rlimit) (string, error) {
	t.Helper()
	cmd := exec.Command("/bin/sh", "-c", "read go; ulimit -Sn; ulimit -Hn")
	cmd.Env = []string{"PATH=/usr/bin:/bin"}
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	cmd.Stdout = &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	setErr := SetOn(cmd.Process.Pid, rl)
	in.Write([]byte("go\n"))
	in.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	return out.String(), setErr
}

// TestSetOnLowersBothLimits sets a limit on a waiting child and checks
// that the child sees it, soft and hard.
func TestSetOnLowersBothLimits(t *testing.T) {
	got, err := limitsAfterSetOn(t, []render.Rlimit{{Name: "NOFILE", Value: 512}})
	if err != nil {
		t.Fatal(err)
	}
	if got != "512\n512\n" {
		t.Errorf("soft and hard RLIMIT_NOFILE after SetOn: %q, want 512 and 512", got)
	}
}

// TestSetOnKeepsALowerLimit asks for more than the child's hard limit:
// the hard limit stays and becomes the soft one too.
func TestSetOnKeepsALowerLimit(t *testing.T) {
	var own syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &own); err != nil {
		t.Fatal(err)
	}
	got, err := limitsAfterSetOn(t, []render.Rlimit{{Name: "NOFILE", Value: own.Max + 1}})
	if err != nil {
		t.Fatal(err)
	}
	hard := strconv.FormatUint(own.Max, 10)
	if own.Max == ^uint64(0) {
		hard = "unlimited"
	}
	if want := hard + "\n" + hard + "\n"; got != want {
		t.Errorf("RLIMIT_NOFILE after asking for more than the hard limit: %q, want %q", got, want)
	}
}

// TestSetOnRefusesAnUnknownLimit names a resource the launcher does not
// set.
func TestSetOnRefusesAnUnknownLimit(t *testing.T) {
	if _, err := limitsAfterSetOn(t, []render.Rlimit{{Name: "CORE", Value: 0}}); err == nil || !strings.Contains(err.Error(), "unknown rlimit CORE") {
		t.Errorf("SetOn with an unknown limit: %v, want an error naming it", err)
	}
}
