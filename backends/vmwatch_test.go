package backends

import (
	"io"
	"testing"
)

// TestVMWatchNoGTK feeds QEMU's message about a missing GTK display in
// pieces: the watch notices it, and kills QEMU only on a KVM error.
func TestVMWatchNoGTK(t *testing.T) {
	killed := false
	w := &kvmWatch{w: io.Discard, kill: func() { killed = true }}
	for _, part := range []string{"qemu-system-x86_64: Display 'g", "tk' is not available\n"} {
		w.Write([]byte(part))
	}
	if !w.noGTK || killed {
		t.Errorf("noGTK = %v, killed = %v; want true, false", w.noGTK, killed)
	}
	w = &kvmWatch{w: io.Discard, kill: func() { killed = true }}
	w.Write([]byte("qemu-system-x86_64: -display gtk: gtk initialization failed\n"))
	if w.noGTK || !w.noWindow {
		t.Errorf("a window that cannot open: noGTK = %v, noWindow = %v; want false, true", w.noGTK, w.noWindow)
	}
}
