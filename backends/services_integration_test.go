package backends_test

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	bt "github.com/claude-sandbox/claude-sandbox/backends/backendtest"
)

// Host services started for a test as the sandbox's user, with real
// clients run inside the sandbox.

// asUser makes cmd run as u when the test runs as root.
func asUser(cmd *exec.Cmd, u bt.User) {
	if os.Getuid() == 0 && u.UID != 0 {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(u.UID), Gid: uint32(u.GID)}}
	}
}

// runtimeDir creates a private XDG_RUNTIME_DIR for u, removed at the end.
func runtimeDir(t *testing.T, u bt.User) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "csbx-rt-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if os.Getuid() == 0 {
		os.Chown(dir, u.UID, u.GID)
	}
	return dir
}

// startService starts a host daemon as u, stopped when the test ends.
func startService(t *testing.T, u bt.User, env []string, argv ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = env
	asUser(cmd, u)
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", argv[0], err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd
}

// sessionBus starts a real session dbus-daemon as u with its socket in
// rt, two peers owning org.freedesktop.Notifications (in the default talk
// list) and org.example.Outside (in no list), and returns its address.
func sessionBus(t *testing.T, u bt.User, rt string) string {
	t.Helper()
	bt.RequireTool(t, "dbus-daemon", "apt install dbus-daemon")
	bt.RequireTool(t, "dbus-send", "apt install dbus-bin")
	bt.RequireTool(t, "dbus-test-tool", "apt install dbus-tests")
	bt.RequireTool(t, "xdg-dbus-proxy", "apt install xdg-dbus-proxy")
	env := []string{"PATH=/usr/bin:/bin", "HOME=" + rt}
	cmd := exec.Command("dbus-daemon", "--session", "--nofork", "--address=unix:path="+filepath.Join(rt, "bus"), "--print-address=1")
	cmd.Env = env
	asUser(cmd, u)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	// The daemon prints its address once it listens.
	addr, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("dbus-daemon printed no address: %v", err)
	}
	addr = strings.TrimSpace(addr)
	env = append(env, "DBUS_SESSION_BUS_ADDRESS="+addr)
	for _, name := range []string{"org.freedesktop.Notifications", "org.example.Outside"} {
		startService(t, u, env, "dbus-test-tool", "echo", "--name="+name)
		bt.MustWaitUntil(t, name+" on the bus", 30*time.Second, func() bool {
			c := exec.Command("dbus-send", "--session", "--print-reply", "--dest=org.freedesktop.DBus", "/org/freedesktop/DBus",
				"org.freedesktop.DBus.NameHasOwner", "string:"+name)
			c.Env = env
			asUser(c, u)
			b, _ := c.Output()
			return strings.Contains(string(b), "boolean true")
		})
	}
	return addr
}

// dbusScript tries, from inside, what the filter must allow and refuse,
// printing a word for each call that succeeded.
const dbusScript = `bus() { dbus-send --session --print-reply "$@" >/dev/null 2>&1; }
bus --dest=org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus.ListNames && echo LIST
bus --dest=org.freedesktop.Notifications /org/freedesktop/Notifications org.freedesktop.Notifications.GetServerInformation && echo NOTIFY
bus --dest=org.example.Outside /org/example org.example.Outside.Ping && echo OUTSIDE
bus --dest=org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus.Monitoring.BecomeMonitor array:string: uint32:0 && echo MONITOR
test -e /run/dbus/system_bus_socket && echo SYSTEM
echo "ADDR=$DBUS_SESSION_BUS_ADDRESS"
true`

// checkDBus asserts what dbusScript printed: raw says whether the raw bus
// was opted in.
func checkDBus(t *testing.T, res bt.Result, raw bool) {
	t.Helper()
	t.Logf("inside:\n%s%s", res.Stdout, res.Stderr)
	if res.Status != 0 {
		t.Fatalf("status %d\nstdout: %s\nstderr: %s", res.Status, res.Stdout, res.Stderr)
	}
	got := map[string]bool{}
	for _, w := range strings.Fields(res.Stdout) {
		got[w] = true
	}
	want := map[string]bool{"LIST": true, "NOTIFY": true, "OUTSIDE": raw, "MONITOR": raw}
	for w, ok := range want {
		if got[w] != ok {
			t.Errorf("raw bus %v: %s succeeded = %v, want %v\nstdout: %s\nstderr: %s", raw, w, got[w], ok, res.Stdout, res.Stderr)
		}
	}
	if !raw && got["SYSTEM"] {
		t.Errorf("the filtered bus also shares the system bus")
	}
}

// assertProxyGone checks that no proxy serving this test's runtime dir
// survived the run and that its socket directory is gone.
func assertProxyGone(t *testing.T, rt, base string) {
	t.Helper()
	out, _ := exec.Command("pgrep", "-f", "xdg-dbus-proxy .*"+rt).Output()
	if s := strings.TrimSpace(string(out)); s != "" {
		t.Errorf("xdg-dbus-proxy still running after the run: pids %s", s)
	}
	if m, _ := filepath.Glob(filepath.Join(base, "claude-sandbox-*", "dbus")); len(m) > 0 {
		t.Errorf("proxy directories left behind: %v", m)
	}
}

func TestBubblewrapDBusFiltered(t *testing.T) {
	bt.RequireTool(t, "bwrap", "apt install bubblewrap")
	u := bt.TestUser(t)
	for _, raw := range []bool{false, true} {
		t.Run(fmt.Sprintf("raw=%v", raw), func(t *testing.T) {
			rt := runtimeDir(t, u)
			addr := sessionBus(t, u, rt)
			f := bt.NewFixture(t, u)
			cfg := "[forward]\ndbus = true\n"
			if raw {
				cfg += "[dbus]\nfilter = false\n"
			}
			f.WriteUserConfig(t, cfg)
			res := f.Run(t, f.Env("XDG_RUNTIME_DIR="+rt, "DBUS_SESSION_BUS_ADDRESS="+addr), "--backend=bubblewrap", "--no-network", "--shell", f.Project, "--", "-c", dbusScript)
			checkDBus(t, res, raw)
			assertProxyGone(t, rt, rt)
		})
	}
}

func TestContainerDBusFiltered(t *testing.T) {
	requireContainer(t)
	u := bt.TestUser(t)
	for _, raw := range []bool{false, true} {
		t.Run(fmt.Sprintf("raw=%v", raw), func(t *testing.T) {
			// Through sudo the sandbox runs as the fixture's own
			// account: the bus must be that account's.
			f := bt.NewSudoFixture(t, u)
			rt := runtimeDir(t, f.User)
			addr := sessionBus(t, f.User, rt)
			cfg := "[forward]\ndbus = true\n"
			if raw {
				cfg += "[dbus]\nfilter = false\n"
			}
			trustedProjectConfig(t, f, cfg)
			res := f.RunAsRoot(t, f.SudoEnv("XDG_RUNTIME_DIR="+rt, "DBUS_SESSION_BUS_ADDRESS="+addr), "--backend=container", "--no-network", "--shell", f.Project, "--", "-c", dbusScript)
			checkDBus(t, res, raw)
			assertProxyGone(t, rt, f.TmpDir)
		})
	}
}

// trustedProjectConfig writes the project's .claude-sandbox.toml and
// trusts it as the fixture's user, for launches through sudo, whose user
// layer is the test user's real one shared with other tests.
func trustedProjectConfig(t *testing.T, f *bt.Fixture, toml string) {
	t.Helper()
	p := filepath.Join(f.Project, ".claude-sandbox.toml")
	if err := os.WriteFile(p, []byte(toml), 0o644); err != nil {
		t.Fatal(err)
	}
	if os.Getuid() == 0 {
		os.Chown(p, f.User.UID, f.User.GID)
	}
	if res := f.Run(t, f.Env(), "trust", "--yes", f.Project); res.Status != 0 {
		t.Fatalf("trust: status %d\n%s%s", res.Status, res.Stdout, res.Stderr)
	}
	t.Cleanup(func() { f.Run(t, f.Env(), "trust", "--revoke", f.Project) })
}

// pulseServer starts a real PulseAudio daemon as u with a null sink, its
// socket in rt/pulse/native.
func pulseServer(t *testing.T, u bt.User, rt, home string) {
	t.Helper()
	bt.RequireTool(t, "pulseaudio", "apt install pulseaudio")
	bt.RequireTool(t, "pactl", "apt install pulseaudio-utils")
	startService(t, u, []string{"PATH=/usr/bin:/bin", "HOME=" + home, "XDG_RUNTIME_DIR=" + rt},
		"pulseaudio", "--daemonize=no", "--exit-idle-time=-1", "--use-pid-file=no", "-n",
		"--load=module-native-protocol-unix", "--load=module-null-sink", "--log-target=stderr", "--log-level=error")
	waitSocket(t, filepath.Join(rt, "pulse", "native"))
}

// pulseScript runs a real PulseAudio client and shows who owns the
// directories it checks.
const pulseScript = `pactl info && stat -c 'OWNER %n %u' "$XDG_RUNTIME_DIR" "$XDG_RUNTIME_DIR/pulse"`

func checkPulse(t *testing.T, f *bt.Fixture, res bt.Result) {
	t.Helper()
	t.Logf("inside:\n%s%s", res.Stdout, res.Stderr)
	if res.Status != 0 || !strings.Contains(res.Stdout, "Server Name: pulseaudio") || !strings.Contains(res.Stdout, "Default Sink: null") {
		t.Fatalf("pactl info inside failed: status %d\nstdout: %s\nstderr: %s", res.Status, res.Stdout, res.Stderr)
	}
	for _, line := range strings.Split(res.Stdout, "\n") {
		if fields := strings.Fields(line); len(fields) == 3 && fields[0] == "OWNER" && fields[2] != itoa(f.User.UID) {
			t.Errorf("%s is owned by %s inside, want %d", fields[1], fields[2], f.User.UID)
		}
	}
}

func TestBubblewrapPulseAudio(t *testing.T) {
	bt.RequireTool(t, "bwrap", "apt install bubblewrap")
	u := bt.TestUser(t)
	rt := runtimeDir(t, u)
	f := bt.NewFixture(t, u)
	pulseServer(t, u, rt, runtimeDir(t, u))
	f.WriteUserConfig(t, "[forward]\naudio = true\n")
	res := f.Run(t, f.Env("XDG_RUNTIME_DIR="+rt), "--backend=bubblewrap", "--no-network", "--shell", f.Project, "--", "-c", pulseScript)
	checkPulse(t, f, res)
}

func TestContainerPulseAudio(t *testing.T) {
	requireContainer(t)
	// Through sudo the sandbox runs as the fixture's own account: the
	// server must be that account's.
	f := bt.NewSudoFixture(t, bt.TestUser(t))
	rt := runtimeDir(t, f.User)
	pulseServer(t, f.User, rt, runtimeDir(t, f.User))
	trustedProjectConfig(t, f, "[forward]\naudio = true\n")
	res := f.RunAsRoot(t, f.SudoEnv("XDG_RUNTIME_DIR="+rt), "--backend=container", "--no-network", "--shell", f.Project, "--", "-c", pulseScript)
	checkPulse(t, f, res)
}

// ownerScript shows who owns the directories the launcher creates inside
// the home as parents of shares: ~/.config for ~/.config/gh and
// ~/.config/git, ~/.local for the persisted ~/.local/bin.
const ownerScript = `stat -c 'OWNER %n %u' ~/.config ~/.local && mkdir ~/.config/newtool && echo MKDIR`

// shareConfigDirs gives the fixture ~/.config/gh and ~/.config/git, so
// the sandbox creates ~/.config for them.
func shareConfigDirs(t *testing.T, f *bt.Fixture) {
	t.Helper()
	for _, d := range []string{".config/gh", ".config/git"} {
		p := filepath.Join(f.Home, d)
		if _, err := os.Stat(p); err == nil {
			continue
		}
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(p) })
		if os.Getuid() == 0 {
			os.Chown(p, f.User.UID, f.User.GID)
		}
	}
}

func checkOwners(t *testing.T, f *bt.Fixture, res bt.Result) {
	t.Helper()
	if res.Status != 0 {
		t.Fatalf("status %d\nstdout: %s\nstderr: %s", res.Status, res.Stdout, res.Stderr)
	}
	seen := 0
	for _, line := range strings.Split(res.Stdout, "\n") {
		if fields := strings.Fields(line); len(fields) == 3 && fields[0] == "OWNER" {
			seen++
			if fields[2] != itoa(f.User.UID) {
				t.Errorf("%s is owned by %s inside, want %d", fields[1], fields[2], f.User.UID)
			}
		}
	}
	if seen != 2 || !strings.Contains(res.Stdout, "MKDIR") {
		t.Errorf("the user cannot use ~/.config and ~/.local inside:\n%s\n%s", res.Stdout, res.Stderr)
	}
}

func TestContainerHomeDirsOwnedByUser(t *testing.T) {
	requireContainer(t)
	f := bt.NewSudoFixture(t, bt.TestUser(t))
	shareConfigDirs(t, f)
	res := f.RunAsRoot(t, f.SudoEnv(), "--backend=container", "--no-network", "--shell", f.Project, "--", "-c", ownerScript)
	checkOwners(t, f, res)
}

func TestBubblewrapHomeDirsOwnedByUser(t *testing.T) {
	bt.RequireTool(t, "bwrap", "apt install bubblewrap")
	f := bt.NewFixture(t, bt.TestUser(t))
	shareConfigDirs(t, f)
	res := f.Run(t, f.Env(), "--backend=bubblewrap", "--no-network", "--shell", f.Project, "--", "-c", ownerScript)
	checkOwners(t, f, res)
}

func TestVMHomeDirsOwnedByUser(t *testing.T) {
	requireVM(t)
	f := bt.NewFixture(t, bt.TestUser(t))
	f.WriteUserConfig(t, vmConfig)
	shareConfigDirs(t, f)
	res := f.Run(t, f.Env(), "--backend=vm", "--no-network", "--shell", f.Project, "--", "-c", ownerScript)
	checkOwners(t, f, res)
}

// TestMissingGPUAnnounced asks for the GPU on a host without /dev/dri:
// the run says so on stderr and still runs.
func TestMissingGPUAnnounced(t *testing.T) {
	bt.RequireTool(t, "bwrap", "apt install bubblewrap")
	if _, err := os.Stat("/dev/dri"); err == nil {
		t.Skip("this host has /dev/dri")
	}
	f := bt.NewFixture(t, bt.TestUser(t))
	f.WriteUserConfig(t, "[forward]\ngpu = true\n")
	res := f.Run(t, f.Env(), "--backend=bubblewrap", "--no-network", "--shell", f.Project, "--", "-c", "test ! -e /dev/dri")
	if res.Status != 0 {
		t.Fatalf("status %d\n%s", res.Status, res.Stderr)
	}
	if !strings.Contains(res.Stderr, "claude-sandbox: forward.gpu: /dev/dri does not exist on this host") {
		t.Errorf("the missing GPU is not announced at launch; stderr:\n%s", res.Stderr)
	}
}

// TestBubblewrapDBusProxyEndsWithLauncher kills the launcher with SIGKILL
// (which it cannot catch) during a run: the proxy must still end.
func TestBubblewrapDBusProxyEndsWithLauncher(t *testing.T) {
	bt.RequireTool(t, "bwrap", "apt install bubblewrap")
	u := bt.TestUser(t)
	rt := runtimeDir(t, u)
	addr := sessionBus(t, u, rt)
	f := bt.NewFixture(t, u)
	f.WriteUserConfig(t, "[forward]\ndbus = true\n")
	cmd := exec.Command(bt.Launcher(t), "--backend=bubblewrap", "--no-network", "--shell", f.Project, "--", "-c", "sleep 300")
	cmd.Env = f.Env("XDG_RUNTIME_DIR="+rt, "DBUS_SESSION_BUS_ADDRESS="+addr)
	cmd.Dir = f.Project
	asUser(cmd, u)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	proxies := func() string {
		out, _ := exec.Command("pgrep", "-f", "xdg-dbus-proxy .*"+rt).Output()
		return strings.TrimSpace(string(out))
	}
	bt.MustWaitUntil(t, "the proxy to start", 30*time.Second, func() bool { return proxies() != "" })
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	bt.MustWaitUntil(t, "the proxy to end after the launcher was killed", 30*time.Second, func() bool { return proxies() == "" })
}
