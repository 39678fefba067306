package backendtest

import (
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// Host resources a promise test sets up on the host side: a TCP listener
// on loopback and a process with a recognisable command line.
type Host struct {
	Listener string
	Marker   string
}

// AcceptAndClose accepts every connection to l and closes it at once,
// until the test ends and closes l.
func AcceptAndClose(t testing.TB, l net.Listener) {
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
}

// StartHost opens a loopback listener and starts a marked process, both
// stopped when the test ends.
func StartHost(t testing.TB) Host {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	AcceptAndClose(t, l)
	marker := Marker("csbx-marker")
	cmd := exec.Command("bash", "-c", "exec -a "+marker+" sleep 600")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return Host{Listener: l.Addr().String(), Marker: marker}
}

// ProbeArgs are the probe's arguments for the standard promise checks.
func (f *Fixture) ProbeArgs(h Host, extra ...string) []string {
	home := f.Home
	args := []string{
		"-path", f.Project, "-path", f.Secret, "-path", filepath.Join(home, ".ssh"),
		"-path", filepath.Join(home, ".ssh/id_test"), "-path", filepath.Join(home, ".gitconfig"),
		"-path", filepath.Join(home, ".claude"), "-path", filepath.Join(f.Project, ".git/hooks"),
		"-path", filepath.Join(f.Project, ".git/config"), "-path", home,
		"-write", filepath.Join(f.Project, "written-inside.txt"),
		"-write", filepath.Join(home, ".claude/written-inside.json"),
		"-connect", h.Listener, "-findproc", reverse(h.Marker),
	}
	return append(args, extra...)
}

// ShellCommand is a --shell command line running the probe with args and
// exiting with status.
func (f *Fixture) ShellCommand(args []string, status int) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return fmt.Sprintf("%s %s -exit %d", f.Probe, strings.Join(q, " "), status)
}

// CheckPromises asserts what every backend promises for the built-in
// policy with the network off: the user's ids, the project writable with
// files owned by the user on the host, the home's secret hidden, ~/.ssh
// and git configuration read-only, .git/hooks and .git/config read-only,
// ~/.claude writable and persistent, only lo, the host listener and
// processes unreachable, and no host variable beyond those granted.
func CheckPromises(t *testing.T, f *Fixture, h Host, r Report) {
	t.Helper()
	u := f.User
	if r.UID != u.UID || r.EUID != u.UID || r.GID != u.GID {
		t.Errorf("ids inside: uid %d euid %d gid %d, want %d/%d", r.UID, r.EUID, r.GID, u.UID, u.GID)
	}
	if r.Cwd != f.Project {
		t.Errorf("working directory %s, want the project %s", r.Cwd, f.Project)
	}
	if r.Hostname != "claude-sandbox" {
		t.Errorf("hostname %q", r.Hostname)
	}
	want := map[string]struct{ exists, writable bool }{
		f.Project:                               {true, true},
		f.Secret:                                {false, false},
		filepath.Join(f.Home, ".ssh"):           {true, false},
		filepath.Join(f.Home, ".ssh/id_test"):   {true, false},
		filepath.Join(f.Home, ".gitconfig"):     {true, false},
		filepath.Join(f.Home, ".claude"):        {true, true},
		filepath.Join(f.Project, ".git/hooks"):  {true, false},
		filepath.Join(f.Project, ".git/config"): {true, false},
	}
	for p, w := range want {
		got := r.Paths[p]
		if got.Exists != w.exists || got.Writable != w.writable {
			t.Errorf("%s inside: exists=%v writable=%v, want exists=%v writable=%v", p, got.Exists, got.Writable, w.exists, w.writable)
		}
		if w.exists && !got.Readable {
			t.Errorf("%s is not readable inside", p)
		}
	}
	for p, res := range r.Written {
		if res != "ok" {
			t.Errorf("writing %s inside: %s", p, res)
			continue
		}
		var st syscall.Stat_t
		if err := syscall.Stat(p, &st); err != nil {
			t.Errorf("%s written inside is not on the host: %v", p, err)
			continue
		}
		if int(st.Uid) != u.UID {
			t.Errorf("%s written inside is owned by uid %d on the host, want %d", p, st.Uid, u.UID)
		}
	}
	if len(r.Interfaces) != 1 || r.Interfaces[0] != "lo" {
		t.Errorf("network off, but interfaces inside: %v", r.Interfaces)
	}
	if r.Connect[h.Listener] {
		t.Errorf("the host's loopback listener %s is reachable with the network off", h.Listener)
	}
	if r.FoundProcess {
		t.Errorf("a host process is visible inside")
	}
	for _, name := range r.Env {
		if name == "AWS_SECRET_ACCESS_KEY" || name == "SSH_AUTH_SOCK" || name == "DBUS_SESSION_BUS_ADDRESS" {
			t.Errorf("host variable %s leaked into the sandbox", name)
		}
	}
	if !Has(r.Env, "ANTHROPIC_API_KEY") {
		t.Errorf("ANTHROPIC_API_KEY (passed by default) is missing inside: %v", r.Env)
	}
	if !Has(r.Env, "CLAUDE_SANDBOX") {
		t.Errorf("CLAUDE_SANDBOX is missing inside")
	}
}

func reverse(s string) string {
	r := []rune(s)
	for i, j := 0, len(r)-1; i < j; i, j = i+1, j-1 {
		r[i], r[j] = r[j], r[i]
	}
	return string(r)
}
