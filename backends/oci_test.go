package backends

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/claude-sandbox/claude-sandbox/profile"
)

// TestOCIChecks names the runtime a launch uses, and fails for one the
// host lacks.
func TestOCIChecks(t *testing.T) {
	rt, err := lookTool("runc")
	if err != nil {
		if rt, err = lookTool("crun"); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatal("runc or crun is required under CI: apt install runc")
			}
			t.Skip("no OCI runtime on this host")
		}
	}
	p := &profile.Policy{OCI: profile.OCISettings{Runtime: filepath.Base(rt)}}
	cs := ociChecks(p)
	found := false
	for _, c := range cs {
		if c.name == "runtime" {
			found = c.level == pass && c.detail == rt
		}
	}
	if !found {
		t.Errorf("runtime %s not reported as usable: %+v", rt, cs)
	}
	if _, err := exec.LookPath("runsc"); err == nil {
		return
	}
	p.OCI.Runtime = "runsc"
	cs = ociChecks(p)
	if last := cs[len(cs)-1]; last.level != fail || !strings.Contains(last.detail, "runsc") || !strings.Contains(last.detail, "install gVisor") {
		t.Errorf("a missing runsc is not a failure: %+v", cs)
	}
}

// TestSubID reads the subordinate range of a user by name or uid.
func TestSubID(t *testing.T) {
	file := filepath.Join(t.TempDir(), "subuid")
	if err := os.WriteFile(file, []byte("alice:100000:65536\n1001:200000:65536\nbob:0:0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		user string
		uid  int
		want int
	}{{"alice", 1000, 100000}, {"carol", 1001, 200000}, {"bob", 1002, 0}, {"dave", 1003, 0}} {
		if got := subID(file, c.user, c.uid); got != c.want {
			t.Errorf("%s (%d): %d, want %d", c.user, c.uid, got, c.want)
		}
	}
}
