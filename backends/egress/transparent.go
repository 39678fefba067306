package egress

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Addresses of the bridge's name service inside the sandbox.
const (
	// DNSAddr is where the bridge answers DNS; the sandbox's
	// /etc/resolv.conf names it.
	DNSAddr = "127.0.0.53"
	// namePrefix is the loopback range the bridge hands out, one address
	// per allowed name.
	namePrefix = "127.77.0.0/16"
	// negativeTTL is how long a refused name stays refused without
	// asking the proxy again.
	negativeTTL = 30 * time.Second
)

// TransparentPorts are the ports the bridge accepts on the names'
// addresses and carries to the proxy.
var TransparentPorts = []int{80, 443}

// names holds the loopback address the proxy gave each allowed name, so
// a connection's destination says which name it is for.
type names struct {
	socket string
	mu     sync.Mutex
	byName map[string]*nameEntry
	byAddr map[netip.Addr]string
}

type nameEntry struct {
	ready   chan struct{}
	addr    netip.Addr
	ok      bool
	expires time.Time
}

func newNames(socket string) *names {
	return &names{socket: socket, byName: map[string]*nameEntry{}, byAddr: map[netip.Addr]string{}}
}

// lookup returns name's address, asking the proxy once whether it may be
// resolved.
func (n *names) lookup(name string) (netip.Addr, bool) {
	name = strings.TrimSuffix(strings.ToLower(name), ".")
	n.mu.Lock()
	e := n.byName[name]
	if e != nil && !e.expires.IsZero() && time.Now().After(e.expires) {
		e = nil
	}
	if e != nil {
		n.mu.Unlock()
		<-e.ready
		return e.addr, e.ok
	}
	e = &nameEntry{ready: make(chan struct{})}
	n.byName[name] = e
	n.mu.Unlock()

	var addr netip.Addr
	var err error
	if name != "" {
		addr, err = askResolve(n.socket, name)
	}
	n.mu.Lock()
	if name != "" && err == nil {
		e.addr, e.ok = addr, true
		n.byAddr[addr] = name
	} else {
		e.expires = time.Now().Add(negativeTTL)
	}
	n.mu.Unlock()
	close(e.ready)
	return e.addr, e.ok
}

// name returns the name that was given address a.
func (n *names) name(a netip.Addr) (string, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	s, ok := n.byAddr[a.Unmap()]
	return s, ok
}

// askResolve asks the proxy whether name may be resolved and for its
// address inside the sandbox.
func askResolve(socket, name string) (netip.Addr, error) {
	resp, err := askProxy(socket, MethodResolve, name)
	if err != nil {
		return netip.Addr{}, err
	}
	if resp.StatusCode != http.StatusOK {
		return netip.Addr{}, fmt.Errorf("%s refused: %s", name, resp.Status)
	}
	a, err := netip.ParseAddr(resp.Header.Get(addressHeader))
	if err != nil || !netip.MustParsePrefix(namePrefix).Contains(a) {
		return netip.Addr{}, fmt.Errorf("%s: bad address from the proxy", name)
	}
	return a, nil
}

// askProxy sends a one-line request for method and target to the proxy
// and returns its answer.
func askProxy(socket, method, target string) (*http.Response, error) {
	c, err := dialUpstream(socket)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	fmt.Fprintf(c, "%s /%s HTTP/1.1\r\nHost: proxy\r\n\r\n", method, target)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return nil, err
	}
	resp.Body.Close()
	return resp, nil
}

// transparent serves DNS and the names' ports inside the sandbox.
type transparent struct {
	socket string
	names  *names
	local  map[int]bool
}

// ServeNames starts, for a guest whose init serves the allowlist mode
// itself, the bridge's DNS server and its listeners on TransparentPorts,
// reaching the proxy at upstream ("tcp:" and an address, or a Unix
// socket's path).
func ServeNames(upstream string) error { return startTransparent(upstream, map[int]bool{}) }

// startTransparent starts the DNS server and a listener on each of
// TransparentPorts. Loopback ports in local that are also transparent
// ports are served by the same listener.
func startTransparent(socket string, local map[int]bool) error {
	t := &transparent{socket: socket, names: newNames(socket), local: local}
	pc, err := net.ListenPacket("udp4", net.JoinHostPort(DNSAddr, "53"))
	if err != nil {
		return fmt.Errorf("dns: %w", err)
	}
	go serveDNSUDP(pc, t.names.lookup)
	tl, err := net.Listen("tcp4", net.JoinHostPort(DNSAddr, "53"))
	if err != nil {
		return fmt.Errorf("dns: %w", err)
	}
	go serveDNSTCP(tl, t.names.lookup)
	for _, port := range TransparentPorts {
		l, err := net.Listen("tcp4", ":"+strconv.Itoa(port))
		if err != nil {
			return fmt.Errorf("port %d: %w", port, err)
		}
		go t.acceptOn(l, port)
	}
	return nil
}

// acceptOn serves every connection l accepts for port, until l closes.
func (t *transparent) acceptOn(l net.Listener, port int) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		go t.serve(c, port)
	}
}

// serve carries a connection to one of the transparent ports through the
// proxy: to the name its destination address was given, to an allowed
// loopback port, or else, for another loopback address, to the name the
// client announces (TLS server name, HTTP Host). Otherwise the proxy is
// asked for the bare address, which it refuses (unless that address is
// itself allowed) and records.
func (t *transparent) serve(c net.Conn, port int) {
	defer c.Close()
	local, _ := netip.ParseAddrPort(c.LocalAddr().String())
	dst := local.Addr().Unmap()
	br := bufio.NewReaderSize(c, 16<<10)
	var target string
	if name, ok := t.names.name(dst); ok {
		target = net.JoinHostPort(name, strconv.Itoa(port))
	} else if dst == netip.MustParseAddr("127.0.0.1") && t.local[port] {
		target = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	} else {
		name := dst.String()
		if dst.IsLoopback() {
			c.SetReadDeadline(time.Now().Add(10 * time.Second))
			if sniffed := sniff(br); sniffed != "" {
				name = sniffed
			}
			c.SetReadDeadline(time.Time{})
		}
		target = net.JoinHostPort(name, strconv.Itoa(port))
	}
	if br.Buffered() == 0 && handoff(t.socket, c, target) == nil {
		return
	}
	up, err := dialProxy(t.socket, target)
	if err != nil {
		return
	}
	defer up.Close()
	splice(c, br, up)
}

// handoff passes the TCP connection c to the proxy on the Unix socket
// socket, which carries it to target itself (see MethodHandoff).
func handoff(socket string, c net.Conn, target string) error {
	tc, ok := c.(*net.TCPConn)
	if !ok || strings.HasPrefix(socket, "tcp:") {
		return errors.New("no descriptor to pass")
	}
	f, err := tc.File()
	if err != nil {
		return err
	}
	defer f.Close()
	up, err := net.Dial("unix", socket)
	if err != nil {
		return err
	}
	defer up.Close()
	msg := fmt.Sprintf("%s /%s HTTP/1.1\r\nHost: proxy\r\n\r\n", MethodHandoff, target)
	_, _, err = up.(*net.UnixConn).WriteMsgUnix([]byte(msg), unix.UnixRights(int(f.Fd())), nil)
	return err
}

// sniff returns the server name a client announces first: the TLS
// ClientHello's server name, or an HTTP request's Host without the port.
func sniff(br *bufio.Reader) string {
	head, err := br.Peek(5)
	if err != nil {
		return ""
	}
	if head[0] == 0x16 {
		size := int(head[3])<<8 | int(head[4])
		record, err := br.Peek(5 + size)
		if err != nil {
			return ""
		}
		return serverName(record)
	}
	for {
		buf, _ := br.Peek(br.Buffered())
		if i := bytes.Index(buf, []byte("\r\n\r\n")); i >= 0 {
			req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(buf[:i+4])))
			if err != nil {
				return ""
			}
			host, _, err := net.SplitHostPort(req.Host)
			if err != nil {
				host = req.Host
			}
			return host
		}
		if br.Buffered() >= br.Size() {
			return ""
		}
		if _, err := br.Peek(br.Buffered() + 1); err != nil {
			return ""
		}
	}
}

var errHelloRead = errors.New("client hello read")

// serverName parses a TLS record holding a ClientHello and returns its
// server name.
func serverName(record []byte) string {
	var name string
	conn := &helloConn{r: bytes.NewReader(record)}
	tls.Server(conn, &tls.Config{GetConfigForClient: func(h *tls.ClientHelloInfo) (*tls.Config, error) {
		name = h.ServerName
		return nil, errHelloRead
	}}).HandshakeContext(context.Background())
	return name
}

// helloConn feeds recorded bytes to a TLS server and discards its output.
type helloConn struct {
	net.Conn
	r *bytes.Reader
}

func (c *helloConn) Read(b []byte) (int, error)       { return c.r.Read(b) }
func (c *helloConn) Write(b []byte) (int, error)      { return len(b), nil }
func (c *helloConn) Close() error                     { return nil }
func (c *helloConn) SetDeadline(time.Time) error      { return nil }
func (c *helloConn) SetReadDeadline(time.Time) error  { return nil }
func (c *helloConn) SetWriteDeadline(time.Time) error { return nil }
func (c *helloConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (c *helloConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
