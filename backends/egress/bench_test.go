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
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go t.serve(c, port)
		}
	}()
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

// BenchmarkConnect compares a direct loopback connection with a CONNECT
// tunnel through the proxy (allowed name, checked address) and with a
// connection to the name's address at the bridge (the path of clients
// that ignore the proxy variables): the difference per operation is the
// latency the allowlist adds.
func BenchmarkConnect(b *testing.B) {
	port, stop := benchServer(b, 1)
	defer stop()
	sock := benchProxy(b)
	bridge := benchBridge(b, sock, port)
	b.Run("direct", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, c)
			c.Close()
		}
	})
	b.Run("proxy", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			c, err := dialProxy(sock, fmt.Sprintf("bench.test:%d", port))
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, c)
			c.Close()
		}
	})
	b.Run("bridge", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			c, err := net.Dial("tcp", bridge)
			if err != nil {
				b.Fatal(err)
			}
			if n, _ := io.Copy(io.Discard, c); n != 1 {
				b.Fatalf("read %d bytes", n)
			}
			c.Close()
		}
	})
}

// BenchmarkThroughput downloads 100 MB directly and through the proxy;
// compare the MB/s columns.
func BenchmarkThroughput(b *testing.B) {
	const size = 100 << 20
	port, stop := benchServer(b, size)
	defer stop()
	sock := benchProxy(b)
	bridge := benchBridge(b, sock, port)
	b.Run("direct", func(b *testing.B) {
		b.SetBytes(size)
		for i := 0; i < b.N; i++ {
			c, _ := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
			io.Copy(io.Discard, c)
			c.Close()
		}
	})
	b.Run("proxy", func(b *testing.B) {
		b.SetBytes(size)
		for i := 0; i < b.N; i++ {
			c, err := dialProxy(sock, fmt.Sprintf("bench.test:%d", port))
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, c)
			c.Close()
		}
	})
	b.Run("bridge", func(b *testing.B) {
		b.SetBytes(size)
		for i := 0; i < b.N; i++ {
			c, err := net.Dial("tcp", bridge)
			if err != nil {
				b.Fatal(err)
			}
			if n, _ := io.Copy(io.Discard, c); n != size {
				b.Fatalf("read %d bytes", n)
			}
			c.Close()
		}
	})
}
