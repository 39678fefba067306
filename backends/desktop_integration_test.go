package backends_test

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	bt "github.com/claude-sandbox/claude-sandbox/backends/backendtest"
)

// Real X servers, windows and screenshots for the display forwards and
// the vm's window.

// xDisplay is a real Xvfb started for a test.
type xDisplay struct {
	// Display is the DISPLAY value (":N").
	Display string
	// Auth is the Xauthority file holding the server's cookie.
	Auth string
}

// Env is what a client of the display needs.
func (x xDisplay) Env() []string {
	return []string{"DISPLAY=" + x.Display, "XAUTHORITY=" + x.Auth}
}

// safeBuffer collects a running program's output, readable meanwhile.
type safeBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *safeBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *safeBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startXvfb starts a real Xvfb as u that accepts only clients presenting
// its cookie, and returns its display once it accepts connections.
func startXvfb(t *testing.T, u bt.User) xDisplay {
	t.Helper()
	bt.RequireTool(t, "Xvfb", "apt install xvfb")
	bt.RequireTool(t, "xauth", "apt install xauth")
	bt.RequireTool(t, "xwininfo", "apt install x11-utils")
	// Clients find the server's socket here; as root the directory is
	// created as X needs it, so an unprivileged server can use it.
	if os.Getuid() == 0 {
		os.Mkdir("/tmp/.X11-unix", 0o1777)
		os.Chmod("/tmp/.X11-unix", 0o1777)
	}
	dir := runtimeDir(t, u)
	auth := filepath.Join(dir, "Xauthority")
	cookie := make([]byte, 16)
	rand.Read(cookie)
	// The server accepts every cookie in its file, whatever display the
	// entry names; the entry for the real display is added once known.
	xauth(t, u, auth, "add", ":9999", "MIT-MAGIC-COOKIE-1", hex.EncodeToString(cookie))
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	// -noreset: by default the server resets when its last client
	// disconnects, and a client connecting meanwhile (Chromium opens
	// several connections one after another) is refused.
	cmd := exec.Command("Xvfb", "-displayfd", "3", "-auth", auth, "-nolisten", "tcp", "-noreset", "-br", "-screen", "0", "1280x1024x24")
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + dir}
	cmd.ExtraFiles = []*os.File{w}
	asUser(cmd, u)
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting Xvfb: %v", err)
	}
	w.Close()
	line, err := bufio.NewReader(r).ReadString('\n')
	r.Close()
	n := strings.TrimSpace(line)
	// Xvfb removes its socket and lock file when terminated.
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
		if n != "" {
			os.Remove("/tmp/.X11-unix/X" + n)
			os.Remove("/tmp/.X" + n + "-lock")
		}
	})
	if err != nil {
		t.Fatalf("Xvfb printed no display number: %v", err)
	}
	x := xDisplay{Display: ":" + n, Auth: auth}
	xauth(t, u, auth, "add", x.Display, "MIT-MAGIC-COOKIE-1", hex.EncodeToString(cookie))
	return x
}

func xauth(t *testing.T, u bt.User, file string, args ...string) {
	t.Helper()
	cmd := exec.Command("xauth", append([]string{"-q", "-f", file}, args...)...)
	cmd.Env = []string{"PATH=/usr/bin:/bin"}
	asUser(cmd, u)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("xauth %v: %v\n%s", args, err, out)
	}
}

// xClient runs an X client against x as u and returns its output.
func xClient(u bt.User, x xDisplay, argv ...string) (string, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append([]string{"PATH=/usr/bin:/bin"}, x.Env()...)
	asUser(cmd, u)
	var out bytes.Buffer
	cmd.Stdout = &out
	err := cmd.Run()
	return out.String(), err
}

// xWindow is a top-level window found on a display.
type xWindow struct {
	Line          string
	X, Y          int
	Width, Height int
}

// treeLine matches a window line of "xwininfo -tree": its geometry
// relative to its parent and its absolute position.
var treeLine = regexp.MustCompile(`(\d+)x(\d+)\+-?\d+\+-?\d+\s+\+(-?\d+)\+(-?\d+)\s*$`)

// findWindow lists the display's windows and returns the largest one
// whose line matches name (case-insensitive).
func findWindow(u bt.User, x xDisplay, name string) (xWindow, bool) {
	out, err := xClient(u, x, "xwininfo", "-root", "-tree")
	if err != nil {
		return xWindow{}, false
	}
	var best xWindow
	found := false
	for _, line := range strings.Split(out, "\n") {
		if !strings.Contains(strings.ToLower(line), strings.ToLower(name)) {
			continue
		}
		m := treeLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		w := xWindow{Line: strings.TrimSpace(line)}
		w.Width, _ = strconv.Atoi(m[1])
		w.Height, _ = strconv.Atoi(m[2])
		w.X, _ = strconv.Atoi(m[3])
		w.Y, _ = strconv.Atoi(m[4])
		if w.Width*w.Height > best.Width*best.Height {
			best, found = w, true
		}
	}
	// Toolkits create small unmapped helper windows first.
	return best, found && best.Width >= 320 && best.Height >= 200
}

// screenshot is the root window's pixels from xwd.
type screenshot struct {
	width, height, bpp, stride int
	pixels                     []byte
}

// takeScreenshot captures the root window of x with xwd and decodes the
// XWD image (a big-endian header, the window name, the colour map, then
// the pixels in Z format).
func takeScreenshot(t *testing.T, u bt.User, x xDisplay) screenshot {
	t.Helper()
	bt.RequireTool(t, "xwd", "apt install x11-apps")
	out, err := xClient(u, x, "xwd", "-root", "-silent")
	if err != nil {
		t.Fatalf("xwd: %v", err)
	}
	data := []byte(out)
	if len(data) < 100 {
		t.Fatalf("xwd wrote %d bytes", len(data))
	}
	field := func(i int) int { return int(binary.BigEndian.Uint32(data[4*i:])) }
	headerSize, version, format := field(0), field(1), field(2)
	if version != 7 || format != 2 {
		t.Fatalf("xwd image: version %d, format %d; want 7 and ZPixmap", version, format)
	}
	s := screenshot{width: field(4), height: field(5), bpp: field(11), stride: field(12)}
	ncolors := field(19)
	start := headerSize + 12*ncolors
	if s.bpp%8 != 0 || start+s.stride*s.height > len(data) {
		t.Fatalf("xwd image: %d bits per pixel, %d bytes for %dx%d", s.bpp, len(data), s.width, s.height)
	}
	s.pixels = data[start : start+s.stride*s.height]
	return s
}

// magenta counts the pure magenta pixels (#ff00ff) in a rectangle, in
// either byte order.
func (s screenshot) magenta(x0, y0, w, h int) int {
	n := s.bpp / 8
	count := 0
	for y := max(y0, 0); y < min(y0+h, s.height); y++ {
		for x := max(x0, 0); x < min(x0+w, s.width); x++ {
			px := s.pixels[y*s.stride+x*n : y*s.stride+x*n+n]
			if n >= 3 && (bytes.Equal(px[:3], []byte{0xff, 0, 0xff}) || bytes.Equal(px[n-3:], []byte{0xff, 0, 0xff})) {
				count++
			}
		}
	}
	return count
}

// TestVMDisplayWindow runs the vm with vm.display on a real Xvfb: QEMU's
// window appears on that display, QEMU gets no variable of the launcher's
// environment beyond the display's, the guest has its GPU and an X server
// on it, what the guest's X server draws (a magenta root window) appears
// in the window on the host's display, and a key typed and a click made
// in the window on the host's display (xdotool) reach the guest's X
// server: the key as the same key, the click at the matching place.
func TestVMDisplayWindow(t *testing.T) {
	requireVM(t)
	if out, _ := exec.Command("qemu-system-x86_64", "-display", "help").Output(); !regexp.MustCompile(`(?m)^gtk$`).Match(out) {
		bt.Missing(t, "QEMU's GTK display", "apt install qemu-system-gui")
	}
	if _, err := os.Stat("/usr/lib/xorg/Xorg"); err != nil {
		bt.Missing(t, "the X server /usr/lib/xorg/Xorg", "apt install xserver-xorg-core")
	}
	u := bt.TestUser(t)
	x := startXvfb(t, u)
	f := bt.NewFixture(t, u)
	f.WriteUserConfig(t, vmConfig+"display = true\n")
	if _, err := exec.LookPath("xsetroot"); err != nil {
		bt.Missing(t, "xsetroot", "apt install x11-xserver-utils")
	}
	bt.RequireTool(t, "xdotool", "apt install xdotool")
	bt.RequireTool(t, "xev", "apt install x11-utils")
	if _, err := os.Stat("/usr/lib/xorg/modules/input/evdev_drv.so"); err != nil {
		bt.Missing(t, "the X evdev input driver", "apt install xserver-xorg-input-evdev")
	}
	rt := runtimeDir(t, u)
	stop := filepath.Join(f.Project, "stop")
	events := filepath.Join(f.Project, "xev.log")
	// The guest's X server paints its root window magenta and reports
	// the keys and buttons its root window gets (its input lines of the
	// server's log are shown when the test fails); Chromium in the guest
	// is tested headless (it takes minutes to draw a window under
	// emulation on a busy machine).
	script := "test -c /dev/dri/card0 && test -O /dev/dri/card0 && echo GPU-OK\n" +
		"[ \"$DISPLAY\" = :0 ] && xwininfo -root >/dev/null && echo X-OK\n" +
		"xwininfo -root | grep -E 'Width|Height'\n" +
		"xsetroot -solid '#ff00ff' && echo PAINTED\n" +
		"stdbuf -oL xev -root -event keyboard -event button >" + events + " 2>&1 &\n" +
		"while [ ! -e " + stop + " ]; do sleep 0.2; done; echo STOPPED\n" +
		"grep -E 'evdev|EE\\)' /run/Xorg.0.log; true"
	cmd := exec.Command(bt.Launcher(t), "--backend=vm", "--no-network", "--shell", f.Project, "--", "-c", script)
	cmd.Env = f.Env(append(append(x.Env(), "XDG_RUNTIME_DIR="+rt), hostEnv...)...)
	cmd.Dir = f.Project
	var out, errb safeBuffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	asUser(cmd, u)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		select {
		case <-done:
		default:
			cmd.Process.Kill()
			<-done
		}
	})
	alive := func() {
		select {
		case err := <-done:
			done <- err
			t.Fatalf("the launcher ended early: %v\nstdout: %s\nstderr: %s", err, out.String(), errb.String())
		default:
		}
	}
	defer func() {
		if t.Failed() {
			t.Logf("inside:\n%s%s", out.String(), errb.String())
		}
	}()
	var win xWindow
	bt.MustWaitUntil(t, "QEMU's window on "+x.Display, 2*time.Minute, func() bool {
		alive()
		var ok bool
		win, ok = findWindow(u, x, "\"QEMU")
		return ok
	})
	t.Logf("window: %s", win.Line)
	// The environment QEMU was started with.
	pid, _ := exec.Command("pgrep", "-P", itoa(cmd.Process.Pid), "qemu-system").Output()
	if env, err := os.ReadFile("/proc/" + strings.TrimSpace(string(pid)) + "/environ"); err == nil {
		for _, e := range strings.Split(strings.TrimRight(string(env), "\x00"), "\x00") {
			name, _, _ := strings.Cut(e, "=")
			if name != "PATH" && name != "DISPLAY" && name != "XAUTHORITY" {
				t.Errorf("QEMU got %s from the launcher's environment", e)
			}
		}
	} else {
		t.Errorf("reading QEMU's environment (pid %q): %v", pid, err)
	}
	bt.MustWaitUntil(t, "the guest's magenta root window in QEMU's window", 3*time.Minute, func() bool {
		alive()
		if w, ok := findWindow(u, x, "\"QEMU"); ok {
			win = w
		}
		return takeScreenshot(t, u, x).magenta(win.X, win.Y, win.Width, win.Height) > 1000
	})
	testVMWindowInput(t, u, x, &win, events, out.String, alive)
	if err := os.WriteFile(stop, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("launcher: %v\nstdout: %s\nstderr: %s", err, out.String(), errb.String())
	}
	done <- nil
	for _, want := range []string{"GPU-OK", "X-OK", "PAINTED", "STOPPED"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("inside the guest: no %s in\n%s", want, out.String())
		}
	}
	assertNoRunDirsIn(t, rt)
}

// guestSize is the guest's screen size printed by xwininfo in the guest.
var guestSize = regexp.MustCompile(`(?s)Width: (\d+).*Height: (\d+)`)

// guestButton is a press of button 1 at (x, y) on the guest's root
// window as xev prints it.
var guestButton = regexp.MustCompile(`ButtonPress event,.*\n.*root:\((\d+),(\d+)\),\n\s*state 0x[0-9a-f]+, button 1,`)

// testVMWindowInput moves the host's pointer to the middle of QEMU's
// window, clicks there and types "x" (xdotool, through the host X
// server's XTEST), and waits until the guest's xev writing to events
// reports the key as "x" and the click near the middle of the guest's
// screen (guestOut holds its size). It sends again every few seconds
// until then: the guest's xev may not have started yet.
func testVMWindowInput(t *testing.T, u bt.User, x xDisplay, win *xWindow, events string, guestOut func() string, alive func()) {
	t.Helper()
	var last time.Time
	var got string
	start := time.Now()
	ok := bt.WaitUntil(3*time.Minute, func() bool {
		alive()
		data, _ := os.ReadFile(events)
		got = string(data)
		if strings.Contains(got, "(keysym 0x78, x)") && guestButton.MatchString(got) {
			return true
		}
		if time.Since(last) > 3*time.Second {
			last = time.Now()
			if w, ok := findWindow(u, x, "\"QEMU"); ok {
				*win = w
			}
			cx, cy := itoa(win.X+win.Width/2), itoa(win.Y+win.Height/2)
			for _, argv := range [][]string{{"mousemove", "--sync", cx, cy}, {"click", "1"}, {"key", "x"}} {
				if out, err := xClient(u, x, append([]string{"xdotool"}, argv...)...); err != nil {
					t.Logf("xdotool %v: %v %s", argv, err, out)
				}
			}
		}
		return false
	})
	if !ok {
		t.Fatalf("the key and the click in QEMU's window (%s) did not reach the guest's X server; its events:\n%s", win.Line, got)
	}
	size := guestSize.FindStringSubmatch(guestOut())
	if size == nil {
		t.Fatalf("no screen size from the guest in\n%s", guestOut())
	}
	m := guestButton.FindStringSubmatch(got)
	bx, _ := strconv.Atoi(m[1])
	by, _ := strconv.Atoi(m[2])
	gw, _ := strconv.Atoi(size[1])
	gh, _ := strconv.Atoi(size[2])
	// The window's menu bar puts its middle a little below the guest
	// screen's.
	if bx < gw/2-64 || bx > gw/2+64 || by < gh/2-64 || by > gh/2+64 {
		t.Errorf("the click in the middle of the window reached the guest at (%d,%d) of %dx%d", bx, by, gw, gh)
	}
	t.Logf("guest screen %dx%d, click at (%d,%d); input reached the guest %v after its screen showed", gw, gh, bx, by, time.Since(start).Round(time.Millisecond))
}

// TestVMDisplayWithoutHostDisplay asks for the window on a host without a
// display, then with a display no server answers: the launcher fails with
// 125 and says why.
func TestVMDisplayWithoutHostDisplay(t *testing.T) {
	requireVM(t)
	f := bt.NewFixture(t, bt.TestUser(t))
	f.WriteUserConfig(t, vmConfig+"display = true\n")
	for _, c := range []struct{ display, want string }{
		{"", "vm.display = true needs a host display"},
		{"DISPLAY=:987", "QEMU could not open its window on the host display"},
	} {
		rt := runtimeDir(t, f.User)
		env := f.Env("XDG_RUNTIME_DIR=" + rt)
		if c.display != "" {
			env = append(env, c.display)
		}
		res := f.Run(t, env, "--backend=vm", "--no-network", "--shell", f.Project, "--", "-c", "true")
		if res.Status != 125 || !strings.Contains(res.Stderr, c.want) {
			t.Errorf("%q: status %d, want 125 saying %q\nstderr: %s", c.display, res.Status, c.want, res.Stderr)
		}
		assertNoRunDirsIn(t, rt)
	}
}

// assertNoRunDirsIn checks that no run directory is left in rt, the
// private XDG_RUNTIME_DIR a test gave the launcher.
func assertNoRunDirsIn(t *testing.T, rt string) {
	t.Helper()
	if m, _ := filepath.Glob(filepath.Join(rt, "claude-sandbox-*")); len(m) > 0 {
		t.Errorf("run directories left behind: %v", m)
	}
}

// TestBubblewrapXauthorityOnlyThisDisplay gives the host's authority file
// a second cookie, for another display: the sandbox's file holds only the
// forwarded display's cookie, clients inside connect with it, and the
// host's file is not reachable.
func TestBubblewrapXauthorityOnlyThisDisplay(t *testing.T) {
	bt.RequireTool(t, "bwrap", "apt install bubblewrap")
	u := bt.TestUser(t)
	x := startXvfb(t, u)
	xauth(t, u, x.Auth, "add", ":4242", "MIT-MAGIC-COOKIE-1", "0123456789abcdef0123456789abcdef")
	f := bt.NewFixture(t, u)
	f.WriteUserConfig(t, "[forward]\ndisplay = true\n")
	script := `xauth -f "$XAUTHORITY" list; echo "ENTRIES $(xauth -f "$XAUTHORITY" list | wc -l)"; ` +
		`xwininfo -root >/dev/null && echo CONNECTED; test -e ` + x.Auth + ` && echo HOST-FILE; true`
	res := f.Run(t, f.Env(x.Env()...), "--backend=bubblewrap", "--no-network", "--shell", f.Project, "--", "-c", script)
	t.Logf("inside:\n%s%s", res.Stdout, res.Stderr)
	if res.Status != 0 || !strings.Contains(res.Stdout, "ENTRIES 1\n") || !strings.Contains(res.Stdout, "CONNECTED") {
		t.Errorf("want one cookie and a connection; status %d\n%s%s", res.Status, res.Stdout, res.Stderr)
	}
	if strings.Contains(res.Stdout, "0123456789abcdef0123456789abcdef") || strings.Contains(res.Stdout, ":4242") {
		t.Errorf("the other display's cookie reached the sandbox:\n%s", res.Stdout)
	}
	if strings.Contains(res.Stdout, "HOST-FILE") {
		t.Errorf("the host's authority file %s is visible inside", x.Auth)
	}
}
