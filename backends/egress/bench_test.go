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
// tunnel through the proxy (allowed name, checked address): the
// difference per operation is the latency the proxy adds.
func BenchmarkConnect(b *testing.B) {
	port, stop := benchServer(b, 1)
	defer stop()
	sock := benchProxy(b)
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
}

// BenchmarkThroughput downloads 100 MB directly and through the proxy;
// compare the MB/s columns.
func BenchmarkThroughput(b *testing.B) {
	const size = 100 << 20
	port, stop := benchServer(b, size)
	defer stop()
	sock := benchProxy(b)
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
}
