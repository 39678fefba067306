package egress

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Resolver looks up a host name's addresses.
type Resolver func(ctx context.Context, host string) ([]netip.Addr, error)

// Proxy is the host side of the allowlist mode: an HTTP proxy (CONNECT
// and plain HTTP) that admits a destination only when its name matches
// the rules, resolves it once, checks the addresses and dials the checked
// address, so the name cannot be re-resolved to somewhere else.
type Proxy struct {
	rules    Rules
	resolve  Resolver
	log      io.Writer
	mu       sync.Mutex
	refusals map[string]string
	order    []string
	count    int
	// byName and byAddr are the loopback addresses handed out to names
	// inside the sandbox (see MethodResolve); next is the next free one.
	byName map[string]netip.Addr
	byAddr map[netip.Addr]string
	next   netip.Addr
}

// NewProxy returns a proxy for rules that writes one line per refused
// connection to log. A nil resolve uses the system resolver.
func NewProxy(rules Rules, log io.Writer, resolve Resolver) *Proxy {
	if resolve == nil {
		resolve = func(ctx context.Context, host string) ([]netip.Addr, error) {
			return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
		}
	}
	return &Proxy{rules: rules, resolve: resolve, log: log, refusals: map[string]string{},
		byName: map[string]netip.Addr{}, byAddr: map[netip.Addr]string{},
		next: netip.MustParsePrefix(namePrefix).Addr().Next()}
}

// Serve accepts connections on l until it is closed.
func (p *Proxy) Serve(l net.Listener) error {
	for {
		c, err := l.Accept()
		if err != nil {
			return err
		}
		go p.handle(c)
	}
}

// refuse records a refused destination.
func (p *Proxy) refuse(host string, port int, reason string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.count++
	if _, ok := p.refusals[host]; !ok {
		p.order = append(p.order, host)
		p.refusals[host] = reason
	}
	dest := host
	if port > 0 {
		dest = net.JoinHostPort(host, strconv.Itoa(port))
	} else {
		dest += " (name lookup)"
	}
	fmt.Fprintf(p.log, "%s refused %s: %s\n", time.Now().UTC().Format(time.RFC3339), dest, reason)
}

// Summary is one line about the refused connections, "" when none were.
func (p *Proxy) Summary() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.count == 0 {
		return ""
	}
	hosts := append([]string(nil), p.order...)
	sort.Strings(hosts)
	parts := make([]string, len(hosts))
	for i, h := range hosts {
		parts[i] = fmt.Sprintf("%s (%s)", h, p.refusals[h])
	}
	noun := "connections"
	if p.count == 1 {
		noun = "connection"
	}
	return fmt.Sprintf("%d %s refused: %s", p.count, noun, strings.Join(parts, ", "))
}

// admit checks host:port against the rules and returns the checked
// addresses to dial, recording a refusal. Names under "localhost" are
// loopback without asking DNS (RFC 6761).
func (p *Proxy) admit(ctx context.Context, host string, port int) ([]netip.Addr, error) {
	if host == "127.0.0.1" || host == "localhost" || host == "::1" {
		if p.rules.LocalhostAllowed(port) {
			return []netip.Addr{netip.MustParseAddr("127.0.0.1")}, nil
		}
		if d := p.rules.CheckHost(host); !d.Allowed {
			reason := "loopback port " + strconv.Itoa(port) + " not in localhost_ports"
			if port == 0 {
				reason = "loopback name"
			}
			p.refuse(host, port, reason)
			return nil, fmt.Errorf("%s", reason)
		}
	}
	d := p.rules.CheckHost(host)
	if !d.Allowed {
		p.refuse(host, port, d.Reason)
		return nil, fmt.Errorf("%s: %s", host, d.Reason)
	}
	var addrs []netip.Addr
	if a, err := netip.ParseAddr(host); err == nil {
		addrs = []netip.Addr{a}
	} else if isLocalhostName(host) {
		addrs = []netip.Addr{netip.MustParseAddr("127.0.0.1")}
	} else {
		var err error
		addrs, err = p.resolve(ctx, host)
		if err != nil || len(addrs) == 0 {
			p.refuse(host, port, "does not resolve")
			return nil, fmt.Errorf("%s does not resolve: %v", host, err)
		}
	}
	for _, a := range addrs {
		if err := CheckAddr(a, d.Exact); err != nil {
			p.refuse(host, port, err.Error())
			return nil, fmt.Errorf("%s %w", host, err)
		}
	}
	return addrs, nil
}

// isLocalhostName reports whether host is a name below "localhost".
func isLocalhostName(host string) bool {
	return strings.HasSuffix(strings.ToLower(strings.TrimSuffix(host, ".")), ".localhost")
}

// dial checks host:port against the rules and connects to a checked
// address.
func (p *Proxy) dial(ctx context.Context, host string, port int) (net.Conn, error) {
	addrs, err := p.admit(ctx, host, port)
	if err != nil {
		return nil, err
	}
	var lastErr error
	for _, a := range addrs {
		c, err := (&net.Dialer{Timeout: 15 * time.Second}).DialContext(ctx, "tcp", netip.AddrPortFrom(a, uint16(port)).String())
		if err == nil {
			return c, nil
		}
		lastErr = err
	}
	return nil, lastErr
}

// Requests of the bridge to the proxy besides CONNECT and plain HTTP.
const (
	// MethodResolve asks whether a name may be looked up: "RESOLVE /name
	// HTTP/1.1" is answered 200 with the name's loopback address inside
	// the sandbox in the Address header when the name is allowed and
	// resolves to addresses the rules admit, 403 (and a refusal in the
	// log) otherwise. The bridge's DNS server asks it before it answers.
	MethodResolve = "RESOLVE"
	// MethodReport records a connection the sandbox's kernel refused:
	// "REPORT /address:port HTTP/1.1", for a name's address on a port the
	// bridge does not carry, or for an outside address.
	MethodReport = "REPORT"
	// MethodHandoff passes a TCP connection accepted inside the sandbox to
	// the proxy, which then carries it itself: "HANDOFF /host:port
	// HTTP/1.1" sent together with the connection's descriptor
	// (SCM_RIGHTS). The proxy applies the rules as for CONNECT and closes
	// the connection when they refuse; it writes no answer. The data then
	// crosses one relay instead of two.
	MethodHandoff = "HANDOFF"
	// addressHeader carries a name's address in the answer to RESOLVE.
	addressHeader = "Address"
)

// addressFor returns the loopback address handed out for name, giving it
// the next free one the first time.
func (p *Proxy) addressFor(name string) (netip.Addr, error) {
	name = strings.TrimSuffix(strings.ToLower(name), ".")
	p.mu.Lock()
	defer p.mu.Unlock()
	if a, ok := p.byName[name]; ok {
		return a, nil
	}
	a := p.next
	if !netip.MustParsePrefix(namePrefix).Contains(a) {
		return netip.Addr{}, fmt.Errorf("no address left for %s", name)
	}
	p.next = a.Next()
	p.byName[name], p.byAddr[a] = a, name
	return a, nil
}

// report records a connection refused inside the sandbox.
func (p *Proxy) report(target string) {
	ap, err := netip.ParseAddrPort(target)
	if err != nil {
		return
	}
	a, port := ap.Addr().Unmap(), int(ap.Port())
	p.mu.Lock()
	name, ok := p.byAddr[a]
	p.mu.Unlock()
	switch {
	case ok:
		p.refuse(name, port, "only ports "+joinInts(TransparentPorts, " and ")+" of a name are carried without the proxy variables")
	case a.IsLoopback():
		// The sandbox's own loopback: not a way out.
	default:
		reason := "port not carried without the proxy variables"
		if d := p.rules.CheckHost(a.String()); !d.Allowed {
			reason = d.Reason
		}
		p.refuse(a.String(), port, reason)
	}
}

func joinInts(v []int, sep string) string {
	s := make([]string, len(v))
	for i, n := range v {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, sep)
}

func (p *Proxy) handle(c net.Conn) {
	defer c.Close()
	first, passed := readFirst(c)
	defer func() {
		for _, f := range passed {
			f.Close()
		}
	}()
	br := bufio.NewReader(io.MultiReader(bytes.NewReader(first), c))
	req, err := http.ReadRequest(br)
	if err != nil {
		return
	}
	ctx := context.Background()
	switch req.Method {
	case MethodHandoff:
		if len(passed) == 1 {
			p.handoff(ctx, req, passed[0])
		}
		return
	case MethodResolve:
		name := strings.TrimPrefix(req.URL.Path, "/")
		if name == "" {
			fmt.Fprint(c, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
			return
		}
		if _, err := p.admit(ctx, name, 0); err != nil {
			fmt.Fprint(c, "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
			return
		}
		a, err := p.addressFor(name)
		if err != nil {
			fmt.Fprint(c, "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n")
			return
		}
		fmt.Fprintf(c, "HTTP/1.1 200 OK\r\n%s: %s\r\nContent-Length: 0\r\n\r\n", addressHeader, a)
		return
	case MethodReport:
		p.report(strings.TrimPrefix(req.URL.Path, "/"))
		fmt.Fprint(c, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
		return
	}
	if req.Method == http.MethodConnect {
		host, port, err := splitHostPort(req.Host, 443)
		if err != nil {
			fmt.Fprint(c, "HTTP/1.1 400 Bad Request\r\n\r\n")
			return
		}
		up, err := p.dial(ctx, host, port)
		if err != nil {
			fmt.Fprintf(c, "HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\n\r\nclaude-sandbox: %v\n", err)
			return
		}
		defer up.Close()
		fmt.Fprint(c, "HTTP/1.1 200 Connection established\r\n\r\n")
		splice(c, br, up)
		return
	}
	p.forward(ctx, c, br, req)
}

// readFirst reads the first bytes of a Unix connection together with any
// descriptors passed with them, returned as files.
func readFirst(c net.Conn) ([]byte, []*os.File) {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return nil, nil
	}
	buf, oob := make([]byte, 4096), make([]byte, unix.CmsgSpace(4*4))
	n, oobn, _, _, err := uc.ReadMsgUnix(buf, oob)
	if err != nil && n == 0 {
		return nil, nil
	}
	var files []*os.File
	msgs, _ := unix.ParseSocketControlMessage(oob[:oobn])
	for i := range msgs {
		fds, err := unix.ParseUnixRights(&msgs[i])
		if err != nil {
			continue
		}
		for _, fd := range fds {
			unix.CloseOnExec(fd)
			files = append(files, os.NewFile(uintptr(fd), "passed"))
		}
	}
	return buf[:n], files
}

// handoff carries the TCP connection passed in f to the destination req
// names, when the rules admit it. Anything but a TCP socket is refused.
func (p *Proxy) handoff(ctx context.Context, req *http.Request, f *os.File) {
	fc, err := net.FileConn(f)
	if err != nil {
		return
	}
	defer fc.Close()
	client, ok := fc.(*net.TCPConn)
	if !ok {
		return
	}
	host, port, err := splitHostPort(strings.TrimPrefix(req.URL.Path, "/"), 443)
	if err != nil {
		return
	}
	up, err := p.dial(ctx, host, port)
	if err != nil {
		return
	}
	defer up.Close()
	splice(client, bufio.NewReader(client), up)
}

// forward serves plain HTTP requests in absolute form, one after another
// on the same client connection.
func (p *Proxy) forward(ctx context.Context, c net.Conn, br *bufio.Reader, req *http.Request) {
	for {
		if req.URL.Scheme != "http" || req.URL.Host == "" {
			fmt.Fprint(c, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
			return
		}
		host, port, err := splitHostPort(req.URL.Host, 80)
		if err != nil {
			fmt.Fprint(c, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
			return
		}
		up, err := p.dial(ctx, host, port)
		if err != nil {
			msg := "claude-sandbox: " + err.Error() + "\n"
			fmt.Fprintf(c, "HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s", len(msg), msg)
			return
		}
		req.RequestURI = ""
		req.Header.Del("Proxy-Connection")
		req.Header.Del("Proxy-Authorization")
		err = req.Write(up)
		if err == nil {
			var resp *http.Response
			resp, err = http.ReadResponse(bufio.NewReader(up), req)
			if err == nil {
				err = resp.Write(c)
				resp.Body.Close()
			}
		}
		up.Close()
		if err != nil || req.Close {
			return
		}
		if req, err = http.ReadRequest(br); err != nil {
			return
		}
	}
}

// splice copies both ways until either side closes.
func splice(client net.Conn, buffered *bufio.Reader, up net.Conn) {
	done := make(chan struct{}, 2)
	go func() {
		io.Copy(up, buffered)
		if cw, ok := up.(interface{ CloseWrite() error }); ok {
			cw.CloseWrite()
		}
		done <- struct{}{}
	}()
	go func() {
		io.Copy(client, up)
		if uc, ok := client.(interface{ CloseWrite() error }); ok {
			uc.CloseWrite()
		}
		done <- struct{}{}
	}()
	<-done
	<-done
}

// Listen serves the proxy on a Unix socket at path (created 0600) and
// returns a function that stops it.
func (p *Proxy) Listen(path string) (func(), error) {
	os.Remove(path)
	l, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("egress proxy: %w", err)
	}
	os.Chmod(path, 0o600)
	go p.Serve(l)
	return func() { l.Close(); os.Remove(path) }, nil
}
