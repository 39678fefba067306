package backends_test

import (
	"fmt"
	"net"
	"os"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	bt "github.com/claude-sandbox/claude-sandbox/backends/backendtest"
)

var outsideCount atomic.Int32

// outsideServer starts a TCP server outside the host's own addresses: in
// a network namespace the test makes, joined to the host by a veth pair
// on a /30 of its own. A sandbox reaches it only through a real network
// path out of its namespace, never through the host's loopback. It
// returns the server's address; everything is removed when the test ends.
func outsideServer(t *testing.T) string {
	t.Helper()
	bt.RequireRoot(t)
	n := outsideCount.Add(1)
	id := os.Getpid()%60000 + int(n)
	hostName, peerName := fmt.Sprintf("csbx%dh", id), fmt.Sprintf("csbx%dp", id)
	subnet := fmt.Sprintf("10.%d.%d.", 200+int(n)%50, id%250)

	ns, err := onNewThread(func() (netns.NsHandle, error) {
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			return 0, err
		}
		return netns.Get()
	})
	if err != nil {
		t.Fatalf("test network namespace: %v", err)
	}
	t.Cleanup(func() { ns.Close() })

	veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: hostName}, PeerName: peerName}
	if err := netlink.LinkAdd(veth); err != nil {
		t.Fatalf("veth: %v", err)
	}
	t.Cleanup(func() { netlink.LinkDel(veth) })
	peer, err := netlink.LinkByName(peerName)
	if err != nil {
		t.Fatal(err)
	}
	if err := netlink.LinkSetNsFd(peer, int(ns)); err != nil {
		t.Fatal(err)
	}
	hostAddr, _ := netlink.ParseAddr(subnet + "1/30")
	if err := netlink.AddrAdd(veth, hostAddr); err != nil {
		t.Fatal(err)
	}
	if err := netlink.LinkSetUp(veth); err != nil {
		t.Fatal(err)
	}
	inside, err := netlink.NewHandleAt(ns)
	if err != nil {
		t.Fatal(err)
	}
	defer inside.Close()
	peer, err = inside.LinkByName(peerName)
	if err != nil {
		t.Fatal(err)
	}
	peerAddr, _ := netlink.ParseAddr(subnet + "2/30")
	if err := inside.AddrAdd(peer, peerAddr); err != nil {
		t.Fatal(err)
	}
	if err := inside.LinkSetUp(peer); err != nil {
		t.Fatal(err)
	}
	// The listening socket belongs to the namespace it is made in.
	l, err := onNewThread(func() (net.Listener, error) {
		if err := netns.Set(ns); err != nil {
			return nil, err
		}
		return net.Listen("tcp", subnet+"2:0")
	})
	if err != nil {
		t.Fatalf("listening in the test namespace: %v", err)
	}
	bt.AcceptAndClose(t, l)
	return l.Addr().String()
}

// onNewThread runs f on a thread of its own that ends afterwards, so the
// namespaces f joins never serve other code.
func onNewThread[T any](f func() (T, error)) (T, error) {
	type result struct {
		v   T
		err error
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		v, err := f()
		done <- result{v, err}
	}()
	r := <-done
	return r.v, r.err
}
