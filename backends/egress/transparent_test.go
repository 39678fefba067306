package egress

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// query builds a DNS query for name and type qtype.
func query(name string, qtype uint16) []byte {
	msg := []byte{0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0}
	for _, l := range strings.Split(name, ".") {
		msg = append(msg, byte(len(l)))
		msg = append(msg, l...)
	}
	msg = append(msg, 0)
	msg = binary.BigEndian.AppendUint16(msg, qtype)
	return binary.BigEndian.AppendUint16(msg, dnsClassIN)
}

func TestAnswerDNS(t *testing.T) {
	addr := netip.MustParseAddr("127.77.0.1")
	lookup := func(name string) (netip.Addr, bool) { return addr, name == "app.example.com" }
	reply := answerDNS(query("App.Example.com", dnsTypeA), lookup)
	if reply[3]&0xf != 0 || binary.BigEndian.Uint16(reply[6:]) != 1 || !bytes.HasSuffix(reply, []byte{127, 77, 0, 1}) {
		t.Errorf("A for an allowed name: % x", reply)
	}
	if binary.BigEndian.Uint16(reply) != 0x1234 || reply[2]&0x80 == 0 {
		t.Errorf("id or QR bit wrong: % x", reply[:4])
	}
	reply = answerDNS(query("app.example.com", 28), lookup)
	if reply[3]&0xf != 0 || binary.BigEndian.Uint16(reply[6:]) != 0 {
		t.Errorf("AAAA for an allowed name is not an empty answer: % x", reply)
	}
	reply = answerDNS(query("evil.example.com", dnsTypeA), lookup)
	if reply[3]&0xf != dnsNXDomain || binary.BigEndian.Uint16(reply[6:]) != 0 {
		t.Errorf("a refused name is not NXDOMAIN: % x", reply)
	}
	// A compression pointer or truncation in a query is a format error,
	// and no input makes the responder panic.
	bad := query("a.b", dnsTypeA)
	bad[12] = 0xc0
	if reply := answerDNS(bad, lookup); reply[3]&0xf != dnsFormErr {
		t.Errorf("malformed query: % x", reply)
	}
	r := rand.New(rand.NewSource(1))
	for i := 0; i < 20000; i++ {
		msg := query("app.example.com", dnsTypeA)
		msg = msg[:r.Intn(len(msg)+1)]
		for j := 0; j < 3 && len(msg) > 0; j++ {
			msg[r.Intn(len(msg))] = byte(r.Intn(256))
		}
		answerDNS(msg, lookup)
	}
}

func TestSniff(t *testing.T) {
	// A real ClientHello.
	client, server := net.Pipe()
	go tls.Client(client, &tls.Config{ServerName: "api.example.com", InsecureSkipVerify: true}).Handshake()
	if got := sniff(bufio.NewReaderSize(server, 16<<10)); got != "api.example.com" {
		t.Errorf("TLS server name %q", got)
	}
	client.Close()
	br := bufio.NewReaderSize(strings.NewReader("GET / HTTP/1.1\r\nHost: www.example.com:8080\r\nAccept: */*\r\n\r\nrest"), 16<<10)
	if got := sniff(br); got != "www.example.com" {
		t.Errorf("HTTP Host %q", got)
	}
	if rest, _ := br.Peek(br.Buffered()); !bytes.HasPrefix(rest, []byte("GET / ")) {
		t.Errorf("sniffing consumed the request: %q", rest)
	}
	for _, junk := range []string{"SSH-2.0-OpenSSH\r\n", "\x16\x03\x01\x00\x05hello", strings.Repeat("x", 20000)} {
		if got := sniff(bufio.NewReaderSize(strings.NewReader(junk), 16<<10)); got != "" {
			t.Errorf("%.20q gave %q", junk, got)
		}
	}
}

// askingProxy serves a proxy for rules whose resolver maps every name to
// a public address, and returns its socket.
func askingProxy(t *testing.T, rules Rules) (*Proxy, string, *bytes.Buffer) {
	t.Helper()
	var log bytes.Buffer
	p := NewProxy(rules, &log, func(ctx context.Context, host string) ([]netip.Addr, error) {
		return []netip.Addr{netip.MustParseAddr("192.0.2.10")}, nil
	})
	sock := filepath.Join(t.TempDir(), "p.sock")
	stop, err := p.Listen(sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return p, sock, &log
}

func TestResolveAndReport(t *testing.T) {
	p, sock, log := askingProxy(t, Rules{Allow: []string{"*.example.com", "127.77.0.99"}, Deny: []string{"gist.example.com"}})
	a1, err := askResolve(sock, "api.example.com")
	if err != nil || !netip.MustParsePrefix(namePrefix).Contains(a1) {
		t.Fatalf("allowed name: %v %v", a1, err)
	}
	a2, _ := askResolve(sock, "www.example.com")
	again, _ := askResolve(sock, "API.example.com.")
	if a1 == a2 || again != a1 {
		t.Errorf("addresses: %v %v %v", a1, a2, again)
	}
	for _, name := range []string{"gist.example.com", "evil.test", "127.0.0.1", "localhost", ""} {
		if a, err := askResolve(sock, name); err == nil {
			t.Errorf("%q resolved to %v", name, a)
		}
	}
	n := newNames(sock)
	if a, ok := n.lookup("api.example.com"); !ok || a != a1 {
		t.Errorf("bridge lookup %v %v", a, ok)
	}
	if name, ok := n.name(a1); !ok || name != "api.example.com" {
		t.Errorf("address %v names %q", a1, name)
	}
	for _, target := range []string{a1.String() + ":5432", "127.0.0.1:8080", "127.77.3.3:22", "198.51.100.7:22", "bogus"} {
		resp, err := askProxy(sock, MethodReport, target)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("report %s: %v", target, err)
		}
	}
	s := p.Summary()
	for _, want := range []string{"evil.test (not in allowlist)", "gist.example.com (denied by gist.example.com)",
		"api.example.com (only ports 80 and 443", "198.51.100.7 (raw IP address not in allowlist)"} {
		if !strings.Contains(s, want) {
			t.Errorf("summary lacks %q: %s", want, s)
		}
	}
	// The sandbox's own loopback is not a way out.
	if strings.Contains(log.String(), "127.0.0.1:8080") || strings.Contains(log.String(), "127.77.3.3") {
		t.Errorf("a loopback report was recorded: %s", log.String())
	}
	if strings.Contains(s, ":  (") || strings.Contains(s, ",  (") || strings.Contains(s, "port 0") {
		t.Errorf("summary %s", s)
	}
	if !strings.Contains(log.String(), "refused evil.test (name lookup): not in allowlist") {
		t.Errorf("log %q", log.String())
	}
}

// sendHandoff passes f to the proxy at sock with a HANDOFF for target;
// with wait it returns once the proxy has closed the request.
func sendHandoff(t *testing.T, sock, target string, f *os.File, wait bool) {
	t.Helper()
	c, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	msg := "HANDOFF /" + target + " HTTP/1.1\r\nHost: proxy\r\n\r\n"
	if _, _, err := c.(*net.UnixConn).WriteMsgUnix([]byte(msg), unix.UnixRights(int(f.Fd())), nil); err != nil {
		t.Fatal(err)
	}
	if wait {
		io.Copy(io.Discard, c)
	}
}

func TestHandoff(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "handed") }))
	defer srv.Close()
	port := srv.Listener.Addr().(*net.TCPAddr).Port
	var log bytes.Buffer
	p := NewProxy(Rules{Allow: []string{"app.localhost"}}, &log, nil)
	sock := filepath.Join(t.TempDir(), "p.sock")
	stop, err := p.Listen(sock)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	// connPair returns both ends of a loopback TCP connection.
	connPair := func() (*net.TCPConn, *net.TCPConn) {
		l, _ := net.Listen("tcp", "127.0.0.1:0")
		defer l.Close()
		client, err := net.Dial("tcp", l.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		server, _ := l.Accept()
		return client.(*net.TCPConn), server.(*net.TCPConn)
	}
	for _, c := range []struct {
		target, want string
	}{{fmt.Sprintf("app.localhost:%d", port), "handed"}, {fmt.Sprintf("evil.test:%d", port), ""}} {
		client, accepted := connPair()
		f, _ := accepted.File()
		accepted.Close()
		sendHandoff(t, sock, c.target, f, false)
		f.Close()
		fmt.Fprintf(client, "GET / HTTP/1.0\r\nHost: x\r\n\r\n")
		body, _ := io.ReadAll(client)
		client.Close()
		if got := string(body); !strings.HasSuffix(got, c.want) || (c.want == "") != (got == "") {
			t.Errorf("%s: read %q", c.target, got)
		}
	}
	if !strings.Contains(log.String(), "refused evil.test:") {
		t.Errorf("the refused handoff is not logged: %q", log.String())
	}
	// A descriptor that is not a TCP socket is closed unused: a file the
	// sandbox passes is neither read nor written.
	file := filepath.Join(t.TempDir(), "f")
	os.WriteFile(file, []byte("keep"), 0o600)
	f, _ := os.OpenFile(file, os.O_RDWR, 0)
	sendHandoff(t, sock, fmt.Sprintf("app.localhost:%d", port), f, true)
	f.Close()
	if data, _ := os.ReadFile(file); string(data) != "keep" {
		t.Errorf("the passed file changed: %q", data)
	}
}
