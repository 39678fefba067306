package backends_test

import (
	"bufio"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	bt "github.com/claude-sandbox/claude-sandbox/backends/backendtest"
)

// TestEgressProxyStandalone runs the command an exported Pod's sidecar
// runs, `claude-sandbox egress-proxy`, on this host, and sends a real
// client through it: the loopback port it admits is reached (plain HTTP
// and a CONNECT tunnel), another port of the same server's host and a
// name outside the allowlist are refused and logged, the startup probe
// passes while it runs and fails after, and SIGTERM ends it cleanly.
func TestEgressProxyStandalone(t *testing.T) {
	bt.RequireTool(t, "curl", "apt install curl")
	listed, other := serveHTTP(t), serveHTTP(t)
	cmd := exec.Command(bt.Launcher(t), "egress-proxy", "--listen", "127.0.0.1:0",
		"--allow", "allowed.invalid", "--deny", "evil.allowed.invalid", "--localhost-port", fmt.Sprint(listed))
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	var mu sync.Mutex
	var log []string
	go func() {
		s := bufio.NewScanner(stderr)
		for s.Scan() {
			mu.Lock()
			log = append(log, s.Text())
			mu.Unlock()
		}
	}()
	logged := func(text string) bool {
		mu.Lock()
		defer mu.Unlock()
		return strings.Contains(strings.Join(log, "\n"), text)
	}
	var addr string
	bt.MustWaitUntil(t, "the proxy's address on its standard error", time.Minute, func() bool {
		mu.Lock()
		defer mu.Unlock()
		for _, l := range log {
			if a, ok := strings.CutPrefix(l, "claude-sandbox: egress proxy on "); ok {
				addr = a
				return true
			}
		}
		return false
	})
	curl := func(args ...string) string {
		out, _ := exec.Command("curl", append([]string{"-s", "-o", "/dev/null", "-w", "%{http_code}/%{http_connect}", "--max-time", "60", "--noproxy", "", "-x", "http://" + addr}, args...)...).Output()
		return string(out)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		// HTTP status / the proxy's answer to CONNECT.
		{[]string{fmt.Sprintf("http://localhost:%d/", listed)}, "200/000"},
		{[]string{"-p", fmt.Sprintf("http://localhost:%d/", listed)}, "200/200"},
		{[]string{fmt.Sprintf("http://localhost:%d/", other)}, "403/000"},
		{[]string{"-p", fmt.Sprintf("http://localhost:%d/", other)}, "000/403"},
		{[]string{"http://evil.invalid/"}, "403/000"},
		{[]string{"http://evil.allowed.invalid/"}, "403/000"},
	} {
		if got := curl(c.args...); got != c.want {
			t.Errorf("curl %s through the proxy: %q, want %s", strings.Join(c.args, " "), got, c.want)
		}
	}
	for _, want := range []string{fmt.Sprintf("refused localhost:%d: loopback port %d not in localhost_ports", other, other),
		"refused evil.invalid:80: not in allowlist", "refused evil.allowed.invalid:80"} {
		if !bt.WaitUntil(time.Minute, func() bool { return logged(want) }) {
			mu.Lock()
			t.Errorf("the proxy's log lacks %q:\n%s", want, strings.Join(log, "\n"))
			mu.Unlock()
		}
	}
	// The sidecar's startup probe.
	probe := func() error { return exec.Command(bt.Launcher(t), "egress-proxy", "--probe", addr).Run() }
	if err := probe(); err != nil {
		t.Errorf("the startup probe fails on a running proxy: %v", err)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Errorf("the proxy did not end cleanly on SIGTERM: %v", err)
	}
	if c, err := net.Dial("tcp", addr); err == nil {
		c.Close()
		t.Errorf("%s still accepts connections after the proxy ended", addr)
	}
	if err := probe(); err == nil {
		t.Errorf("the startup probe passes with no proxy on %s", addr)
	}
}
