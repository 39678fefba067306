package backends_test

import (
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"

	bt "github.com/claude-sandbox/claude-sandbox/backends/backendtest"
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
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	t.Cleanup(func() { l.Close() })
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

func TestBubblewrapFullNetworkIsolatesHost(t *testing.T) {
	bt.RequireTool(t, "bwrap", "apt install bubblewrap")
	bt.RequireTool(t, "pasta", "apt install passt")
	f := bt.NewFixture(t, bt.TestUser(t))
	port := serveHTTP(t)
	abstract := abstractSocket(t)
	args := []string{"-connect", fmt.Sprintf("127.0.0.1:%d", port), "-abstract", abstract}
	for _, mode := range []string{"full", "host"} {
		res := f.Run(t, f.Env(), "--backend=bubblewrap", "--network="+mode, "--shell", f.Project, "--", "-c", f.ShellCommand(args, 0))
		if res.Status != 0 {
			t.Fatalf("%s: status %d\n%s", mode, res.Status, res.Stderr)
		}
		r := bt.ParseReport(t, res.Stdout)
		shared := mode == "host"
		if r.Connect[fmt.Sprintf("127.0.0.1:%d", port)] != shared {
			t.Errorf("network %s: host loopback reachable = %v", mode, !shared)
		}
		if r.Abstract[abstract] != shared {
			t.Errorf("network %s: host abstract socket reachable = %v", mode, !shared)
		}
		if mode == "full" && len(r.Interfaces) < 2 {
			t.Errorf("network full: no interface besides lo: %v", r.Interfaces)
		}
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
