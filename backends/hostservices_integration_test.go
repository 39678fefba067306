package backends_test

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	bt "github.com/claude-sandbox/claude-sandbox/backends/backendtest"
)

// The rows of the backend comparison in README.md that a real host
// service stands behind: Wayland, X11, PipeWire, the SSH agent, Nix
// through its daemon, gh's configuration, the locale and the kernel. Each
// service is started on the host as the user the sandbox runs for and
// checked with its real client inside.

// hostBackend is a backend the host services are forwarded on, with the
// way a test launches it.
type hostBackend string

const (
	onBubblewrap hostBackend = "bubblewrap"
	onContainer  hostBackend = "container"
)

// fixture returns a fixture for the backend: bubblewrap runs as the test
// user, the container through sudo as the fixture's own account, whose
// services the test must start.
func (b hostBackend) fixture(t *testing.T) *bt.Fixture {
	t.Helper()
	if b == onContainer {
		requireContainer(t)
		return bt.NewSudoFixture(t, bt.TestUser(t))
	}
	bt.RequireTool(t, "bwrap", "apt install bubblewrap")
	return bt.NewFixture(t, bt.TestUser(t))
}

// configure writes toml where the backend's launch reads it: the user
// layer for bubblewrap, the trusted project file through sudo.
func (b hostBackend) configure(t *testing.T, f *bt.Fixture, toml string) {
	t.Helper()
	if b == onContainer {
		trustedProjectConfig(t, f, toml)
		return
	}
	f.WriteUserConfig(t, toml)
}

// run launches script in the backend with the network off, env added to
// the launch's environment, and extra flags before --shell.
func (b hostBackend) run(t *testing.T, f *bt.Fixture, env []string, script string, flags ...string) bt.Result {
	t.Helper()
	args := append([]string{"--backend=" + string(b), "--no-network"}, flags...)
	args = append(args, "--shell", f.Project, "--", "-c", script)
	var res bt.Result
	if b == onContainer {
		res = f.RunAsRoot(t, f.SudoEnv(env...), args...)
	} else {
		res = f.Run(t, f.Env(env...), args...)
	}
	t.Logf("inside:\n%s%s", res.Stdout, res.Stderr)
	f.AssertNoRunDirs(t)
	return res
}

// waitSocket waits until p is a Unix socket.
func waitSocket(t *testing.T, p string) {
	t.Helper()
	bt.MustWaitUntil(t, p, 30*time.Second, func() bool {
		st, err := os.Stat(p)
		return err == nil && st.Mode()&os.ModeSocket != 0
	})
}

// hostOutput runs argv as u with env and returns its standard output.
func hostOutput(t *testing.T, u bt.User, env []string, argv ...string) string {
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = env
	asUser(cmd, u)
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("%v on the host: %v\n%s%s", argv, err, out, stderr)
	}
	return string(out)
}

// startWeston starts a real headless Weston as u with its socket in rt and
// returns the socket's name.
func startWeston(t *testing.T, u bt.User, rt string) string {
	t.Helper()
	bt.RequireTool(t, "weston", "apt install weston")
	bt.RequireTool(t, "wayland-info", "apt install wayland-utils")
	name := bt.Marker("wayland")
	// The fullscreen shell starts no helper clients of its own.
	startService(t, u, []string{"PATH=/usr/bin:/bin", "HOME=" + rt, "XDG_RUNTIME_DIR=" + rt},
		"weston", "--no-config", "--backend=headless-backend.so", "--shell=fullscreen-shell.so", "--socket="+name, "--idle-time=0")
	waitSocket(t, filepath.Join(rt, name))
	return name
}

// waylandScript lists the compositor's globals with a real client.
const waylandScript = `echo "WAYLAND_DISPLAY=$WAYLAND_DISPLAY"; wayland-info`

func testWayland(t *testing.T, b hostBackend) {
	f := b.fixture(t)
	rt := runtimeDir(t, f.User)
	name := startWeston(t, f.User, rt)
	b.configure(t, f, "[forward]\ndisplay = true\n")
	res := b.run(t, f, []string{"XDG_RUNTIME_DIR=" + rt, "WAYLAND_DISPLAY=" + name}, waylandScript)
	if res.Status != 0 {
		t.Fatalf("wayland-info inside failed: status %d", res.Status)
	}
	for _, want := range []string{"WAYLAND_DISPLAY=" + name + "\n", "'wl_compositor'", "make: 'weston', model: 'headless'"} {
		if !strings.Contains(res.Stdout, want) {
			t.Errorf("no %q inside", want)
		}
	}
}

func TestBubblewrapWayland(t *testing.T) { testWayland(t, onBubblewrap) }
func TestContainerWayland(t *testing.T)  { testWayland(t, onContainer) }

// testX11 connects a real client inside to a real Xvfb of the user's.
func testX11(t *testing.T, b hostBackend) {
	f := b.fixture(t)
	bt.RequireTool(t, "xdpyinfo", "apt install x11-utils")
	x := startXvfb(t, f.User)
	b.configure(t, f, "[forward]\ndisplay = true\n")
	res := b.run(t, f, x.Env(), `xdpyinfo`)
	if res.Status != 0 {
		t.Fatalf("xdpyinfo inside failed: status %d", res.Status)
	}
	for _, want := range []string{"name of display:    " + x.Display + "\n", "dimensions:    1280x1024 pixels"} {
		if !strings.Contains(res.Stdout, want) {
			t.Errorf("no %q inside", want)
		}
	}
}

func TestBubblewrapX11(t *testing.T) { testX11(t, onBubblewrap) }
func TestContainerX11(t *testing.T)  { testX11(t, onContainer) }

// pipewireCookie is the core's cookie in "pw-cli info 0": it tells one
// running PipeWire from another.
var pipewireCookie = regexp.MustCompile(`(?m)^\s*cookie: (\d+)$`)

// testPipeWire starts a real PipeWire as the user and asks it for its core
// from inside: the same daemon (its cookie) answers.
func testPipeWire(t *testing.T, b hostBackend) {
	f := b.fixture(t)
	bt.RequireTool(t, "pipewire", "apt install pipewire-bin")
	bt.RequireTool(t, "pw-cli", "apt install pipewire-bin")
	rt := runtimeDir(t, f.User)
	env := []string{"PATH=/usr/bin:/bin", "HOME=" + runtimeDir(t, f.User), "XDG_RUNTIME_DIR=" + rt}
	startService(t, f.User, env, "pipewire")
	waitSocket(t, filepath.Join(rt, "pipewire-0"))
	host := pipewireCookie.FindStringSubmatch(hostOutput(t, f.User, env, "pw-cli", "info", "0"))
	if host == nil {
		t.Fatalf("pw-cli info 0 on the host shows no cookie")
	}
	b.configure(t, f, "[forward]\naudio = true\n")
	res := b.run(t, f, []string{"XDG_RUNTIME_DIR=" + rt}, `pw-cli info 0 && stat -c 'OWNER %u' "$XDG_RUNTIME_DIR"`)
	if res.Status != 0 {
		t.Fatalf("pw-cli info 0 inside failed: status %d", res.Status)
	}
	inside := pipewireCookie.FindStringSubmatch(res.Stdout)
	if inside == nil || inside[1] != host[1] || !strings.Contains(res.Stdout, "PipeWire:Interface:Core") {
		t.Errorf("inside, pw-cli info 0 does not reach the host's PipeWire (cookie %s)", host[1])
	}
	if !strings.Contains(res.Stdout, "OWNER "+itoa(f.User.UID)+"\n") {
		t.Errorf("the runtime directory inside is not the user's")
	}
}

func TestBubblewrapPipeWire(t *testing.T) { testPipeWire(t, onBubblewrap) }
func TestContainerPipeWire(t *testing.T)  { testPipeWire(t, onContainer) }

// sshAgent starts a real ssh-agent as u with its socket in rt, adds a new
// key to it and returns the socket and the key's fingerprint.
func sshAgent(t *testing.T, u bt.User, rt string) (sock, fingerprint string) {
	t.Helper()
	bt.RequireTool(t, "ssh-agent", "apt install openssh-client")
	sock = filepath.Join(rt, "agent.sock")
	env := []string{"PATH=/usr/bin:/bin", "HOME=" + rt, "SSH_AUTH_SOCK=" + sock}
	startService(t, u, env, "ssh-agent", "-D", "-a", sock)
	waitSocket(t, sock)
	key := filepath.Join(rt, "id_ed25519")
	hostOutput(t, u, env, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "csbx-agent-key", "-f", key)
	exec.Command("chmod", "600", key).Run()
	cmd := exec.Command("ssh-add", key)
	cmd.Env = env
	asUser(cmd, u)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ssh-add on the host: %v\n%s", err, out)
	}
	fields := strings.Fields(hostOutput(t, u, env, "ssh-keygen", "-l", "-f", key+".pub"))
	if len(fields) < 2 {
		t.Fatalf("ssh-keygen -l printed no fingerprint")
	}
	return sock, fields[1]
}

// sshAgentScript lists the agent's keys with a real client.
const sshAgentScript = `echo "SSH_AUTH_SOCK=${SSH_AUTH_SOCK-unset}"; ssh-add -l; echo "STATUS=$?"`

func testSSHAgent(t *testing.T, b hostBackend) {
	f := b.fixture(t)
	rt := runtimeDir(t, f.User)
	sock, fp := sshAgent(t, f.User, rt)
	b.configure(t, f, "[forward]\nssh_agent = true\n")
	res := b.run(t, f, []string{"XDG_RUNTIME_DIR=" + rt, "SSH_AUTH_SOCK=" + sock}, sshAgentScript)
	if !strings.Contains(res.Stdout, fp) || !strings.Contains(res.Stdout, "csbx-agent-key") || !strings.Contains(res.Stdout, "STATUS=0") {
		t.Errorf("ssh-add -l inside does not list the host agent's key %s", fp)
	}
	if strings.Contains(res.Stdout, "SSH_AUTH_SOCK="+sock) {
		t.Errorf("the host's socket path was passed inside as is")
	}
}

func TestBubblewrapSSHAgent(t *testing.T) { testSSHAgent(t, onBubblewrap) }
func TestContainerSSHAgent(t *testing.T)  { testSSHAgent(t, onContainer) }

// nixDaemonSocket is where Nix clients find the daemon.
const nixDaemonSocket = "/nix/var/nix/daemon-socket/socket"

// nixDaemon makes sure a real nix-daemon serves the host's store: it
// starts one (as root, building as root with the sandbox off, since the
// host has no build users) unless one already answers, and stops it when
// the test ends.
func nixDaemon(t *testing.T) {
	t.Helper()
	bt.RequireTool(t, "nix-daemon", "apt install nix-bin")
	bt.RequireTool(t, "nix-build", "apt install nix-bin")
	bt.RequireRoot(t)
	answers := func() bool {
		c, err := net.Dial("unix", nixDaemonSocket)
		if err == nil {
			c.Close()
		}
		return err == nil
	}
	if answers() {
		t.Logf("using the nix-daemon already listening on %s", nixDaemonSocket)
		return
	}
	dir := filepath.Dir(nixDaemonSocket)
	if _, err := os.Stat(dir); os.IsNotExist(err) {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(dir) })
	}
	startService(t, bt.User{Name: "root"}, []string{"PATH=/usr/bin:/bin", "HOME=/root", "NIX_CONFIG=build-users-group =\nsandbox = false\nsubstituters =\n"}, "nix-daemon")
	bt.MustWaitUntil(t, "nix-daemon on "+nixDaemonSocket, 30*time.Second, answers)
}

// nixScript builds a derivation named @NAME@ inside through the daemon (a
// real nix-build, with no nixpkgs: the builder is the host's /bin/sh) and
// shows how /nix/store is mounted.
const nixScript = `echo "NIX_REMOTE=$NIX_REMOTE"
drv=$(nix-instantiate -E 'derivation { name = "@NAME@"; system = builtins.currentSystem; builder = "/bin/sh"; args = [ "-c" "echo built-@NAME@ > $out" ]; }') || exit 1
echo "DRV=$drv"
out=$(nix-build --no-out-link "$drv") || exit 1
echo "OUT=$out"
cat "$out"
touch /nix/store/csbx-written 2>/dev/null && echo STORE-WRITABLE
awk '$5 == "/nix/store" { print "STORE-MOUNT " $6 }' /proc/self/mountinfo`

var nixOut = regexp.MustCompile(`(?m)^DRV=(/nix/store/[0-9a-z]{32}-[^\s]+\.drv)\nOUT=(/nix/store/[0-9a-z]{32}-[^\s]+)$`)

func testNixDaemon(t *testing.T, b hostBackend) {
	f := b.fixture(t)
	nixDaemon(t)
	name := bt.Marker("csbx-nix")
	res := b.run(t, f, nil, strings.ReplaceAll(nixScript, "@NAME@", name))
	m := nixOut.FindStringSubmatch(res.Stdout)
	if res.Status != 0 || m == nil {
		t.Fatalf("nix-build inside failed: status %d", res.Status)
	}
	drv, out := m[1], m[2]
	// The output is the daemon's, in the host's store.
	t.Cleanup(func() { exec.Command("nix-store", "--delete", out, drv).Run() })
	if !strings.Contains(res.Stdout, "NIX_REMOTE=daemon\n") || !strings.Contains(res.Stdout, "built-"+name+"\n") {
		t.Errorf("the build inside did not go through the daemon or its output is not readable inside")
	}
	data, err := os.ReadFile(out)
	if err != nil || string(data) != "built-"+name+"\n" {
		t.Errorf("the output %s on the host: %q %v", out, data, err)
	}
	if !strings.HasSuffix(out, "-"+name) {
		t.Errorf("output %s does not carry the derivation's name", out)
	}
	if strings.Contains(res.Stdout, "STORE-WRITABLE") {
		t.Errorf("/nix/store is writable inside")
	}
	if !regexp.MustCompile(`(?m)^STORE-MOUNT ro,`).MatchString(res.Stdout) {
		t.Errorf("/nix/store is not a read-only mount inside")
	}
}

func TestBubblewrapNixDaemon(t *testing.T) { testNixDaemon(t, onBubblewrap) }
func TestContainerNixDaemon(t *testing.T)  { testNixDaemon(t, onContainer) }

// ghConfig gives the fixture gh's configuration with a token, and returns
// the user name it names.
func ghConfig(t *testing.T, f *bt.Fixture) string {
	t.Helper()
	user := bt.Marker("tester")
	dir := filepath.Join(f.Home, ".config", "gh")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	hosts := "github.com:\n    oauth_token: gho_csbxsecrettoken\n    user: " + user + "\n    git_protocol: https\n"
	if err := os.WriteFile(filepath.Join(dir, "hosts.yml"), []byte(hosts), 0o600); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "config.yml"), []byte("git_protocol: https\n"), 0o644)
	chown(t, f, filepath.Dir(dir))
	return user
}

// ghScript shows gh's configuration inside.
const ghScript = `cat ~/.config/gh/hosts.yml ~/.config/gh/config.yml; echo "TOKEN=${GH_TOKEN-unset}"`

// checkGH asserts that hosts.yml is visible inside, with its token only
// when forwarded.
func checkGH(t *testing.T, res bt.Result, user string, token bool) {
	t.Helper()
	if !strings.Contains(res.Stdout, "user: "+user+"\n") || !strings.Contains(res.Stdout, "git_protocol: https\n") {
		t.Errorf("gh's configuration is not visible inside (status %d)", res.Status)
	}
	if got := strings.Contains(res.Stdout, "gho_csbxsecrettoken"); got != token {
		t.Errorf("token in hosts.yml inside: %v, want %v", got, token)
	}
}

func testGitHubCLIConfig(t *testing.T, b hostBackend) {
	for _, token := range []bool{false, true} {
		name := "no-gh-token"
		var flags []string
		if token {
			name, flags = "gh-token", []string{"--gh-token"}
		}
		t.Run(name, func(t *testing.T) {
			f := b.fixture(t)
			user := ghConfig(t, f)
			res := b.run(t, f, nil, ghScript, flags...)
			checkGH(t, res, user, token)
			// The host's file keeps its token.
			if data, _ := os.ReadFile(filepath.Join(f.Home, ".config/gh/hosts.yml")); !strings.Contains(string(data), "gho_csbxsecrettoken") {
				t.Errorf("the host's hosts.yml lost its token: %q", data)
			}
		})
	}
}

func TestBubblewrapGitHubCLIConfig(t *testing.T) { testGitHubCLIConfig(t, onBubblewrap) }
func TestContainerGitHubCLIConfig(t *testing.T)  { testGitHubCLIConfig(t, onContainer) }

// germanLocale is the locale the locale tests pass.
const germanLocale = "de_DE.UTF-8"

// requireGermanLocale fails under CI (whose set-up generates it) and skips
// elsewhere when the host has no de_DE.UTF-8 locale.
func requireGermanLocale(t *testing.T) {
	t.Helper()
	out, _ := exec.Command("locale", "-a").Output()
	if !regexp.MustCompile(`(?m)^de_DE\.(utf8|UTF-8)$`).Match(out) {
		bt.Missing(t, "the de_DE.UTF-8 locale", "apt install locales, then enable de_DE.UTF-8 in /etc/locale.gen and run locale-gen")
	}
}

// localeScript shows the locale inside, a weekday and a C library error
// message in it.
const localeScript = `locale; echo "DAY=$(date -d @0 +%A)"; cat /nonexistent-csbx; true`

// checkLocale asserts that the locale inside is German, works without
// warnings, and shows in the C library's and coreutils' output.
func checkLocale(t *testing.T, res bt.Result) {
	t.Helper()
	for _, want := range []string{"LANG=" + germanLocale + "\n", `LC_TIME="` + germanLocale + `"`, "DAY=Donnerstag\n", "Datei oder Verzeichnis nicht gefunden"} {
		if !strings.Contains(res.Stdout+res.Stderr, want) {
			t.Errorf("no %q inside", want)
		}
	}
	if s := strings.ToLower(res.Stderr); strings.Contains(s, "cannot set") || strings.Contains(s, "setlocale") || strings.Contains(s, "cannot change locale") {
		t.Errorf("locale warnings inside:\n%s", res.Stderr)
	}
}

func testLocale(t *testing.T, b hostBackend) {
	requireGermanLocale(t)
	f := b.fixture(t)
	res := b.run(t, f, []string{"LANG=" + germanLocale}, localeScript)
	checkLocale(t, res)
}

func TestBubblewrapLocale(t *testing.T) { testLocale(t, onBubblewrap) }
func TestContainerLocale(t *testing.T)  { testLocale(t, onContainer) }

// kernelScript prints the running kernel's boot time (seconds since the
// epoch), which every process of one kernel reads alike, containers
// included (systemd-nspawn replaces the boot id, not this).
const kernelScript = `awk '$1 == "btime" { print "BOOT=" $2 }' /proc/stat`

// kernelBootTime finds the boot time kernelScript printed.
var kernelBootTime = regexp.MustCompile(`(?m)^BOOT=(\d+)$`)

// sameKernel reports whether the boot time printed inside is the host
// kernel's (the kernel computes it anew on each read, so it may be off by
// a second).
func sameKernel(t *testing.T, stdout string) bool {
	t.Helper()
	m := kernelBootTime.FindStringSubmatch(stdout)
	if m == nil {
		t.Fatalf("no boot time inside")
	}
	inside, _ := strconv.ParseInt(m[1], 10, 64)
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "btime "); ok {
			host, _ := strconv.ParseInt(v, 10, 64)
			return inside-host <= 1 && host-inside <= 1
		}
	}
	t.Fatalf("no btime in the host's /proc/stat")
	return false
}

func testKernelShared(t *testing.T, b hostBackend) {
	f := b.fixture(t)
	res := b.run(t, f, nil, kernelScript)
	if !sameKernel(t, res.Stdout) {
		t.Errorf("the sandbox does not run on the host's kernel")
	}
}

func TestBubblewrapKernelShared(t *testing.T) { testKernelShared(t, onBubblewrap) }
func TestContainerKernelShared(t *testing.T)  { testKernelShared(t, onContainer) }

// hostStorePath adds a file holding text to the host's Nix store with the
// real nix-store and returns its store path, deleted when the test ends.
func hostStorePath(t *testing.T, text string) string {
	t.Helper()
	bt.RequireTool(t, "nix-store", "apt install nix-bin")
	src := filepath.Join(t.TempDir(), text)
	if err := os.WriteFile(src, []byte(text+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("nix-store", "--add", src).Output()
	p := strings.TrimSpace(string(out))
	if err != nil || !strings.HasPrefix(p, "/nix/store/") {
		t.Fatalf("nix-store --add: %v: %q", err, out)
	}
	t.Cleanup(func() { exec.Command("nix-store", "--delete", p).Run() })
	return p
}

// vmIsolationScript tries the host's services from the guest and shows
// what is forwarded there: gh's configuration, the locale, the kernel.
const vmIsolationScript = `echo "SSH_AUTH_SOCK=${SSH_AUTH_SOCK-unset}"
echo "DBUS=${DBUS_SESSION_BUS_ADDRESS-unset}"
ls -A "$XDG_RUNTIME_DIR" | sed 's/^/RUNTIME /'
ssh-add -l >/dev/null 2>&1; echo "CLIENT ssh-add $?"
pactl info >/dev/null 2>&1; echo "CLIENT pactl $?"
dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus.ListNames >/dev/null 2>&1; echo "CLIENT dbus-send $?"
` + ghScript + "\n" + localeScript + "\n" + kernelScript + "\n"

// TestVMServicesIsolated asks the vm for the SSH agent, audio and D-Bus
// with real ones running on the host: nothing of them reaches the guest
// and their clients fail there. In the same boot (each costs), gh's
// configuration is visible without its token, the locale is forwarded
// and the kernel is the guest's own.
func TestVMServicesIsolated(t *testing.T) {
	t.Parallel()
	requireVM(t)
	requireGermanLocale(t)
	u := bt.TestUser(t)
	f := bt.NewFixture(t, u)
	f.WriteUserConfig(t, vmConfig+"[forward]\nssh_agent = true\naudio = true\ndbus = true\n")
	rt := runtimeDir(t, u)
	sock, _ := sshAgent(t, u, rt)
	addr := sessionBus(t, u, rt)
	pulseServer(t, u, rt, runtimeDir(t, u))
	user := ghConfig(t, f)
	script := vmIsolationScript
	// A path of the host's store, added as root (the tests run as root
	// under CI), is there in the guest.
	storePath, storeText := "", bt.Marker("csbx-store")
	if os.Getuid() == 0 {
		storePath = hostStorePath(t, storeText)
		script += `cat ` + storePath + "\n"
	}
	env := f.Env("XDG_RUNTIME_DIR="+rt, "SSH_AUTH_SOCK="+sock, "DBUS_SESSION_BUS_ADDRESS="+addr, "LANG="+germanLocale)
	res := f.Run(t, env, "--backend=vm", "--no-network", "--shell", f.Project, "--", "-c", script)
	// The guest's output comes through its serial console.
	res.Stdout = strings.ReplaceAll(res.Stdout, "\r\n", "\n")
	t.Logf("inside:\n%s%s", res.Stdout, res.Stderr)
	if res.Status != 0 {
		t.Fatalf("status %d", res.Status)
	}
	for _, want := range []string{"SSH_AUTH_SOCK=unset\n", "DBUS=unset\n"} {
		if !strings.Contains(res.Stdout, want) {
			t.Errorf("no %q in the guest", want)
		}
	}
	if strings.Contains(res.Stdout, "RUNTIME ") {
		t.Errorf("the guest's runtime directory is not empty")
	}
	// Each client runs and fails to connect: ssh-add says 2, the others 1;
	// 0 would be a host service reached, 127 a client missing.
	for client, want := range map[string]string{"ssh-add": "2", "pactl": "1", "dbus-send": "1"} {
		if !strings.Contains(res.Stdout, "CLIENT "+client+" "+want+"\n") {
			t.Errorf("%s in the guest did not fail to connect (want status %s)", client, want)
		}
	}
	checkGH(t, res, user, false)
	checkLocale(t, res)
	if sameKernel(t, res.Stdout) {
		t.Errorf("the guest runs on the host's kernel")
	}
	if storePath != "" && !strings.Contains(res.Stdout, storeText+"\n") {
		t.Errorf("the host's store path %s is not readable in the guest", storePath)
	}
	f.AssertNoRunDirs(t)
}
