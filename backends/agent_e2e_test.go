package backends_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	bt "github.com/claude-sandbox/claude-sandbox/backends/backendtest"
)

// claudeInstall is Claude Code installed from the npm registry, the way
// users do, into a temporary prefix once per test process. TestMain starts
// it early, so that the download overlaps the tests that do not need it.
type claudeInstall struct {
	once  sync.Once
	begun atomic.Bool
	done  chan struct{}
	dir   string
	out   []byte
	err   error
}

func newClaudeInstall() *claudeInstall { return &claudeInstall{done: make(chan struct{})} }

// start begins the installation unless it has begun.
func (c *claudeInstall) start() {
	c.once.Do(func() {
		c.begun.Store(true)
		go func() {
			defer close(c.done)
			c.dir, c.err = os.MkdirTemp("", "csbx-claude-code-")
			if c.err != nil {
				return
			}
			os.Chmod(c.dir, 0o755)
			c.out, c.err = exec.Command("npm", "install", "--no-audit", "--no-fund", "--prefix", c.dir, "@anthropic-ai/claude-code").CombinedOutput()
		}()
	})
}

// remove waits for a started installation and removes it.
func (c *claudeInstall) remove() {
	if !c.begun.Load() {
		return
	}
	<-c.done
	if c.dir != "" {
		os.RemoveAll(c.dir)
	}
}

// claudeCode returns the prefix holding Claude Code's node_modules,
// waiting for the installation.
func claudeCode(t *testing.T) string {
	t.Helper()
	bt.RequireTool(t, "npm", "apt install npm")
	claude.start()
	<-claude.done
	if claude.err != nil {
		t.Fatalf("installing Claude Code: %v\n%s", claude.err, claude.out)
	}
	return claude.dir
}

// installUnderHome copies Claude Code into the fixture's home as a user
// prefix install does: ~/.local/lib/node_modules and a ~/.local/bin/claude
// link, which the sandbox hides unless the launcher shares it.
func installUnderHome(t *testing.T, f *bt.Fixture) string {
	t.Helper()
	src := filepath.Join(claudeCode(t), "node_modules")
	lib := filepath.Join(f.Home, ".local", "lib")
	bin := filepath.Join(f.Home, ".local", "bin")
	os.MkdirAll(lib, 0o755)
	os.MkdirAll(bin, 0o755)
	if out, err := exec.Command("cp", "-a", src, lib).CombinedOutput(); err != nil {
		t.Fatalf("copying Claude Code: %v %s", err, out)
	}
	link := filepath.Join(bin, "claude")
	os.Remove(link)
	if err := os.Symlink("../lib/node_modules/@anthropic-ai/claude-code/bin/claude.exe", link); err != nil {
		t.Fatal(err)
	}
	exec.Command("chown", "-R", f.User.Name+":", filepath.Join(f.Home, ".local")).Run()
	return bin
}

// installUnderRealHome installs Claude Code into a sudo fixture's real
// home and removes it, with the state it wrote, when the test ends.
func installUnderRealHome(t *testing.T, f *bt.Fixture) string {
	t.Helper()
	bin := installUnderHome(t, f)
	t.Cleanup(func() {
		os.RemoveAll(filepath.Join(f.Home, ".local", "lib", "node_modules"))
		os.Remove(filepath.Join(bin, "claude"))
		os.Remove(filepath.Join(f.Home, ".claude", ".claude.json"))
	})
	return bin
}

func TestClaudeCodeVersionThroughTheSandbox(t *testing.T) {
	// Slow and independent of the other tests: it runs in parallel with
	// them, after the quick ones.
	t.Parallel()
	bt.RequireTool(t, "bwrap", "apt install bubblewrap")
	f := bt.NewFixture(t, bt.TestUser(t))
	bin := installUnderHome(t, f)
	res := f.Run(t, withPath(f.Env(), bin), "--backend=bubblewrap", "--no-network", f.Project, "--", "--version")
	if res.Status != 0 || !claudeVersion.MatchString(res.Stdout) {
		t.Fatalf("claude --version in the sandbox: status %d\nstdout: %s\nstderr: %s", res.Status, res.Stdout, res.Stderr)
	}
}

// tmux drives a terminal the way a person would.
type tmux struct {
	t      *testing.T
	socket string
	user   bt.User
}

func (m *tmux) run(args ...string) string {
	m.t.Helper()
	cmd := exec.Command("tmux", append([]string{"-L", m.socket}, args...)...)
	if os.Getuid() == 0 && m.user.Name != "root" && m.user.UID != 0 {
		cmd = exec.Command("su", m.user.Name, "-c", "tmux -L "+m.socket+" "+shellJoin(args))
	}
	out, _ := cmd.CombinedOutput()
	return string(out)
}

func shellJoin(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return strings.Join(q, " ")
}

// history is the pane's whole content, scrolled-off lines included,
// with wrapped lines joined.
func (m *tmux) history() string {
	m.t.Helper()
	return m.run("capture-pane", "-p", "-J", "-S", "-", "-t", "agent")
}

// waitFor polls the pane until it shows text or showed it: a fast run
// may scroll it off the screen before it is looked at, so the scrolled-off
// lines count too.
func (m *tmux) waitFor(text string, timeout time.Duration) (string, bool) {
	deadline := time.Now().Add(timeout)
	screen := ""
	for time.Now().Before(deadline) {
		screen = m.run("capture-pane", "-p", "-S", "-", "-t", "agent")
		if strings.Contains(screen, text) {
			return screen, true
		}
		time.Sleep(200 * time.Millisecond)
	}
	return screen, false
}

func TestClaudeCodeInteractiveFirstRunAndState(t *testing.T) {
	// Slow and independent of the other tests: it runs in parallel with
	// them, after the quick ones.
	t.Parallel()
	bt.RequireTool(t, "tmux", "apt install tmux")
	t.Run("bubblewrap", func(t *testing.T) {
		bt.RequireTool(t, "bwrap", "apt install bubblewrap")
		interactiveIn(t, "bubblewrap", false, "")
	})
	t.Run("container", func(t *testing.T) {
		requireContainer(t)
		interactiveIn(t, "container", true, "")
	})
	t.Run("vm", func(t *testing.T) {
		requireVM(t)
		interactiveIn(t, "vm", false, vmConfig)
	})
	t.Run("oci", func(t *testing.T) {
		requireOCIRuntime(t)
		interactiveIn(t, "oci", false, "")
	})
	t.Run("oci-root", func(t *testing.T) {
		requireOCIRuntime(t)
		bt.RequireRoot(t)
		interactiveIn(t, "oci", true, "")
	})
}

// interactiveIn runs firstRunAndState on backend with Claude Code in the
// user's home: as the user, or through sudo as root on the user's behalf
// (the terminal then belongs to root, as under sudo). config, when set,
// is the user's configuration file.
func interactiveIn(t *testing.T, backend string, sudo bool, config string) {
	t.Helper()
	launch := " " + bt.Launcher(t) + " --backend=" + backend + " --no-network ."
	if sudo {
		f := bt.NewSudoFixture(t, bt.TestUser(t))
		bin := installUnderRealHome(t, f)
		firstRunAndState(t, f, bt.User{Name: "root"}, "env "+strings.Join(withPath(f.SudoEnv(), bin), " ")+launch)
		return
	}
	f := bt.NewFixture(t, bt.TestUser(t))
	if config != "" {
		f.WriteUserConfig(t, config)
	}
	bin := installUnderHome(t, f)
	firstRunAndState(t, f, f.User, "env "+strings.Join(withPath(f.Env(), bin), " ")+launch)
}

// exited matches the status line the pane's shell prints when the launcher
// has returned, followed by the terminal's settings and an end line.
var exited = regexp.MustCompile(`LAUNCHER-EXITED=(\d+)\n((?s:.*))\nSTTY-DONE`)

// afterLaunch is what the pane's shell runs once the launcher returned:
// print its status, then the terminal's settings, then a line saying
// both are on screen; the test waits for that last line.
const afterLaunch = "; echo LAUNCHER-EXITED=$?; stty -a; echo STTY-DONE; sleep 600"

// firstRunAndState runs Claude Code twice in a tmux pane owned by owner.
func firstRunAndState(t *testing.T, f *bt.Fixture, owner bt.User, command string) {
	os.Remove(filepath.Join(f.Home, ".claude.json"))
	launch := "cd " + f.Project + " && " + command + afterLaunch
	var firstUserID string
	for run := 1; run <= 2; run++ {
		// Each run has a tmux server of its own: a server whose last
		// session was killed exits in the background, and a new session
		// started on its socket meanwhile dies with it.
		m := &tmux{t: t, socket: fmt.Sprintf("csbx-%s-%s-%d", filepath.Base(f.Project), filepath.Base(filepath.Dir(f.Home)), run), user: owner}
		t.Cleanup(func() { m.run("kill-server") })
		start := time.Now()
		m.run("new-session", "-d", "-s", "agent", "-x", "100", "-y", "40", launch)
		screen, ok := m.waitFor("Welcome to Claude Code", 5*time.Minute)
		if !ok {
			t.Fatalf("run %d: no welcome screen:\n%s", run, screen)
		}
		t.Logf("run %d: welcome screen after %v", run, time.Since(start).Round(time.Millisecond))
		// With the network off Claude Code says so and exits rather than
		// hang; the shell then prints the status and the terminal's
		// settings, all of which must be on screen before it is read.
		if screen, ok = m.waitFor("STTY-DONE", 5*time.Minute); !ok {
			t.Fatalf("run %d: Claude Code did not exit with the network off:\n%s", run, screen)
		}
		screen = m.history()
		f.AssertNoRunDirs(t)
		if !strings.Contains(screen, "Unable to connect to Anthropic services") {
			t.Errorf("run %d: no connection error on screen:\n%s", run, screen)
		}
		sm := exited.FindStringSubmatch(screen)
		if sm == nil {
			t.Fatalf("run %d: no launcher status and terminal settings on screen:\n%s", run, screen)
		}
		if sm[1] == "0" || sm[1] == "125" {
			t.Errorf("run %d: unexpected status %s:\n%s", run, sm[1], screen)
		}
		// The terminal is sane again: echo and canonical mode on.
		stty := sm[2]
		if !regexp.MustCompile(`(^|\s)echo(\s|;|$)`).MatchString(stty) || !regexp.MustCompile(`(^|\s)icanon(\s|;|$)`).MatchString(stty) {
			t.Errorf("run %d: terminal left without echo or canonical mode:\n%s", run, stty)
		}
		// What Claude Code wrote into its configuration is on the host, and
		// the second run keeps the identity the first one saved.
		data, err := os.ReadFile(filepath.Join(f.Home, ".claude", ".claude.json"))
		if err != nil {
			t.Fatalf("run %d: Claude Code's configuration did not persist: %v", run, err)
		}
		var cfg struct {
			UserID string `json:"userID"`
		}
		if err := json.Unmarshal(data, &cfg); err != nil || cfg.UserID == "" {
			t.Fatalf("run %d: configuration without a userID (%v):\n%s", run, err, data)
		}
		if run == 1 {
			firstUserID = cfg.UserID
		} else if cfg.UserID != firstUserID {
			t.Errorf("the second run did not see the first run's state: userID %s, then %s", firstUserID, cfg.UserID)
		}
	}
}

// withPath puts dir first on the fixture environment's PATH.
func withPath(env []string, dir string) []string {
	out := append([]string{}, env...)
	for i, e := range out {
		if strings.HasPrefix(e, "PATH=") {
			out[i] = "PATH=" + dir + ":" + strings.TrimPrefix(e, "PATH=")
		}
	}
	return out
}

var claudeVersion = regexp.MustCompile(`\d+\.\d+\.\d+ \(Claude Code\)`)

// TestClaudeCodeSystemWideInstall installs Claude Code under /usr/local,
// as a system-wide npm install does, and runs it in the sandbox. It
// changes /usr/local, so it runs only under CI or as root with
// CLAUDE_SANDBOX_TEST_USR_LOCAL=1, and removes what it added.
func TestClaudeCodeSystemWideInstall(t *testing.T) {
	// It waits for the download of Claude Code, which runs meanwhile,
	// and the other tests put their own install first on PATH.
	t.Parallel()
	bt.RequireTool(t, "bwrap", "apt install bubblewrap")
	if !bt.InCI() && os.Getenv("CLAUDE_SANDBOX_TEST_USR_LOCAL") != "1" {
		t.Skip("changes /usr/local: set CLAUDE_SANDBOX_TEST_USR_LOCAL=1 to run it outside CI")
	}
	bt.RequireRoot(t)
	lib := "/usr/local/lib/node_modules/@anthropic-ai"
	link := "/usr/local/bin/claude"
	if _, err := os.Lstat(lib); err == nil {
		t.Skip("/usr/local already holds an npm install of Claude Code; not touching it")
	}
	if _, err := os.Lstat(link); err == nil {
		t.Skip("/usr/local/bin/claude exists; not touching it")
	}
	os.MkdirAll(filepath.Dir(lib), 0o755)
	if out, err := exec.Command("cp", "-a", filepath.Join(claudeCode(t), "node_modules", "@anthropic-ai"), lib).CombinedOutput(); err != nil {
		t.Fatalf("copying: %v %s", err, out)
	}
	t.Cleanup(func() { os.RemoveAll(lib); os.Remove(link) })
	if err := os.Symlink("../lib/node_modules/@anthropic-ai/claude-code/bin/claude.exe", link); err != nil {
		t.Fatal(err)
	}
	f := bt.NewFixture(t, bt.TestUser(t))
	res := f.Run(t, f.Env(), "--backend=bubblewrap", "--no-network", f.Project, "--", "--version")
	if res.Status != 0 || !claudeVersion.MatchString(res.Stdout) {
		t.Fatalf("status %d\nstdout: %s\nstderr: %s", res.Status, res.Stdout, res.Stderr)
	}
}

// TestClaudeCodeInContainerAndVM runs Claude Code from the user's hidden
// home in the container, oci and vm backends.
func TestClaudeCodeInContainerAndVM(t *testing.T) {
	// Slow and independent of the other tests: it runs in parallel with
	// them, after the quick ones.
	t.Parallel()
	t.Run("container", func(t *testing.T) {
		requireContainer(t)
		claudeVersionIn(t, "container", true)
	})
	t.Run("oci", func(t *testing.T) {
		requireOCIRuntime(t)
		claudeVersionIn(t, "oci", false)
	})
	t.Run("oci-root", func(t *testing.T) {
		requireOCIRuntime(t)
		bt.RequireRoot(t)
		claudeVersionIn(t, "oci", true)
	})
	t.Run("vm", func(t *testing.T) {
		requireVM(t)
		f := bt.NewFixture(t, bt.TestUser(t))
		f.WriteUserConfig(t, vmConfig)
		bin := installUnderHome(t, f)
		start := time.Now()
		res := f.Run(t, withPath(f.Env(), bin), "--backend=vm", "--no-network", f.Project, "--", "--version")
		if res.Status != 0 || !claudeVersion.MatchString(res.Stdout) {
			t.Fatalf("status %d\nstdout: %s\nstderr: %s", res.Status, res.Stdout, res.Stderr)
		}
		t.Logf("claude --version in the vm (binary read over 9p): %v", time.Since(start).Round(time.Millisecond))
	})
}

// claudeVersionIn runs claude --version, installed in the user's home,
// on backend: as the user, or through sudo as root on the user's behalf.
func claudeVersionIn(t *testing.T, backend string, sudo bool) {
	t.Helper()
	var res bt.Result
	if sudo {
		f := bt.NewSudoFixture(t, bt.TestUser(t))
		bin := installUnderRealHome(t, f)
		res = f.RunAsRoot(t, withPath(f.SudoEnv(), bin), "--backend="+backend, "--no-network", f.Project, "--", "--version")
	} else {
		f := bt.NewFixture(t, bt.TestUser(t))
		bin := installUnderHome(t, f)
		res = f.Run(t, withPath(f.Env(), bin), "--backend="+backend, "--no-network", f.Project, "--", "--version")
	}
	if res.Status != 0 || !claudeVersion.MatchString(res.Stdout) {
		t.Fatalf("status %d\nstdout: %s\nstderr: %s", res.Status, res.Stdout, res.Stderr)
	}
}

// ruleWidth is the length of the longest horizontal rule on screen.
func ruleWidth(screen string) int {
	best := 0
	for _, line := range strings.Split(screen, "\n") {
		n := 0
		for _, r := range line {
			if r == '─' {
				n++
				best = max(best, n)
			} else {
				n = 0
			}
		}
	}
	return best
}

// TestClaudeCodeKeysAndResize drives the interactive interface: keys
// typed in tmux answer Claude Code's dialogs, and resizing the window
// makes it redraw at the new width (the window-size signal reaches it
// although terminal injection is blocked).
func TestClaudeCodeKeysAndResize(t *testing.T) {
	// Slow and independent of the other tests: it runs in parallel with
	// them, after the quick ones.
	t.Parallel()
	bt.RequireTool(t, "bwrap", "apt install bubblewrap")
	bt.RequireTool(t, "tmux", "apt install tmux")
	f := bt.NewFixture(t, bt.TestUser(t))
	bin := installUnderHome(t, f)
	cfg := filepath.Join(f.Home, ".claude", ".claude.json")
	if err := os.WriteFile(cfg, []byte(`{"hasCompletedOnboarding": true, "theme": "dark"}`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	os.Chown(cfg, f.User.UID, f.User.GID)
	m := &tmux{t: t, socket: "csbx-keys-" + filepath.Base(filepath.Dir(f.Home)), user: f.User}
	t.Cleanup(func() { m.run("kill-server") })
	env := strings.Join(withPath(f.Env("ANTHROPIC_API_KEY=sk-ant-test-only"), bin), " ")
	launch := "cd " + f.Project + " && env " + env + " " + bt.Launcher(t) + " --no-network ." + afterLaunch
	m.run("new-session", "-d", "-s", "agent", "-x", "100", "-y", "30", launch)
	if screen, ok := m.waitFor("trust this folder", 5*time.Minute); !ok {
		t.Fatalf("no workspace trust dialog:\n%s", screen)
	}
	m.run("send-keys", "-t", "agent", "Enter")
	screen, ok := m.waitFor("Detected a custom API key", 2*time.Minute)
	if !ok {
		t.Fatalf("the Enter key did not reach Claude Code:\n%s", screen)
	}
	// The dialog waits for a key: the screen shows it now.
	screen = m.run("capture-pane", "-p", "-t", "agent")
	if w := ruleWidth(screen); w != 100 {
		t.Errorf("rule %d wide in a 100-column window:\n%s", w, screen)
	}
	m.run("resize-window", "-t", "agent", "-x", "60", "-y", "30")
	redrawn := bt.WaitUntil(2*time.Minute, func() bool { return ruleWidth(m.run("capture-pane", "-p", "-t", "agent")) == 60 })
	if !redrawn {
		t.Errorf("after resizing to 60 columns the interface did not redraw: rule %d wide", ruleWidth(m.run("capture-pane", "-p", "-t", "agent")))
	}
	// Closing the window hangs up the sandbox; it must not outlive it.
	// Only this fixture's processes name its project (the sandbox) or
	// carry its environment (the launcher).
	left := func() []string { return append(bt.Processes(f.Project), f.LaunchedProcesses()...) }
	if len(left()) == 0 {
		t.Fatalf("no process of the running sandbox found")
	}
	m.run("kill-session", "-t", "agent")
	if !bt.WaitUntil(time.Minute, func() bool { return len(left()) == 0 }) {
		t.Errorf("the sandbox outlived its closed terminal: %v", left())
	}
}
