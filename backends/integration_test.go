package backends_test

import (
	"flag"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	bt "github.com/claude-sandbox/claude-sandbox/backends/backendtest"
)

// claude is this test process's installation of Claude Code.
var claude = newClaudeInstall()

func TestMain(m *testing.M) {
	flag.Parse()
	// The Claude Code tests run last (in parallel); when they are
	// selected, the download starts now and overlaps the other tests.
	if run := flag.Lookup("test.run").Value.String(); run == "" || strings.Contains(run, "Claude") {
		if _, err := exec.LookPath("npm"); err == nil {
			claude.start()
		}
	}
	code := m.Run()
	bt.Cleanup()
	claude.remove()
	os.Exit(code)
}

// hostEnv are variables of the launching environment: one the policy
// passes by default, and secrets it must not.
var hostEnv = []string{"ANTHROPIC_API_KEY=sk-test-value", "AWS_SECRET_ACCESS_KEY=hunter2", "SSH_AUTH_SOCK=/tmp/agent.sock", "DBUS_SESSION_BUS_ADDRESS=unix:path=/tmp/bus"}

// users are the users a backend is tested as: root (when the tests run as
// root) and an unprivileged user.
func users(t *testing.T) map[string]bt.User {
	out := map[string]bt.User{"user": bt.TestUser(t)}
	if os.Getuid() == 0 {
		out["root"] = bt.User{Name: "root", UID: 0, GID: 0, Home: "/root"}
	}
	return out
}

func TestBubblewrapPromises(t *testing.T) {
	bt.RequireTool(t, "bwrap", "apt install bubblewrap")
	checkPromisesAsUsers(t, "bubblewrap")
}

// checkPromisesAsUsers runs the standard promise probes in backend as
// every user of users, checks them, checks that the sandbox sees only its
// own processes and cannot create user namespaces, and that the run left
// no run directory behind.
func checkPromisesAsUsers(t *testing.T, backend string) {
	for name, u := range users(t) {
		t.Run(name, func(t *testing.T) {
			f := bt.NewFixture(t, u)
			h := bt.StartHost(t)
			res := f.Run(t, f.Env(hostEnv...), "--backend="+backend, "--no-network", "--shell", f.Project, "--",
				"-c", f.ShellCommand(f.ProbeArgs(h), 42))
			if res.Status != 42 {
				t.Fatalf("status %d, want 42\nstdout: %s\nstderr: %s", res.Status, res.Stdout, res.Stderr)
			}
			r := bt.ParseReport(t, res.Stdout)
			bt.CheckPromises(t, f, h, r)
			if r.Processes > 4 {
				t.Errorf("%d processes visible, want only the sandbox's own", r.Processes)
			}
			if r.UserNamespace {
				t.Errorf("the sandbox can create user namespaces")
			}
			f.AssertNoRunDirs(t)
		})
	}
}

func TestBubblewrapHostNetwork(t *testing.T) {
	bt.RequireTool(t, "bwrap", "apt install bubblewrap")
	f := bt.NewFixture(t, bt.TestUser(t))
	h := bt.StartHost(t)
	res := f.Run(t, f.Env(), "--backend=bubblewrap", "--network=host", "--shell", f.Project, "--",
		"-c", f.ShellCommand([]string{"-connect", h.Listener}, 0))
	if res.Status != 0 {
		t.Fatalf("status %d\n%s", res.Status, res.Stderr)
	}
	if r := bt.ParseReport(t, res.Stdout); !r.Connect[h.Listener] {
		t.Errorf("network host: the host listener is unreachable")
	}
}

func TestBubblewrapExitStatuses(t *testing.T) {
	bt.RequireTool(t, "bwrap", "apt install bubblewrap")
	f := bt.NewFixture(t, bt.TestUser(t))
	for _, want := range []int{0, 1, 42} {
		res := f.Run(t, f.Env(), "--backend=bubblewrap", "--no-network", "--shell", f.Project, "--", "-c", "exit "+itoa(want))
		if res.Status != want {
			t.Errorf("command exited %d, launcher %d (%s)", want, res.Status, res.Stderr)
		}
	}
	f.AssertNoRunDirs(t)
}

func TestBubblewrapDryRunRedactsValues(t *testing.T) {
	bt.RequireTool(t, "bwrap", "apt install bubblewrap")
	f := bt.NewFixture(t, bt.TestUser(t))
	res := f.Run(t, f.Env(hostEnv...), "--backend=bubblewrap", "--dry-run", "--shell", f.Project)
	if res.Status != 0 {
		t.Fatalf("dry run: %d %s", res.Status, res.Stderr)
	}
	if !strings.Contains(res.Stdout, "ANTHROPIC_API_KEY") || !strings.Contains(res.Stdout, "bwrap") {
		t.Fatalf("--dry-run does not show the passed variable's name and the command:\n%s", res.Stdout)
	}
	if strings.Contains(res.Stdout+res.Stderr, "sk-test-value") {
		t.Fatalf("--dry-run printed a secret value:\n%s", res.Stdout)
	}
}

func TestClaudeConfigPersistsThroughRename(t *testing.T) {
	bt.RequireTool(t, "bwrap", "apt install bubblewrap")
	f := bt.NewFixture(t, bt.TestUser(t))
	// Write the way Claude Code does: a temporary file beside the target,
	// renamed over it, through ~/.claude.json.
	script := `set -e
target=$(readlink -f ~/.claude.json)
printf '{"numStartups": 2, "theme": "dark"}\n' > "$target.tmp"
mv "$target.tmp" "$target"
cat ~/.claude.json`
	res := f.Run(t, f.Env(), "--backend=bubblewrap", "--no-network", "--shell", f.Project, "--", "-c", script)
	if res.Status != 0 {
		t.Fatalf("status %d: %s", res.Status, res.Stderr)
	}
	data, err := os.ReadFile(f.Home + "/.claude/.claude.json")
	if err != nil || !strings.Contains(string(data), `"theme": "dark"`) {
		t.Fatalf("the change made inside did not persist on the host: %q %v", data, err)
	}
	orig, _ := os.ReadFile(f.Home + "/.claude.json")
	if string(orig) != "{\"numStartups\": 1}\n" {
		t.Errorf("the host's ~/.claude.json was modified: %q", orig)
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

// TestBubblewrapThroughSudo launches as root on behalf of a user (sudo):
// bwrap must run as that user and keep every promise for them.
func TestBubblewrapThroughSudo(t *testing.T) {
	bt.RequireTool(t, "bwrap", "apt install bubblewrap")
	checkPromisesThroughSudo(t, "bubblewrap")
}

// checkPromisesThroughSudo runs the standard promise probes in backend,
// launched as root through sudo on behalf of the test user, and checks
// them.
func checkPromisesThroughSudo(t *testing.T, backend string) {
	bt.RequireRoot(t)
	f := bt.NewSudoFixture(t, bt.TestUser(t))
	h := bt.StartHost(t)
	res := f.RunAsRoot(t, f.SudoEnv(hostEnv...), "--backend="+backend, "--no-network", "--shell", f.Project, "--",
		"-c", f.ShellCommand(f.ProbeArgs(h), 0))
	if res.Status != 0 {
		t.Fatalf("status %d\nstdout: %s\nstderr: %s", res.Status, res.Stdout, res.Stderr)
	}
	bt.CheckPromises(t, f, h, bt.ParseReport(t, res.Stdout))
}
