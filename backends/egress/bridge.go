package egress

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"
)

// Names of the launcher's helper modes for the allowlist network mode.
const (
	// BridgeName runs inside the sandbox in front of the command.
	BridgeName = "claude-sandbox-bridge"
	// ConnectName relays its standard streams to the proxy (QEMU runs
	// it for each guest connection).
	ConnectName = "claude-sandbox-connect"
	// ProxyPort is the loopback port of the proxy inside a sandbox.
	ProxyPort = 3128
)

type ports []int

func (p *ports) String() string { return fmt.Sprint(*p) }
func (p *ports) Set(s string) error {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("bad port %q", s)
	}
	*p = append(*p, n)
	return nil
}

// BridgeMain is the bridge: inside the sandbox's empty network namespace
// it listens on loopback for the proxy port and for each allowed host
// loopback port, carries every connection to the host proxy's Unix
// socket, and runs the command after the listeners are up, returning its
// exit status. With --dns it also answers DNS on DNSAddr, giving each
// name the proxy admits a loopback address of its own, and carries
// connections to those addresses' TransparentPorts to the proxy, so that
// clients which ignore the proxy variables obey the same rules.
//
//	claude-sandbox-bridge --socket PATH [--dns] [--port N ...] -- COMMAND...
func BridgeMain(args []string) int {
	fs := flag.NewFlagSet(BridgeName, flag.ContinueOnError)
	socket := fs.String("socket", "", "the host proxy's socket")
	dns := fs.Bool("dns", false, "answer DNS and carry the names' ports 80 and 443 to the proxy")
	var local ports
	fs.Var(&local, "port", "a host loopback port to relay (repeatable)")
	if err := fs.Parse(args[1:]); err != nil || *socket == "" || fs.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: claude-sandbox-bridge --socket PATH [--dns] [--port N ...] -- COMMAND...")
		return 125
	}
	localSet := map[int]bool{}
	for _, p := range local {
		localSet[p] = true
	}
	if *dns {
		if err := startTransparent(*socket, localSet); err != nil {
			fmt.Fprintf(os.Stderr, "claude-sandbox-bridge: %v\n", err)
			return 125
		}
	}
	if err := listen(ProxyPort, func(c net.Conn) { relay(c, *socket, "") }); err != nil {
		fmt.Fprintf(os.Stderr, "claude-sandbox-bridge: %v\n", err)
		return 125
	}
	for _, p := range local {
		if *dns && slices.Contains(TransparentPorts, p) {
			continue
		}
		target := "127.0.0.1:" + strconv.Itoa(p)
		if err := listen(p, func(c net.Conn) { relay(c, *socket, target) }); err != nil {
			fmt.Fprintf(os.Stderr, "claude-sandbox-bridge: %v\n", err)
			return 125
		}
	}
	return runChild(fs.Args())
}

func listen(port int, serve func(net.Conn)) error {
	l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		return err
	}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go serve(c)
		}
	}()
	return nil
}

// relay carries c to the proxy; with target set it first asks the proxy
// for a tunnel to target.
func relay(c net.Conn, socket, target string) {
	defer c.Close()
	up, err := dialProxy(socket, target)
	if err != nil {
		return
	}
	defer up.Close()
	splice(c, bufio.NewReader(c), up)
}

// dialUpstream connects to the proxy: a Unix socket path, or "tcp:" and
// an address (the vm's forwarded proxy port).
func dialUpstream(upstream string) (net.Conn, error) {
	if addr, ok := strings.CutPrefix(upstream, "tcp:"); ok {
		return net.Dial("tcp", addr)
	}
	return net.Dial("unix", upstream)
}

// dialProxy connects to the proxy socket, through a CONNECT to target
// when target is set.
func dialProxy(socket, target string) (net.Conn, error) {
	up, err := dialUpstream(socket)
	if err != nil {
		return nil, err
	}
	if target == "" {
		return up, nil
	}
	fmt.Fprintf(up, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n", target, target)
	br := bufio.NewReader(up)
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodConnect})
	if err != nil {
		up.Close()
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		up.Close()
		return nil, fmt.Errorf("proxy refused %s: %s", target, resp.Status)
	}
	return &bufferedConn{Conn: up, r: br}, nil
}

// bufferedConn reads what its reader already buffered before the rest of
// the connection: the destination may speak first, right behind the
// proxy's answer.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufferedConn) Read(b []byte) (int, error) { return c.r.Read(b) }

// CloseWrite half-closes the underlying connection.
func (c *bufferedConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// runChild runs argv with the bridge's streams and environment, forwards
// signals to it, and returns its exit status.
func runChild(argv []string) int {
	return runCmd(exec.Command(argv[0], argv[1:]...), nil)
}

// runCmd runs cmd with the process's streams, calls started (if set)
// once it runs, forwards signals to it and returns its exit status.
func runCmd(cmd *exec.Cmd, started func()) int {
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", cmd.Args[0], err)
		return 127
	}
	if started != nil {
		started()
	}
	go func() {
		for s := range sigs {
			cmd.Process.Signal(s)
		}
	}()
	err := cmd.Wait()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	if err != nil && cmd.ProcessState.ExitCode() < 0 {
		return 125
	}
	return cmd.ProcessState.ExitCode()
}

// ConnectMain relays standard input and output to the proxy socket,
// through a CONNECT to the target when one is given.
//
//	claude-sandbox-connect --socket PATH [--target HOST:PORT]
func ConnectMain(args []string) int {
	fs := flag.NewFlagSet(ConnectName, flag.ContinueOnError)
	socket := fs.String("socket", "", "the host proxy's socket")
	target := fs.String("target", "", "tunnel to this host:port")
	if err := fs.Parse(args[1:]); err != nil || *socket == "" {
		return 125
	}
	up, err := dialProxy(*socket, strings.TrimSpace(*target))
	if err != nil {
		return 1
	}
	defer up.Close()
	done := make(chan struct{}, 2)
	go func() {
		io.Copy(up, os.Stdin)
		if cw, ok := up.(interface{ CloseWrite() error }); ok {
			cw.CloseWrite()
		}
		done <- struct{}{}
	}()
	go func() { io.Copy(os.Stdout, up); done <- struct{}{} }()
	<-done
	<-done
	return 0
}
