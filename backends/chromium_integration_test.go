package backends_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bt "github.com/claude-sandbox/claude-sandbox/backends/backendtest"
)

// Chromium inside every backend, started the way a user would, without
// --no-sandbox: the sandbox supplies it (Chromium's own sandbox cannot
// start inside), and Debian's wrapper finds its /etc/chromium.d.

// chromiumQuiet keeps Chromium off the network during a test.
const chromiumQuiet = "--disable-background-networking --disable-component-update --no-first-run --disable-gpu"

// chromiumPage writes an HTML page with a title and a text into the
// fixture's project and returns its path.
func chromiumPage(t *testing.T, f *bt.Fixture) string {
	t.Helper()
	bt.RequireTool(t, "chromium", "apt install chromium")
	p := filepath.Join(f.Project, "page.html")
	html := "<html><head><title>csbx-page-title</title></head><body><p>text rendered inside the sandbox</p></body></html>\n"
	if err := os.WriteFile(p, []byte(html), 0o644); err != nil {
		t.Fatal(err)
	}
	if os.Getuid() == 0 {
		os.Chown(p, f.User.UID, f.User.GID)
	}
	return p
}

// dumpDOM is a headless Chromium printing page's DOM.
func dumpDOM(page string) string {
	return "chromium --headless " + chromiumQuiet + " --dump-dom file://" + page
}

func checkDOM(t *testing.T, res bt.Result) {
	t.Helper()
	if res.Status != 0 || !strings.Contains(res.Stdout, "<p>text rendered inside the sandbox</p>") {
		t.Fatalf("headless Chromium: status %d\nstdout: %s\nstderr: %s", res.Status, res.Stdout, res.Stderr)
	}
}

func TestBubblewrapChromiumHeadless(t *testing.T) {
	bt.RequireTool(t, "bwrap", "apt install bubblewrap")
	f := bt.NewFixture(t, bt.TestUser(t))
	page := chromiumPage(t, f)
	res := f.Run(t, f.Env(), "--backend=bubblewrap", "--no-network", "--shell", f.Project, "--", "-c", dumpDOM(page))
	checkDOM(t, res)
}

func TestContainerChromiumHeadless(t *testing.T) {
	requireContainer(t)
	f := bt.NewSudoFixture(t, bt.TestUser(t))
	page := chromiumPage(t, f)
	res := f.RunAsRoot(t, f.SudoEnv(), "--backend=container", "--no-network", "--shell", f.Project, "--", "-c", dumpDOM(page))
	checkDOM(t, res)
}

func TestVMChromiumHeadless(t *testing.T) {
	requireVM(t)
	f := bt.NewFixture(t, bt.TestUser(t))
	f.WriteUserConfig(t, vmConfig)
	page := chromiumPage(t, f)
	// dconf writes below the runtime directory, which the user must own.
	res := f.Run(t, f.Env(), "--backend=vm", "--no-network", "--shell", f.Project, "--", "-c",
		dumpDOM(page)+" 2>/dev/null && mkdir \"$XDG_RUNTIME_DIR/probe\" && echo RUNTIME-DIR-OK")
	checkDOM(t, res)
	if !strings.Contains(res.Stdout, "RUNTIME-DIR-OK") {
		t.Errorf("the user cannot write to XDG_RUNTIME_DIR in the guest:\n%s%s", res.Stdout, res.Stderr)
	}
}

// headedChromium runs Chromium on the forwarded display until the test
// creates the stop file, and checks that its window appears on the real
// X server.
func headedChromium(t *testing.T, f *bt.Fixture, x xDisplay, start func(script string) *exec.Cmd) {
	t.Helper()
	page := chromiumPage(t, f)
	stop := filepath.Join(f.Project, "stop")
	script := "chromium " + chromiumQuiet + " --user-data-dir=$HOME/chromium-profile file://" + page + " 2>$HOME/chromium.log & pid=$!\n" +
		"while [ ! -e " + stop + " ] && kill -0 $pid 2>/dev/null; do sleep 0.2; done\n" +
		"kill -0 $pid 2>/dev/null || { echo CHROMIUM-DIED; cat $HOME/chromium.log; exit 1; }\nkill $pid; wait $pid; echo STOPPED"
	cmd := start(script)
	var out, errb safeBuffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			os.WriteFile(stop, nil, 0o644)
			<-done
		}
	})
	var win xWindow
	bt.MustWaitUntil(t, "Chromium's window on "+x.Display, time.Minute, func() bool {
		select {
		case err := <-done:
			stopped = true
			t.Fatalf("the sandbox ended before Chromium's window appeared: %v\nstdout: %s\nstderr: %s", err, out.String(), errb.String())
		default:
		}
		var ok bool
		win, ok = findWindow(f.User, x, "csbx-page-title")
		return ok
	})
	t.Logf("window: %s", win.Line)
	if err := os.WriteFile(stop, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	err := <-done
	stopped = true
	if err != nil || !strings.Contains(out.String(), "STOPPED") {
		t.Fatalf("launcher: %v\nstdout: %s\nstderr: %s", err, out.String(), errb.String())
	}
}

func TestBubblewrapChromiumHeaded(t *testing.T) {
	bt.RequireTool(t, "bwrap", "apt install bubblewrap")
	u := bt.TestUser(t)
	x := startXvfb(t, u)
	f := bt.NewFixture(t, u)
	f.WriteUserConfig(t, "[forward]\ndisplay = true\n")
	headedChromium(t, f, x, func(script string) *exec.Cmd {
		cmd := exec.Command(bt.Launcher(t), "--backend=bubblewrap", "--no-network", "--shell", f.Project, "--", "-c", script)
		cmd.Env = f.Env(x.Env()...)
		cmd.Dir = f.Project
		asUser(cmd, u)
		return cmd
	})
}

func TestContainerChromiumHeaded(t *testing.T) {
	requireContainer(t)
	// Through sudo the sandbox runs as the fixture's own account: the X
	// server and its cookie are that account's.
	f := bt.NewSudoFixture(t, bt.TestUser(t))
	x := startXvfb(t, f.User)
	trustedProjectConfig(t, f, "[forward]\ndisplay = true\n")
	headedChromium(t, f, x, func(script string) *exec.Cmd {
		cmd := exec.Command(bt.Launcher(t), "--backend=container", "--no-network", "--shell", f.Project, "--", "-c", script)
		cmd.Env = f.SudoEnv(x.Env()...)
		cmd.Dir = f.Project
		return cmd
	})
}
