package backends_test

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	bt "github.com/claude-sandbox/claude-sandbox/backends/backendtest"
	"github.com/claude-sandbox/claude-sandbox/backends/egress"
)

// serveHTTP serves "ok" on a loopback port until the test ends.
func serveHTTP(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "ok") })}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return l.Addr().(*net.TCPAddr).Port
}

// abstractSocket listens on an abstract Unix socket until the test ends.
func abstractSocket(t *testing.T) string {
	t.Helper()
	name := bt.Marker("csbx-test")
	l, err := net.Listen("unix", "@"+name)
	if err != nil {
		t.Fatal(err)
	}
	bt.AcceptAndClose(t, l)
	return name
}

func TestBubblewrapAllowlist(t *testing.T) {
	bt.RequireTool(t, "bwrap", "apt install bubblewrap")
	bt.RequireTool(t, "curl", "apt install curl")
	f := bt.NewFixture(t, bt.TestUser(t))
	listed, other := serveHTTP(t), serveHTTP(t)
	f.WriteUserConfig(t, fmt.Sprintf("network = \"allowlist\"\n[egress]\nallow = [\"localhost\"]\nlocalhost_ports = [%d]\n", listed))
	curl := func(url string) string {
		return fmt.Sprintf("echo %s=$(curl -s -o /dev/null -w %%{http_code} --max-time 60 --noproxy '' -x http://127.0.0.1:3128 %s)", strings.NewReplacer(":", "_", "/", "_", ".", "_").Replace(url), url)
	}
	script := strings.Join([]string{
		curl(fmt.Sprintf("http://localhost:%d/", other)),
		curl(fmt.Sprintf("http://127.0.0.2:%d/", other)),
		curl("http://evil.invalid/"),
		f.ShellCommand([]string{"-connect", fmt.Sprintf("127.0.0.1:%d", listed), "-connect", fmt.Sprintf("127.0.0.1:%d", other), "-dns", "example.com"}, 0),
	}, "; ")
	res := f.Run(t, f.Env(), "--backend=bubblewrap", "--shell", f.Project, "--", "-c", script)
	if res.Status != 0 {
		t.Fatalf("status %d\n%s\n%s", res.Status, res.Stdout, res.Stderr)
	}
	want := map[string]string{
		fmt.Sprintf("http___localhost_%d_", other): "200", // an exactly allowed name, resolved by the proxy
		fmt.Sprintf("http___127_0_0_2_%d_", other): "403", // a raw IP address
		"http___evil_invalid_":                     "403", // a name not in the allowlist
	}
	for k, v := range want {
		if !strings.Contains(res.Stdout, k+"="+v) {
			t.Errorf("want %s=%s in:\n%s", k, v, res.Stdout)
		}
	}
	r := bt.ParseReport(t, res.Stdout)
	if !r.Connect[fmt.Sprintf("127.0.0.1:%d", listed)] {
		t.Errorf("a localhost_ports port is unreachable")
	}
	if r.Connect[fmt.Sprintf("127.0.0.1:%d", other)] {
		t.Errorf("a loopback port outside localhost_ports is reachable directly")
	}
	if r.DNS["example.com"] {
		t.Errorf("DNS works inside the allowlist mode")
	}
	for _, s := range []string{"evil.invalid (not in allowlist)", "127.0.0.2 (raw IP address not in allowlist)", "log: "} {
		if !strings.Contains(res.Stderr, s) {
			t.Errorf("the refusal summary lacks %q:\n%s", s, res.Stderr)
		}
	}
	f.AssertNoRunDirs(t)
}

// TestFullNetwork attacks the full network mode of every backend that
// runs in a namespace of the host: bubblewrap as a user (pasta),
// bubblewrap as root and the container (slirp4netns). In full mode a
// server outside the sandbox's namespace is reachable while the host's
// loopback listeners and abstract Unix sockets are not; in host mode all
// of them are.
func TestFullNetwork(t *testing.T) {
	bt.RequireRoot(t)
	bt.RequireTool(t, "bwrap", "apt install bubblewrap")
	bt.RequireTool(t, "pasta", "apt install passt")
	bt.RequireTool(t, "slirp4netns", "apt install slirp4netns")
	outside := outsideServer(t)
	port := serveHTTP(t)
	abstract := abstractSocket(t)
	loopback := fmt.Sprintf("127.0.0.1:%d", port)
	// slirp4netns maps its gateway to the host's loopback unless told not
	// to; pasta without --no-map-gw would do the same with its gateway.
	gateway := fmt.Sprintf("10.0.2.2:%d", port)
	args := []string{"-connect", outside, "-connect", loopback, "-connect", gateway, "-abstract", abstract}
	root := bt.User{Name: "root", UID: 0, GID: 0}
	launches := []struct {
		name string
		run  func(t *testing.T, mode string) bt.Result
	}{
		{"bubblewrap-as-user", func(t *testing.T, mode string) bt.Result {
			f := bt.NewFixture(t, bt.TestUser(t))
			return f.Run(t, f.Env(), "--backend=bubblewrap", "--network="+mode, "--shell", f.Project, "--", "-c", f.ShellCommand(args, 0))
		}},
		{"bubblewrap-as-root", func(t *testing.T, mode string) bt.Result {
			f := bt.NewFixture(t, root)
			return f.Run(t, f.Env(), "--backend=bubblewrap", "--network="+mode, "--shell", f.Project, "--", "-c", f.ShellCommand(args, 0))
		}},
		{"container", func(t *testing.T, mode string) bt.Result {
			requireContainer(t)
			f := bt.NewSudoFixture(t, bt.TestUser(t))
			return f.RunAsRoot(t, f.SudoEnv(), "--backend=container", "--network="+mode, "--shell", f.Project, "--", "-c", f.ShellCommand(args, 0))
		}},
	}
	for _, l := range launches {
		t.Run(l.name, func(t *testing.T) {
			for _, mode := range []string{"full", "host"} {
				res := l.run(t, mode)
				if res.Status != 0 {
					t.Fatalf("%s: status %d\n%s\n%s", mode, res.Status, res.Stdout, res.Stderr)
				}
				r := bt.ParseReport(t, res.Stdout)
				shared := mode == "host"
				if !r.Connect[outside] {
					t.Errorf("network %s: the server outside (%s) is unreachable", mode, outside)
				}
				if r.Connect[loopback] != shared {
					t.Errorf("network %s: host loopback listener reachable = %v", mode, !shared)
				}
				if r.Abstract[abstract] != shared {
					t.Errorf("network %s: host abstract socket reachable = %v", mode, !shared)
				}
				if mode == "full" && r.Connect[gateway] {
					t.Errorf("network full: the host's loopback is reachable through the gateway %s", gateway)
				}
				if mode == "full" && len(r.Interfaces) < 2 {
					t.Errorf("network full: no interface besides lo: %v", r.Interfaces)
				}
			}
		})
	}
}

// allowlistScript asks through the proxy for an allowed loopback port and
// a name that is not allowed, printing both HTTP statuses.
func allowlistScript(proxy string, port int) string {
	return fmt.Sprintf("echo local=$(curl -s -o /dev/null -w %%{http_code} --max-time 60 --noproxy '' -x %s http://127.0.0.1:%d/); "+
		"echo evil=$(curl -s -o /dev/null -w %%{http_code} --max-time 60 --noproxy '' -x %s http://evil.invalid/)", proxy, port, proxy)
}

func checkAllowlist(t *testing.T, res bt.Result) {
	t.Helper()
	if res.Status != 0 || !strings.Contains(res.Stdout, "local=200") || !strings.Contains(res.Stdout, "evil=403") {
		t.Fatalf("status %d\nstdout: %s\nstderr: %s", res.Status, res.Stdout, res.Stderr)
	}
	if !strings.Contains(res.Stderr, "evil.invalid (not in allowlist)") {
		t.Errorf("no refusal summary:\n%s", res.Stderr)
	}
}

func TestContainerAllowlist(t *testing.T) {
	requireContainer(t)
	bt.RequireTool(t, "curl", "apt install curl")
	f := bt.NewSudoFixture(t, bt.TestUser(t))
	port := serveHTTP(t)
	f.WriteUserConfig(t, fmt.Sprintf("[egress]\nlocalhost_ports = [%d]\n", port))
	res := f.RunAsRoot(t, f.SudoEnv(), "--backend=container", "--network=allowlist", "--shell", f.Project, "--",
		"-c", allowlistScript("http://127.0.0.1:3128", port))
	checkAllowlist(t, res)
	f.AssertNoRunDirs(t)
}

func TestVMAllowlist(t *testing.T) {
	// Slow and independent of the other tests: it runs in parallel with
	// them, after the quick ones.
	t.Parallel()
	requireVM(t)
	bt.RequireTool(t, "curl", "apt install curl")
	f := bt.NewFixture(t, bt.TestUser(t))
	port := serveHTTP(t)
	f.WriteUserConfig(t, vmConfig+fmt.Sprintf("[egress]\nlocalhost_ports = [%d]\n", port))
	res := f.Run(t, f.Env(), "--backend=vm", "--network=allowlist", "--shell", f.Project, "--",
		"-c", allowlistScript("http://10.0.2.100:3128", port))
	checkAllowlist(t, res)
	f.AssertNoRunDirs(t)
}

// TestFullNetworkHelperStops ends launches in full mode that attach
// slirp4netns with SIGTERM and checks on the host that the helper and the
// sandboxed command are gone.
func TestFullNetworkHelperStops(t *testing.T) {
	bt.RequireRoot(t)
	bt.RequireTool(t, "slirp4netns", "apt install slirp4netns")
	for _, backend := range []string{"bubblewrap", "container"} {
		t.Run(backend, func(t *testing.T) {
			if backend == "container" {
				requireContainer(t)
			} else {
				bt.RequireTool(t, "bwrap", "apt install bubblewrap")
			}
			f := bt.NewFixture(t, bt.User{Name: "root"})
			marker := fmt.Sprintf("csbx-net-%d-%s", os.Getpid(), backend)
			cmd := exec.Command(bt.Launcher(t), "--backend="+backend, "--network=full", "--shell", f.Project, "--",
				"-c", "exec -a "+marker+" sleep 300")
			cmd.Env = f.Env()
			cmd.Dir = f.Project
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			var helper, sandboxed int
			bt.MustWaitUntil(t, "the sandbox to start", 30*time.Second, func() bool {
				helper = childNamed(cmd.Process.Pid, "slirp4netns")
				sandboxed = processWithCmdline(marker)
				return helper != 0 && sandboxed != 0
			})
			cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-done:
			case <-time.After(30 * time.Second):
				cmd.Process.Kill()
				t.Fatal("the launcher did not stop after SIGTERM")
			}
			bt.MustWaitUntil(t, "the network helper and the command to end", 10*time.Second, func() bool { return !alive(helper) && processWithCmdline(marker) == 0 })
		})
	}
}

// childNamed returns the pid of a child of parent whose command is name.
func childNamed(parent int, name string) int {
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 || !strings.Contains(s[:i], "("+name) {
			continue
		}
		fields := strings.Fields(s[i+1:])
		if len(fields) > 1 && fields[1] == strconv.Itoa(parent) {
			return pid
		}
	}
	return 0
}

// processWithCmdline returns the pid of a process whose argv[0] is name.
func processWithCmdline(name string) int {
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && strings.SplitN(string(b), "\x00", 2)[0] == name {
			return pid
		}
	}
	return 0
}

// alive reports whether pid is a process that has not exited.
func alive(pid int) bool {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && len(s) > i+2 && s[i+2] != 'Z'
}

// requireTransparentTools needs the programs transparentScript runs.
func requireTransparentTools(t *testing.T) {
	t.Helper()
	bt.RequireTool(t, "curl", "apt install curl")
	bt.RequireTool(t, "node", "apt install nodejs")
	bt.RequireTool(t, "python3", "apt install python3")
}

// serveLowPorts serves "ok-http" on the host's 127.0.0.1:80 and "ok-tls"
// on 127.0.0.1:443 (a test certificate) until the test ends, counting
// requests per port; names below "localhost" lead there through the
// proxy. It needs root.
func serveLowPorts(t *testing.T) map[int]*atomic.Int32 {
	t.Helper()
	bt.RequireRoot(t)
	hits := map[int]*atomic.Int32{80: {}, 443: {}}
	for _, port := range []int{80, 443} {
		// Another run of these tests on the machine may hold the port
		// for a while: wait for it rather than fail.
		var l net.Listener
		var err error
		if !bt.WaitUntil(3*time.Minute, func() bool {
			l, err = net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
			return err == nil
		}) {
			t.Fatalf("the test needs the host's 127.0.0.1:%d: %v", port, err)
		}
		body := "ok-http"
		if port == 443 {
			body = "ok-tls"
		}
		srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			hits[port].Add(1)
			fmt.Fprint(w, body)
		}))
		srv.Listener.Close()
		srv.Listener = l
		if port == 443 {
			srv.StartTLS()
		} else {
			srv.Start()
		}
		t.Cleanup(srv.Close)
	}
	return hits
}

// transparentScript fetches the allowed name with clients that ignore
// the proxy variables (or have them removed), tries a name outside the
// allowlist, a port other than 80 and 443 and raw addresses, and prints
// one line per attempt.
const transparentScript = `unset HTTP_PROXY HTTPS_PROXY ALL_PROXY http_proxy https_proxy all_proxy
echo curl-http=$(curl -s --max-time 10 http://app.localhost/)
echo curl-tls=$(curl -sk --max-time 10 https://app.localhost/)
echo node-http=$(node -e 'fetch("http://app.localhost/").then(r=>r.text()).then(t=>console.log(t),e=>console.log("error",e.cause&&e.cause.code))')
echo node-tls=$(NODE_TLS_REJECT_UNAUTHORIZED=0 node -e 'fetch("https://app.localhost/").then(r=>r.text()).then(t=>console.log(t),e=>console.log("error",e.cause&&e.cause.code))' 2>/dev/null)
echo node-evil=$(node -e 'fetch("http://evil.test/").then(r=>r.text()).then(t=>console.log(t),e=>console.log("error",e.cause&&e.cause.code))')
python3 - <<'PY'
import socket, ssl, urllib.request
def get(url, **kw):
    try:
        return urllib.request.urlopen(url, timeout=10, **kw).read().decode()
    except Exception as e:
        return "error " + type(e).__name__
print("py-http=" + get("http://app.localhost/"))
print("py-tls=" + get("https://app.localhost/", context=ssl._create_unverified_context()))
print("py-evil=" + get("http://evil.test/"))
def tcp(host, port):
    try:
        socket.create_connection((host, port), timeout=5).close()
        return "connected"
    except Exception as e:
        return "error " + type(e).__name__
print("tcp-5432=" + tcp("app.localhost", 5432))
print("tcp-raw=" + tcp("192.0.2.1", 22))
PY
echo curl-raw=$(curl -sk --max-time 10 https://192.0.2.2/ || echo failed)
echo sni-raw=$(curl -sk --max-time 10 --resolve app.localhost:443:192.0.2.3 https://app.localhost/ || echo failed)
echo sni-unlisted=$(curl -sk --max-time 10 --resolve evil.test:443:127.77.9.9 https://evil.test/ || echo failed)`

// checkTransparent checks the script's output, the refusal summary and
// the requests the host's servers saw: one per allowed client and port,
// none from the attempts that claim an allowed name on another address.
func checkTransparent(t *testing.T, res bt.Result, hits map[int]*atomic.Int32) {
	t.Helper()
	if res.Status != 0 {
		t.Fatalf("status %d\nstdout: %s\nstderr: %s", res.Status, res.Stdout, res.Stderr)
	}
	for _, want := range []string{"curl-http=ok-http", "curl-tls=ok-tls", "node-http=ok-http", "node-tls=ok-tls",
		"node-evil=error ENOTFOUND", "py-http=ok-http", "py-tls=ok-tls", "py-evil=error URLError",
		"tcp-5432=error ConnectionRefusedError", "tcp-raw=error ConnectionRefusedError", "curl-raw=failed", "sni-raw=failed", "sni-unlisted=failed"} {
		if !strings.Contains(strings.ReplaceAll(res.Stdout, "\r\n", "\n"), want+"\n") {
			t.Errorf("want %q in:\n%s", want, res.Stdout)
		}
	}

	for _, want := range []string{"evil.test (not in allowlist)", "app.localhost (only ports 80 and 443",
		"192.0.2.1 (raw IP address not in allowlist)", "192.0.2.2 (raw IP address not in allowlist)",
		"192.0.2.3 (raw IP address not in allowlist)"} {
		if !strings.Contains(res.Stderr, want) {
			t.Errorf("the refusal summary lacks %q:\n%s", want, res.Stderr)
		}
	}
	for port, n := range hits {
		if got := n.Load(); got != 3 {
			t.Errorf("the host's server on port %d saw %d requests, want 3 (curl, node, python)", port, got)
		}
	}
}

func TestBubblewrapAllowlistTransparent(t *testing.T) {
	bt.RequireTool(t, "bwrap", "apt install bubblewrap")
	requireTransparentTools(t)
	hits := serveLowPorts(t)
	f := bt.NewFixture(t, bt.TestUser(t))
	f.WriteUserConfig(t, "network = \"allowlist\"\n[egress]\nallow = [\"app.localhost\"]\n")
	res := f.Run(t, f.Env(), "--backend=bubblewrap", "--shell", f.Project, "--", "-c", transparentScript)
	checkTransparent(t, res, hits)
}

func TestContainerAllowlistTransparent(t *testing.T) {
	requireContainer(t)
	requireTransparentTools(t)
	hits := serveLowPorts(t)
	f := bt.NewSudoFixture(t, bt.TestUser(t))
	f.WriteUserConfig(t, "[egress]\nallow = [\"app.localhost\"]\n")
	res := f.RunAsRoot(t, f.SudoEnv(), "--backend=container", "--network=allowlist", "--shell", f.Project, "--", "-c", transparentScript)
	checkTransparent(t, res, hits)
}

func TestVMAllowlistTransparent(t *testing.T) {
	requireVM(t)
	requireTransparentTools(t)
	hits := serveLowPorts(t)
	f := bt.NewFixture(t, bt.TestUser(t))
	f.WriteUserConfig(t, vmConfig+"[egress]\nallow = [\"app.localhost\"]\n")
	res := f.Run(t, f.Env(), "--backend=vm", "--network=allowlist", "--shell", f.Project, "--", "-c", transparentScript)
	checkTransparent(t, res, hits)
}

// TestBubblewrapAllowlistEndsWithLauncher kills the launcher with SIGKILL
// during an allowlist run: the network namespace helper, bwrap, the
// bridge and the command must all end.
func TestBubblewrapAllowlistEndsWithLauncher(t *testing.T) {
	bt.RequireTool(t, "bwrap", "apt install bubblewrap")
	u := bt.TestUser(t)
	f := bt.NewFixture(t, u)
	marker := fmt.Sprintf("sleep %d", 100000+os.Getpid())
	cmd := exec.Command(bt.Launcher(t), "--backend=bubblewrap", "--network=allowlist", "--shell", f.Project, "--", "-c", marker)
	cmd.Env = f.Env()
	cmd.Dir = f.Project
	asUser(cmd, u)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	procs := func(pattern string) string {
		out, _ := exec.Command("pgrep", "-f", pattern).Output()
		return strings.TrimSpace(string(out))
	}
	bt.MustWaitUntil(t, "the command to start", 2*time.Minute, func() bool { return procs("^"+marker) != "" })
	if procs(egress.NetnsName+" .*"+marker) == "" || procs(egress.BridgeName+" .*"+marker) == "" {
		t.Fatalf("no netns helper or bridge for the run")
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	bt.MustWaitUntil(t, "every process of the run to end after the launcher was killed", time.Minute, func() bool { return procs(marker) == "" })
}
