package backends

import (
	"bytes"
	"strings"
	"testing"

	"github.com/claude-sandbox/claude-sandbox/profile"
)

// TestDoctorJudgesTheDefaultLaunch fails when the launch's command is
// missing, and calls KVM that is not usable a problem.
func TestDoctorJudgesTheDefaultLaunch(t *testing.T) {
	p := &profile.Policy{Backend: profile.Bubblewrap, Command: []string{"claude-sandbox-no-such-agent"}}
	p.Network.Mode = profile.NetworkOff
	var out bytes.Buffer
	if Doctor(&out, p) {
		t.Errorf("doctor reports a launch without its command as ready:\n%s", out.String())
	}
	for _, want := range []string{"agent command: not available", "FAIL claude-sandbox-no-such-agent: not found on PATH", "default launch (backend bubblewrap, network off, command claude-sandbox-no-such-agent): cannot run"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
	if !kvmUsable() && !strings.Contains(out.String(), "WARN kvm: not usable") {
		t.Errorf("unusable KVM not reported as a problem:\n%s", out.String())
	}
}

// TestDoctorChecksTheNetworkHelper asks the backend's network plan: with
// no helper on PATH, network "full" cannot run.
func TestDoctorChecksTheNetworkHelper(t *testing.T) {
	dir := t.TempDir()
	writeExe(t, dir+"/bwrap")
	t.Setenv("PATH", dir)
	p := &profile.Policy{Backend: profile.Bubblewrap, Command: []string{"sh"}}
	p.Network.Mode = profile.NetworkFull
	var out bytes.Buffer
	if Doctor(&out, p) {
		t.Errorf("ready without bwrap or a network helper:\n%s", out.String())
	}
	if !strings.Contains(out.String(), `FAIL network (network = "full")`) {
		t.Errorf("no network helper failure:\n%s", out.String())
	}
}

// TestInitCheck accepts a dynamically linked launcher, whose loader and
// libraries the initramfs carries, and refuses one whose library is
// missing.
func TestInitCheck(t *testing.T) {
	if c := initCheck("/bin/sh"); c.level != pass || !strings.Contains(c.detail, "dynamically linked") {
		t.Errorf("/bin/sh (dynamic) judged %v: %s", c.level, c.detail)
	}
	if c := initCheck("/nonexistent"); c.level != fail {
		t.Errorf("a missing launcher judged %v: %s", c.level, c.detail)
	}
}
