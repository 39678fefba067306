package egress

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheckHostDenyWins(t *testing.T) {
	r := Rules{Allow: []string{"*.github.com"}, Deny: []string{"gist.github.com"}}
	if d := r.CheckHost("gist.github.com"); d.Allowed || !strings.Contains(d.Reason, "denied") {
		t.Errorf("deny did not win: %+v", d)
	}
	if d := r.CheckHost("api.github.com"); !d.Allowed || d.Exact {
		t.Errorf("wildcard: %+v", d)
	}
	if d := r.CheckHost("10.0.0.1"); d.Allowed || !strings.Contains(d.Reason, "raw IP") {
		t.Errorf("raw IP: %+v", d)
	}
}

func TestCheckAddr(t *testing.T) {
	for _, a := range []string{"127.0.0.1", "10.1.2.3", "192.168.1.1", "172.16.0.1", "169.254.169.254", "100.64.0.1", "0.0.0.0", "::1", "fd00:ec2::254", "fe80::1", "::ffff:127.0.0.1"} {
		if CheckAddr(netip.MustParseAddr(a), false) == nil {
			t.Errorf("%s admitted through a wildcard name", a)
		}
		if CheckAddr(netip.MustParseAddr(a), true) != nil {
			t.Errorf("%s refused although the exact name is allowed", a)
		}
	}
	if err := CheckAddr(netip.MustParseAddr("93.184.216.34"), false); err != nil {
		t.Errorf("public address refused: %v", err)
	}
}

// proxyFor serves a proxy on a Unix socket with a resolver that maps every
// name to 127.0.0.1, and returns a client that uses it.
func proxyFor(t *testing.T, rules Rules) (*Proxy, *http.Client, *bytes.Buffer) {
	t.Helper()
	var log bytes.Buffer
	p := NewProxy(rules, &log, func(ctx context.Context, host string) ([]netip.Addr, error) {
		return []netip.Addr{netip.MustParseAddr("127.0.0.1")}, nil
	})
	sock := filepath.Join(t.TempDir(), "proxy.sock")
	stop, err := p.Listen(sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	tr := &http.Transport{
		Proxy: http.ProxyURL(&url.URL{Scheme: "http", Host: "proxy"}),
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return net.Dial("unix", sock)
		},
	}
	return p, &http.Client{Transport: tr}, &log
}

func TestProxyPlainHTTP(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "hello") }))
	defer srv.Close()
	port := srv.Listener.Addr().(*net.TCPAddr).Port
	p, client, log := proxyFor(t, Rules{Allow: []string{"allowed.test", "*.wild.test"}})
	resp, err := client.Get(fmt.Sprintf("http://allowed.test:%d/", port))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "hello" {
		t.Fatalf("allowed exact name: %d %q", resp.StatusCode, body)
	}
	// A wildcard match resolving to loopback is refused, as is a name
	// that is not listed.
	for _, host := range []string{"a.wild.test", "evil.test"} {
		resp, err := client.Get(fmt.Sprintf("http://%s:%d/", host, port))
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode != http.StatusForbidden {
				t.Errorf("%s: status %d, want 403", host, resp.StatusCode)
			}
		}
	}
	s := p.Summary()
	if !strings.Contains(s, "2 connections refused") || !strings.Contains(s, "evil.test (not in allowlist)") || !strings.Contains(s, "a.wild.test (resolves to loopback") {
		t.Errorf("summary %q", s)
	}
	if !strings.Contains(log.String(), "refused evil.test:") {
		t.Errorf("log %q", log.String())
	}
}

func TestProxyConnectAndLocalhostPorts(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "tls") }))
	defer srv.Close()
	port := srv.Listener.Addr().(*net.TCPAddr).Port
	_, client, _ := proxyFor(t, Rules{Allow: []string{"example.com"}, LocalhostPorts: []int{port}})
	client.Transport.(*http.Transport).TLSClientConfig = srv.Client().Transport.(*http.Transport).TLSClientConfig
	resp, err := client.Get(fmt.Sprintf("https://example.com:%d/", port))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "tls" {
		t.Fatalf("CONNECT to an allowed name: %q", body)
	}
	if _, err := client.Get(fmt.Sprintf("https://evil.test:%d/", port)); err == nil {
		t.Errorf("CONNECT to a name not in the allowlist succeeded")
	}
}

func TestBridgeTunnelToLocalhostPort(t *testing.T) {
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	defer l.Close()
	go func() {
		c, err := l.Accept()
		if err == nil {
			c.Write([]byte("db\n"))
			c.Close()
		}
	}()
	port := l.Addr().(*net.TCPAddr).Port
	var log bytes.Buffer
	p := NewProxy(Rules{LocalhostPorts: []int{port}}, &log, nil)
	sock := filepath.Join(t.TempDir(), "p.sock")
	stop, err := p.Listen(sock)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	c, err := dialProxy(sock, fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(c).ReadString('\n')
	c.Close()
	if line != "db\n" {
		t.Fatalf("tunnel read %q", line)
	}
	if _, err := dialProxy(sock, fmt.Sprintf("127.0.0.1:%d", port+1)); err == nil {
		t.Fatal("a loopback port outside localhost_ports was tunnelled")
	}
}
