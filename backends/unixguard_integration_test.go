package backends_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bt "github.com/claude-sandbox/claude-sandbox/backends/backendtest"
)

// A host program's Unix socket in a shared directory, attacked from
// inside the sandbox.

// hostSocketListener starts, as u, a real host program listening on the
// Unix socket path that appends a line to path+".accepted" for every
// connection it accepts, and waits until it listens. It returns the
// function that reads how many connections it accepted.
func hostSocketListener(t *testing.T, u bt.User, path string, prefix ...string) func() int {
	t.Helper()
	return startHostListener(t, u, path, `import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1]); s.listen(64)
while True:
    c, _ = s.accept()
    with open(sys.argv[2], "a") as f:
        f.write("accepted\n")
    c.close()
`, prefix...)
}

// hostDatagramListener starts, as u, a real host program receiving on
// the Unix datagram socket path, counting each datagram it receives as
// hostSocketListener counts connections.
func hostDatagramListener(t *testing.T, u bt.User, path string) func() int {
	t.Helper()
	return startHostListener(t, u, path, `import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
while True:
    s.recv(64)
    with open(sys.argv[2], "a") as f:
        f.write("accepted\n")
`)
}

// startHostListener runs the python script with the socket's path and
// the log's, waits until the socket exists and returns the log's count.
func startHostListener(t *testing.T, u bt.User, path, script string, prefix ...string) func() int {
	t.Helper()
	python := systemPython(t)
	log := path + ".accepted"
	startService(t, u, []string{"PATH=/usr/bin:/bin"}, append(prefix, python, "-c", script, path, log)...)
	bt.MustWaitUntil(t, "the host listener on "+path, 30*time.Second, func() bool {
		st, err := os.Stat(path)
		return err == nil && st.Mode()&os.ModeSocket != 0
	})
	return func() int {
		data, _ := os.ReadFile(log)
		return strings.Count(string(data), "accepted")
	}
}

// systemPython is the system's python3, which the sandbox sees too (a
// python3 under a home directory is neither the test user's nor shared).
func systemPython(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"/usr/bin/python3", "/bin/python3"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	bt.Missing(t, "python3 in /usr/bin", "apt install python3")
	return ""
}

// unixAttackScript connects, from inside, to the host sockets named by
// its first argument (in the project) and its second (in a shared home
// directory), in the project (its third),
// every way it can, and to sockets made inside, printing NAME ok or NAME
// err ERRNO for each.
const unixAttackScript = `cd "$3" && python3 - "$1" "$2" "$4" <<'PY'
import os, socket, struct, sys
host, home, dgram = sys.argv[1], sys.argv[2], sys.argv[3]
def connect(name, path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(path)
        print(name, "ok")
    except OSError as e:
        print(name, "err", e.errno)
    s.close()
def listen(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path); s.listen(8)
    return s
connect("ABS", host)
connect("REL", os.path.basename(host))
connect("HOME", home)
connect("PROCROOT", "/proc/self/root" + host)
connect("PROCCWD", "/proc/self/cwd/" + os.path.basename(host))
os.symlink(host, "link.sock")
connect("SYMLINK", "link.sock")
os.link(host, "hard.sock")
connect("HARDLINK", "hard.sock")
os.mkdir("sub"); os.chdir("sub")
connect("DOTDOT", "../" + os.path.basename(host))
os.chdir("..")
# A socket bound inside, then the host's renamed over its path.
own = listen("own.sock")
connect("OWN", "own.sock")
# The peer a listener inside sees is the sandbox's user, whoever runs the
# launcher.
c, _ = own.accept()
pid, uid, gid = struct.unpack("3i", c.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))
print("PEERUID", "ok" if (uid, gid) == (os.getuid(), os.getgid()) else "%d:%d" % (uid, gid))
os.rename("hard.sock", "own.sock")
connect("RENAMED", "own.sock")
own2 = listen("own2.sock")
connect("OWNPROJECT", os.path.join(os.getcwd(), "own2.sock"))
tmp = listen("/tmp/inside.sock")
connect("OWNTMP", "/tmp/inside.sock")
for name, kind in (("DGRAM", socket.SOCK_DGRAM), ("SEQPACKET", socket.SOCK_SEQPACKET)):
    try:
        socket.socket(socket.AF_UNIX, kind).close()
        print(name, "ok")
    except OSError as e:
        print(name, "err", e.errno)
try:
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    print("DGRAMPAIR ok")
except OSError as e:
    print("DGRAMPAIR err", e.errno)
a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
a.send(b"x"); print("STREAMPAIR", "ok" if b.recv(1) == b"x" else "bad")
# A datagram socket by another name: the kernel makes SOCK_RAW a
# SOCK_DGRAM, which sends to any path without a connect.
def send(name, make):
    try:
        make().sendto(b"x", dgram)
        print(name, "ok")
    except OSError as e:
        print(name, "err", e.errno)
send("RAW", lambda: socket.socket(socket.AF_UNIX, socket.SOCK_RAW))
send("RAWPAIR", lambda: socket.socketpair(socket.AF_UNIX, socket.SOCK_RAW)[0])
send("RDM", lambda: socket.socket(socket.AF_UNIX, socket.SOCK_RDM))
# A destination on a send over a connected stream or seqpacket socket
# is ignored or refused, never followed.
for name, kind in (("STREAMTO", socket.SOCK_STREAM), ("SEQPACKETTO", socket.SOCK_SEQPACKET)):
    s = socket.socket(socket.AF_UNIX, kind)
    try:
        s.sendto(b"x", host)
        print(name, "ok")
    except OSError as e:
        print(name, "err", e.errno)
# Races: one thread rewrites the address between the sandbox's own
# socket and the host's while another connects; one thread puts fresh
# sockets on the descriptor another connects to the host's. The host's
# listeners count what reached them.
import ctypes, threading
libc = ctypes.CDLL(None, use_errno=True)
mine = listen("race.sock")
threading.Thread(target=lambda: [mine.accept()[0].close() for _ in iter(int, 1)], daemon=True).start()
def sa(p):
    p = p.encode()
    return struct.pack("H", socket.AF_UNIX) + p + b"\0" * (108 - len(p))
own_sa, host_sa = sa(os.path.abspath("race.sock")), sa(host)
buf = ctypes.create_string_buffer(own_sa, 110)
done = threading.Event()
def flip():
    while not done.is_set():
        ctypes.memmove(buf, host_sa, 110)
        ctypes.memmove(buf, own_sa, 110)
t = threading.Thread(target=flip); t.start()
for _ in range(500):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    libc.connect(s.fileno(), buf, 110)
    s.close()
done.set(); t.join()
print("RACEADDR done")
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
fd = s.fileno()
done = threading.Event()
def swap():
    while not done.is_set():
        x = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        os.dup2(x.fileno(), fd)
        x.close()
t = threading.Thread(target=swap); t.start()
hb = ctypes.create_string_buffer(host_sa, 110)
n = sum(1 for _ in range(500) if libc.connect(fd, hb, 110) == 0)
done.set(); t.join()
print("RACEDUP2", n)
# The guard's listener is in no process the sandbox can take descriptors
# from (pidfd_getfd, where the sandbox's filters allow it).
stolen = []
for pid in [int(p) for p in os.listdir("/proc") if p.isdigit() and int(p) != os.getpid()]:
    try:
        pfd = os.pidfd_open(pid)
    except OSError:
        continue
    for fd in range(64):
        got = libc.syscall(438, pfd, fd, 0)
        if got >= 0:
            if "seccomp" in os.readlink("/proc/self/fd/%d" % got):
                stolen.append(pid)
            os.close(got)
    os.close(pfd)
print("STEAL", "none" if not stolen else stolen)
PY`

// unixAttackWant is what unixAttackScript must print with the guard on
// ("err" for any error: a path through the sandbox's /proc/self names the
// launcher's process while it resolves the path, which the sandbox's
// /proc does not show).
var unixAttackWant = map[string]string{
	"ABS": "err 13", "REL": "err 13", "HOME": "err 13", "PROCROOT": "err", "PROCCWD": "err",
	"SYMLINK": "err 13", "HARDLINK": "err 13", "DOTDOT": "err 13", "RENAMED": "err 13",
	"OWN": "ok", "PEERUID": "ok", "OWNPROJECT": "ok", "OWNTMP": "ok", "SEQPACKET": "ok", "STREAMPAIR": "ok",
	"DGRAM": "err 13", "DGRAMPAIR": "err 13", "STEAL": "none",
	"RACEADDR": "done", "RACEDUP2": "0",
	"RAW": "err 13", "RAWPAIR": "err 13", "RDM": "err", "STREAMTO": "err", "SEQPACKETTO": "err",
}

// runUnixAttack starts the host listeners, runs the script with run and
// checks what it printed against want and what the listeners accepted
// against accepted.
func runUnixAttack(t *testing.T, f *bt.Fixture, run func(args ...string) bt.Result, want map[string]string, accepted bool) bt.Result {
	t.Helper()
	host := filepath.Join(f.Project, "host.sock")
	homeDir := filepath.Join(f.Home, ".claude")
	if err := os.MkdirAll(homeDir, 0o755); err != nil {
		t.Fatal(err)
	}
	os.Chown(homeDir, f.User.UID, f.User.GID)
	home := filepath.Join(homeDir, "host.sock")
	count := hostSocketListener(t, f.User, host)
	homeCount := hostSocketListener(t, f.User, home)
	dgram := filepath.Join(f.Project, "host.dgram")
	dgramCount := hostDatagramListener(t, f.User, dgram)
	res := run(host, home, f.Project, dgram)
	t.Logf("inside:\n%s%s", res.Stdout, res.Stderr)
	if res.Status != 0 {
		t.Fatalf("status %d", res.Status)
	}
	got := map[string]string{}
	for _, line := range strings.Split(res.Stdout, "\n") {
		if name, rest, ok := strings.Cut(line, " "); ok {
			got[name] = rest
		}
	}
	for name, w := range want {
		if got[name] != w && !(w == "err" && strings.HasPrefix(got[name], "err ")) {
			t.Errorf("%s: got %q, want %q", name, got[name], w)
		}
	}
	n := count() + homeCount() + dgramCount()
	if accepted && n == 0 {
		t.Errorf("the host listeners accepted nothing")
	}
	if !accepted && n != 0 {
		t.Errorf("the host listeners accepted %d connections", n)
	}
	return res
}

// checkGuard runs the attack with the guard on, as run launches it, and
// checks the refusals' summary and that the run left nothing behind.
func checkGuard(t *testing.T, f *bt.Fixture, run func(args ...string) bt.Result) {
	t.Helper()
	res := runUnixAttack(t, f, run, unixAttackWant, false)
	if !strings.Contains(res.Stderr, "refused") || !strings.Contains(res.Stderr, "host.sock") {
		t.Errorf("no summary of the refused connects:\n%s", res.Stderr)
	}
	f.AssertNoRunDirs(t)
}

func TestBubblewrapUnixSocketGuard(t *testing.T) {
	bt.RequireTool(t, "bwrap", "apt install bubblewrap")
	for _, network := range []string{"off", "full", "allowlist", "host"} {
		t.Run(network, func(t *testing.T) {
			if network == "full" {
				bt.RequireTool(t, "pasta", "apt install passt")
			}
			f := bt.NewFixture(t, bt.TestUser(t))
			run := func(args ...string) bt.Result {
				return f.Run(t, f.Env(), append([]string{"--backend=bubblewrap", "--network=" + network, "--shell", f.Project, "--", "-c"}, args...)...)
			}
			checkGuard(t, f, func(args ...string) bt.Result { return run(append([]string{unixAttackScript, "sh"}, args...)...) })
			checkRefusalLog(t, f, run)
		})
	}
}

// checkRefusalLog checks that the refusals were logged where the last
// summary says, and that a run refusing nothing leaves no log.
func checkRefusalLog(t *testing.T, f *bt.Fixture, run func(args ...string) bt.Result) {
	t.Helper()
	logs, _ := filepath.Glob(filepath.Join(f.Home, ".local/state/claude-sandbox/logs/unix-sockets-*.log"))
	if len(logs) != 1 {
		t.Fatalf("logs of refused connects: %q, want the attack's", logs)
	}
	data, err := os.ReadFile(logs[0])
	if err != nil || !strings.Contains(string(data), "refused connect to") || !strings.Contains(string(data), "host.sock") {
		t.Errorf("log %s: %q (%v), want the refusals", logs[0], data, err)
	}
	if res := run("true"); res.Status != 0 {
		t.Fatalf("a run refusing nothing: status %d: %s", res.Status, res.Stderr)
	}
	again, _ := filepath.Glob(filepath.Join(f.Home, ".local/state/claude-sandbox/logs/unix-sockets-*.log"))
	if len(again) != 1 {
		t.Errorf("a run refusing nothing left a log: %q", again)
	}
}

// A socket bound in a network namespace of neither the host nor the
// sandbox (another container's) is refused where the sandbox's namespace
// is made in front of bwrap, which lets the launcher ask about the
// sandbox's own sockets.
func TestBubblewrapUnixSocketGuardOtherNamespace(t *testing.T) {
	bt.RequireTool(t, "bwrap", "apt install bubblewrap")
	bt.RequireTool(t, "unshare", "apt install util-linux")
	for _, network := range []string{"full", "allowlist"} {
		t.Run(network, func(t *testing.T) {
			if network == "full" {
				bt.RequireTool(t, "pasta", "apt install passt")
			}
			f := bt.NewFixture(t, bt.TestUser(t))
			other := filepath.Join(f.Project, "other.sock")
			count := hostSocketListener(t, f.User, other, "unshare", "--user", "--map-root-user", "--net")
			script := `python3 -c 'import socket, sys
s = socket.socket(socket.AF_UNIX)
try:
    s.connect(sys.argv[1]); print("OTHER ok")
except OSError as e:
    print("OTHER err", e.errno)' "$1"`
			res := f.Run(t, f.Env(), "--backend=bubblewrap", "--network="+network, "--shell", f.Project, "--", "-c", script, "sh", other)
			if res.Status != 0 || !strings.Contains(res.Stdout, "OTHER err 13") {
				t.Errorf("status %d, want OTHER err 13:\n%s%s", res.Status, res.Stdout, res.Stderr)
			}
			if n := count(); n != 0 {
				t.Errorf("the listener accepted %d connections", n)
			}
		})
	}
}

func TestBubblewrapUnixSocketGuardSudo(t *testing.T) {
	bt.RequireTool(t, "bwrap", "apt install bubblewrap")
	bt.RequireRoot(t)
	f := bt.NewSudoFixture(t, bt.TestUser(t))
	checkGuard(t, f, func(args ...string) bt.Result {
		return f.RunAsRoot(t, f.SudoEnv(), append([]string{"--backend=bubblewrap", "--no-network", "--shell", f.Project, "--", "-c", unixAttackScript, "sh"}, args...)...)
	})
}

// With unix_sockets = "all" every socket the sandbox sees is connectable,
// as without the guard.
func TestBubblewrapUnixSocketsAll(t *testing.T) {
	bt.RequireTool(t, "bwrap", "apt install bubblewrap")
	f := bt.NewFixture(t, bt.TestUser(t))
	f.WriteUserConfig(t, "unix_sockets = \"all\"\n")
	want := map[string]string{"ABS": "ok", "REL": "ok", "HOME": "ok", "SYMLINK": "ok", "OWN": "ok", "DGRAM": "ok", "DGRAMPAIR": "ok", "RAW": "ok"}
	res := runUnixAttack(t, f, func(args ...string) bt.Result {
		return f.Run(t, f.Env(), append([]string{"--backend=bubblewrap", "--no-network", "--shell", f.Project, "--", "-c", unixAttackScript, "sh"}, args...)...)
	}, want, true)
	if strings.Contains(res.Stderr, "refused") {
		t.Errorf("refusals reported with unix_sockets = \"all\":\n%s", res.Stderr)
	}
}

func TestContainerUnixSocketGuard(t *testing.T) {
	requireContainer(t)
	for _, network := range []string{"off", "host"} {
		t.Run(network, func(t *testing.T) {
			f := bt.NewSudoFixture(t, bt.TestUser(t))
			checkGuard(t, f, func(args ...string) bt.Result {
				return f.RunAsRoot(t, f.SudoEnv(), append([]string{"--backend=container", "--network=" + network, "--shell", f.Project, "--", "-c", unixAttackScript, "sh"}, args...)...)
			})
		})
	}
}

// The vm needs no guard: its shares are 9p, and a host socket on one is
// a file the guest's own kernel knows no listener for.
func TestVMHostSocketOnShareUnreachable(t *testing.T) {
	t.Parallel()
	requireVM(t)
	f := bt.NewFixture(t, bt.TestUser(t))
	f.WriteUserConfig(t, vmConfig)
	host := filepath.Join(f.Project, "host.sock")
	count := hostSocketListener(t, f.User, host)
	script := `python3 - "$1" <<'PY'
import os, socket, stat, sys
print("KIND", "socket" if stat.S_ISSOCK(os.lstat(sys.argv[1]).st_mode) else "other")
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
try:
    s.connect(sys.argv[1])
    print("CONNECT ok")
except OSError as e:
    print("CONNECT err", e.errno)
PY`
	res := f.Run(t, f.Env(), "--backend=vm", "--no-network", "--shell", f.Project, "--", "-c", script, "sh", host)
	t.Logf("inside:\n%s%s", res.Stdout, res.Stderr)
	if res.Status != 0 {
		t.Fatalf("status %d", res.Status)
	}
	if !strings.Contains(res.Stdout, "KIND socket") {
		t.Errorf("the guest does not see the host's socket file on the share")
	}
	if !strings.Contains(res.Stdout, "CONNECT err ") {
		t.Errorf("the guest connected to the host's socket")
	}
	if n := count(); n != 0 {
		t.Errorf("the host listener accepted %d connections", n)
	}
	f.AssertNoRunDirs(t)
}

func TestOCIUnixSocketGuard(t *testing.T) {
	requireOCIRuntime(t)
	for name, u := range users(t) {
		t.Run(name, func(t *testing.T) {
			f := bt.NewFixture(t, u)
			checkGuard(t, f, func(args ...string) bt.Result {
				return f.Run(t, f.Env(), append([]string{"--backend=oci", "--no-network", "--shell", f.Project, "--", "-c", unixAttackScript, "sh"}, args...)...)
			})
		})
	}
}
