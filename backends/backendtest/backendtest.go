// Package backendtest holds what the integration tests of every backend
// share: tool requirements that fail under CI instead of skipping, an
// unprivileged test user, the launcher and probe binaries, a fixture home
// and project, and the probe's report.
package backendtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/claude-sandbox/claude-sandbox/backends/probereport"
)

// InCI reports whether the tests run under continuous integration, where
// a missing tool is a failure, never a skip.
func InCI() bool { return os.Getenv("CI") == "true" }

// Missing fails the test under CI and skips it elsewhere, saying what to
// install.
func Missing(t testing.TB, what, install string) {
	t.Helper()
	if InCI() {
		t.Fatalf("%s is required under CI: %s", what, install)
	}
	t.Skipf("%s is missing; install it to run this test: %s", what, install)
}

// RequireTool returns the path of a program, or fails/skips.
func RequireTool(t testing.TB, name, install string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		Missing(t, name, install)
	}
	return p
}

// RequireRoot fails under CI (which runs as root) and skips elsewhere
// when the test does not run as root.
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Getuid() != 0 {
		Missing(t, "root", "run the tests as root (sudo go test ...)")
	}
}

// User is the unprivileged user a sandbox is launched for.
type User struct {
	Name     string
	UID, GID int
	Home     string
}

// TestUserName is the account the tests create when they run as root.
const TestUserName = "csbx-tester"

var userOnce sync.Once

// TestUser returns an unprivileged user: as root the dedicated account
// csbx-tester, created with useradd when missing; otherwise the invoking
// user.
func TestUser(t testing.TB) User {
	t.Helper()
	if os.Getuid() != 0 {
		u, err := user.Current()
		if err != nil {
			t.Fatal(err)
		}
		return userFrom(t, u)
	}
	var err error
	userOnce.Do(func() { err = createTestUser() })
	if err != nil {
		t.Fatal(err)
	}
	u, lerr := user.Lookup(TestUserName)
	if lerr != nil {
		t.Fatal(lerr)
	}
	return userFrom(t, u)
}

// createTestUser adds the test account unless it exists. Other test
// processes may add it at the same moment, and useradd fails while
// another holds the lock on /etc/passwd, so it retries until the account
// exists.
func createTestUser() error {
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if _, err := user.Lookup(TestUserName); err == nil {
			return nil
		}
		out, err := exec.Command("useradd", "--create-home", "--shell", "/bin/bash", TestUserName).CombinedOutput()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("useradd %s: %w: %s", TestUserName, err, out)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func userFrom(t testing.TB, u *user.User) User {
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return User{Name: u.Username, UID: uid, GID: gid, Home: u.HomeDir}
}

var (
	buildMu  sync.Mutex
	built    = map[string]string{}
	buildDir string
)

// Binary builds a package of this module (static, CGO_ENABLED=0) once per
// test process into a directory every user can read, and returns its
// path.
func Binary(t testing.TB, pkg string) string {
	t.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	if p, ok := built[pkg]; ok {
		return p
	}
	if buildDir == "" {
		d, err := os.MkdirTemp("", "csbx-bin-")
		if err != nil {
			t.Fatal(err)
		}
		os.Chmod(d, 0o755)
		buildDir = d
	}
	out := filepath.Join(buildDir, filepath.Base(pkg))
	cmd := exec.Command("go", "build", "-o", out, "github.com/claude-sandbox/claude-sandbox/"+pkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building %s: %v\n%s", pkg, err, b)
	}
	os.Chmod(out, 0o755)
	built[pkg] = out
	return out
}

// Cleanup removes the built binaries; call it from TestMain.
func Cleanup() {
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
}

// Launcher is the claude-sandbox binary.
func Launcher(t testing.TB) string { return Binary(t, "cmd/claude-sandbox") }

// Probe is the sandbox-probe binary.
func Probe(t testing.TB) string { return Binary(t, "cmd/sandbox-probe") }

// Fixture is a home directory and project for one test, owned by the user
// the sandbox runs for, holding a secret, SSH keys, git configuration,
// Claude Code's directory and a protected project file.
type Fixture struct {
	User    User
	Home    string
	Project string
	Secret  string
	// Probe is the probe binary's path inside the project.
	Probe string
	// TmpDir is the TMPDIR of the fixture's launches: the launcher keeps
	// its run directories there, apart from those of every other run on
	// the machine.
	TmpDir string
}

// NewFixture creates a fixture for u. The home is a fresh directory, never
// the user's real home; the launcher is pointed at it through HOME (runs
// through sudo take the passwd entry's home instead: see NewSudoFixture).
func NewFixture(t testing.TB, u User) *Fixture {
	t.Helper()
	base, err := os.MkdirTemp("", "csbx-fixture-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(base, 0o755)
	t.Cleanup(func() { os.RemoveAll(base) })
	return newFixture(t, u, base, filepath.Join(base, "home"), filepath.Join(base, "home", "proj"))
}

// NewSudoFixture creates a fixture for launches through sudo, which take
// the home from the passwd database: the tests cannot point them at a
// fresh directory, and the home of a shared account would be shared with
// every other test run on the machine. So the fixture's user is an
// account of its own, created for the test (as root only) and removed,
// with its home, when the test ends; u must be TestUser's account, which
// it stands for.
func NewSudoFixture(t testing.TB, u User) *Fixture {
	t.Helper()
	if u.Name != TestUserName {
		t.Fatalf("a sudo fixture stands for %s; %s may not be used", TestUserName, u.Name)
	}
	own := ownUser(t)
	proj, err := os.MkdirTemp(own.Home, "proj-")
	if err != nil {
		t.Fatal(err)
	}
	return newFixture(t, own, own.Home, own.Home, proj)
}

// ownUser creates an unprivileged account with a home for this test only
// and deletes it when the test ends; it fails the test if a process of
// the account outlives it.
func ownUser(t testing.TB) User {
	t.Helper()
	RequireRoot(t)
	name := Marker("csbx")
	deadline := time.Now().Add(2 * time.Minute)
	for {
		out, err := exec.Command("useradd", "--create-home", "--shell", "/bin/bash", name).CombinedOutput()
		if err == nil {
			break
		}
		// useradd fails while another process holds the lock on /etc/passwd.
		if time.Now().After(deadline) {
			t.Fatalf("useradd %s: %v: %s", name, err, out)
		}
		time.Sleep(100 * time.Millisecond)
	}
	lu, err := user.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	u := userFrom(t, lu)
	t.Cleanup(func() {
		var out []byte
		var err error
		deleted := WaitUntil(time.Minute, func() bool {
			// userdel refuses while a process of the user runs, or while
			// another process holds the lock on /etc/passwd.
			out, err = exec.Command("userdel", name).CombinedOutput()
			return err == nil
		})
		if !deleted {
			t.Errorf("userdel %s (does a process of the test's user survive?): %v: %s", name, err, out)
			return
		}
		if err := removeSameDevice(u.Home); err != nil {
			t.Errorf("removing the home of %s: %v", name, err)
		}
	})
	os.Chmod(u.Home, 0o755)
	return u
}

// SudoEnv is the environment of a launch through sudo by the fixture's user.
func (f *Fixture) SudoEnv(extra ...string) []string {
	env := []string{
		"HOME=/root", "USER=root", "LOGNAME=root",
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"SUDO_USER=" + f.User.Name, "SUDO_UID=" + strconv.Itoa(f.User.UID), "SUDO_GID=" + strconv.Itoa(f.User.GID),
		"TERM=xterm-256color", "LANG=C.UTF-8", "TMPDIR=" + f.TmpDir,
	}
	return append(env, extra...)
}

// RunAsRoot launches the launcher as root (through "sudo", as env says).
func (f *Fixture) RunAsRoot(t testing.TB, env []string, args ...string) Result {
	t.Helper()
	return f.run(t, false, env, args...)
}

func newFixture(t testing.TB, u User, base, home, project string) *Fixture {
	f := &Fixture{User: u, Home: home, Project: project, Secret: filepath.Join(home, "secret.txt")}
	f.TmpDir = newTmpDir(t, u)
	rel, _ := filepath.Rel(home, project)
	files := map[string]string{
		"secret.txt":                   "top secret\n",
		".ssh/id_test":                 "not a real key\n",
		".gitconfig":                   "[user]\n\tname = Tester\n",
		".claude/settings.json":        "{}\n",
		".claude.json":                 "{\"numStartups\": 1}\n",
		rel + "/README":                "project\n",
		rel + "/.git/hooks/pre-commit": "#!/bin/sh\n",
		rel + "/.git/config":           "[core]\n",
	}
	for name, content := range files {
		p := filepath.Join(home, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	probe := Probe(t)
	f.Probe = filepath.Join(f.Project, "probe")
	data, err := os.ReadFile(probe)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(f.Probe, data, 0o755); err != nil {
		t.Fatal(err)
	}
	ChownTree(t, base, u.UID, u.GID)
	os.Chmod(filepath.Join(home, ".ssh"), 0o700)
	return f
}

// ChownTree gives dir and everything in it to uid:gid when the test runs
// as root.
func ChownTree(t testing.TB, dir string, uid, gid int) {
	if os.Getuid() != 0 {
		return
	}
	filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		if err == nil {
			os.Lchown(p, uid, gid)
		}
		return nil
	})
}

// WriteUserConfig writes the fixture user's config.toml (the user layer,
// which is trusted).
func (f *Fixture) WriteUserConfig(t testing.TB, toml string) {
	t.Helper()
	p := filepath.Join(f.Home, ".config", "claude-sandbox", "config.toml")
	os.MkdirAll(filepath.Dir(p), 0o755)
	if err := os.WriteFile(p, []byte(toml), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(p) })
	ChownTree(t, filepath.Join(f.Home, ".config"), f.User.UID, f.User.GID)
}

// Env is the environment a launch gets: the fixture's HOME and XDG
// directories, a PATH, and extra variables.
func (f *Fixture) Env(extra ...string) []string {
	env := []string{
		"HOME=" + f.Home, "USER=" + f.User.Name, "LOGNAME=" + f.User.Name,
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"XDG_CONFIG_HOME=" + filepath.Join(f.Home, ".config"),
		"XDG_DATA_HOME=" + filepath.Join(f.Home, ".local/share"),
		"XDG_STATE_HOME=" + filepath.Join(f.Home, ".local/state"),
		"XDG_CACHE_HOME=" + filepath.Join(f.Home, ".cache"),
		"TERM=xterm-256color", "LANG=C.UTF-8", "TMPDIR=" + f.TmpDir,
	}
	return append(env, extra...)
}

// Result is a finished launch.
type Result struct {
	Status         int
	Stdout, Stderr string
}

// Run launches the launcher with args as the fixture's user (dropping to
// that user when the test runs as root), in the project directory.
func (f *Fixture) Run(t testing.TB, env []string, args ...string) Result {
	t.Helper()
	return f.run(t, true, env, args...)
}

func (f *Fixture) run(t testing.TB, asUser bool, env []string, args ...string) Result {
	t.Helper()
	return f.RunCommand(t, asUser, 0, env, append([]string{Launcher(t)}, args...)...)
}

// RunCommand runs argv (the launcher, or a program that starts it) with
// env in the project directory, as the fixture's user when asUser and the
// test runs as root, and returns how it ended. A timeout above 0 ends the
// command and fails the test when it has not finished by then.
func (f *Fixture) RunCommand(t testing.TB, asUser bool, timeout time.Duration, env []string, argv ...string) Result {
	t.Helper()
	ctx := context.Background()
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = f.Project
	cmd.Env = env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if asUser && os.Getuid() == 0 && f.User.UID != 0 {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(f.User.UID), Gid: uint32(f.User.GID)}}
	}
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("the launch did not finish within the timeout\nstdout: %s\nstderr: %s", out.String(), errb.String())
	}
	status := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("running the launcher: %v", err)
		}
		status = ee.ExitCode()
	}
	return Result{Status: status, Stdout: out.String(), Stderr: errb.String()}
}

// Report is the sandbox probe's output (see cmd/sandbox-probe).
type Report = probereport.Report

// PathReport is what the probe could do with a path.
type PathReport = probereport.PathReport

// ParseReport finds the probe's JSON line in output.
func ParseReport(t testing.TB, output string) Report {
	t.Helper()
	for _, line := range strings.Split(output, "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "{\"UID\"") {
			var r Report
			if err := json.Unmarshal([]byte(line), &r); err != nil {
				t.Fatalf("probe report: %v\n%s", err, line)
			}
			return r
		}
	}
	t.Fatalf("no probe report in the output:\n%s", output)
	return Report{}
}

// Has reports whether list contains s.
func Has(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
