package egress

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"path/filepath"
	"testing"
	"time"
)

// benchServer accepts connections on loopback; each connection gets size
// bytes and is closed.
func benchServer(b *testing.B, size int) (int, func()) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	payload := bytes.Repeat([]byte("x"), 64*1024)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				for left := size; left > 0; {
					n := min(left, len(payload))
					if _, err := c.Write(payload[:n]); err != nil {
						break
					}
					left -= n
				}
				c.Close()
			}()
		}
	}()
	return l.Addr().(*net.TCPAddr).Port, func() { l.Close() }
}

// benchBridge serves the bridge's transparent side for bench.test on
// the name's loopback address at port (the server's port), as a client
// that ignores the proxy variables reaches it, and returns that address.
func benchBridge(b *testing.B, sock string, port int) string {
	t := &transparent{socket: sock, names: newNames(sock), local: map[int]bool{}}
	addr, ok := t.names.lookup("bench.test")
	if !ok {
		b.Fatal("bench.test refused")
	}
	l, err := net.Listen("tcp4", net.JoinHostPort(addr.String(), fmt.Sprint(port)))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { l.Close() })
	go t.acceptOn(l, port)
	return l.Addr().String()
}

func benchProxy(b *testing.B) string {
	p := NewProxy(Rules{Allow: []string{"bench.test"}}, io.Discard, func(ctx context.Context, host string) ([]netip.Addr, error) {
		return []netip.Addr{netip.MustParseAddr("127.0.0.1")}, nil
	})
	sock := filepath.Join(b.TempDir(), "p.sock")
	stop, err := p.Listen(sock)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(stop)
	return sock
}

// path is one way to the bench server: a direct loopback connection, a
// CONNECT tunnel through the proxy (allowed name, checked address), or a
// connection to the name's address at the bridge (the path of clients
// that ignore the proxy variables).
type path struct {
	name string
	dial func() (net.Conn, error)
}

func paths(b *testing.B, port int) []path {
	sock := benchProxy(b)
	bridge := benchBridge(b, sock, port)
	return []path{
		{"direct", func() (net.Conn, error) { return net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)) }},
		{"proxy", func() (net.Conn, error) { return dialProxy(sock, fmt.Sprintf("bench.test:%d", port)) }},
		{"bridge", func() (net.Conn, error) { return net.Dial("tcp", bridge) }},
	}
}

// measure runs b.N rounds; each round takes every path once, in turn, so
// that a busy machine slows all paths alike. It reports each path's time
// per round and returns the totals.
func measure(b *testing.B, ps []path, size int64) map[string]time.Duration {
	total := map[string]time.Duration{}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, p := range ps {
			start := time.Now()
			c, err := p.dial()
			if err != nil {
				b.Fatal(err)
			}
			n, _ := io.Copy(io.Discard, c)
			c.Close()
			total[p.name] += time.Since(start)
			if n != size {
				b.Fatalf("%s: read %d bytes, want %d", p.name, n, size)
			}
		}
	}
	return total
}

// BenchmarkConnect measures the time to open a connection, read one byte
// and see it closed, per path; added-ms/conn is what the bridge adds to a
// direct connection.
func BenchmarkConnect(b *testing.B) {
	port, stop := benchServer(b, 1)
	defer stop()
	total := measure(b, paths(b, port), 1)
	for name, d := range total {
		b.ReportMetric(float64(d.Microseconds())/float64(b.N)/1000, name+"-ms/conn")
	}
	b.ReportMetric(float64((total["bridge"]-total["direct"]).Microseconds())/float64(b.N)/1000, "added-ms/conn")
}

// BenchmarkThroughput downloads 100 MB per path per round; bridge-% is
// the bridge's throughput as a share of a direct connection's.
func BenchmarkThroughput(b *testing.B) {
	const size = 100 << 20
	port, stop := benchServer(b, size)
	defer stop()
	total := measure(b, paths(b, port), size)
	for name, d := range total {
		b.ReportMetric(float64(size)*float64(b.N)/d.Seconds()/1e6, name+"-MB/s")
	}
	b.ReportMetric(100*total["direct"].Seconds()/total["bridge"].Seconds(), "bridge-%")
}
