package backends_test

import (
	"os/exec"
	"strings"
	"testing"

	bt "github.com/claude-sandbox/claude-sandbox/backends/backendtest"
)

// capsScript prints the command's capability sets and no_new_privs, and
// the errno of a connect to a socket of its own that nobody may write to
// (which the Unix socket guard makes on its behalf, with no more
// privileges than the command's).
const capsScript = `grep -E '^(Cap(Inh|Prm|Eff|Bnd|Amb)|NoNewPrivs|Uid):' /proc/self/status
python3 -c '
import os, socket, tempfile
p = os.path.join(tempfile.mkdtemp(), "locked.sock")
s = socket.socket(socket.AF_UNIX); s.bind(p); s.listen(4); os.chmod(p, 0)
try:
    socket.socket(socket.AF_UNIX).connect(p); print("LockedSocket: connected")
except OSError as e:
    print("LockedSocket:", e.errno)
'`

// rootUser is the invoking user root, launching without sudo.
func rootUser() bt.User { return bt.User{Name: "root", UID: 0, GID: 0, Home: "/root"} }

// checkNoCapabilities asserts that the command ran with every capability
// set empty and no_new_privs, so that even as root it cannot undo the
// sandbox's mounts or gain privileges through a set-user-id program.
func checkNoCapabilities(t *testing.T, res bt.Result, wantUID string) {
	t.Helper()
	if res.Status != 0 {
		t.Fatalf("status %d\nstdout: %s\nstderr: %s", res.Status, res.Stdout, res.Stderr)
	}
	fields := map[string]string{}
	for _, line := range strings.Split(res.Stdout, "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), ":"); ok {
			fields[k] = strings.Join(strings.Fields(v), " ")
		}
	}
	for _, k := range []string{"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"} {
		if fields[k] != "0000000000000000" {
			t.Errorf("%s = %q inside, want no capabilities\n%s", k, fields[k], res.Stdout)
		}
	}
	if fields["LockedSocket"] != "13" {
		t.Errorf("connect to a socket file of mode 0 inside: %q, want errno 13 (EACCES)", fields["LockedSocket"])
	}
	if fields["NoNewPrivs"] != "1" {
		t.Errorf("NoNewPrivs = %q inside, want 1", fields["NoNewPrivs"])
	}
	if uid, _, _ := strings.Cut(fields["Uid"], " "); uid != wantUID {
		t.Errorf("uid %q inside, want %s", uid, wantUID)
	}
}

// TestCommandHoldsNoCapabilities runs the command on every backend, as
// the user, through sudo and as root, and reads its capability sets: the
// launcher drops them on the thread that starts the command, which
// differs from the thread that prepared the sandbox on some backends.
func TestCommandHoldsNoCapabilities(t *testing.T) {
	run := []string{"--no-network", "--shell"}
	t.Run("bubblewrap", func(t *testing.T) {
		bt.RequireTool(t, "bwrap", "apt install bubblewrap")
		u := bt.TestUser(t)
		f := bt.NewFixture(t, u)
		res := f.Run(t, f.Env(), append([]string{"--backend=bubblewrap"}, append(run, f.Project, "--", "-c", capsScript)...)...)
		checkNoCapabilities(t, res, itoa(u.UID))
	})
	for _, backend := range []string{"container", "oci"} {
		t.Run(backend+"-sudo", func(t *testing.T) {
			requireBackend(t, backend)
			f := bt.NewSudoFixture(t, bt.TestUser(t))
			res := f.RunAsRoot(t, f.SudoEnv(), append([]string{"--backend=" + backend}, append(run, f.Project, "--", "-c", capsScript)...)...)
			checkNoCapabilities(t, res, itoa(f.User.UID))
		})
		t.Run(backend+"-root", func(t *testing.T) {
			requireBackend(t, backend)
			f := bt.NewFixture(t, rootUser())
			for i := 0; i < 3; i++ {
				res := f.Run(t, f.Env(), append([]string{"--backend=" + backend}, append(run, f.Project, "--", "-c", capsScript)...)...)
				checkNoCapabilities(t, res, "0")
			}
		})
	}
}

// TestVMRootCannotUndoProtections launches the vm as root: the command,
// root in the guest, holds no capabilities, so it can neither unmount the
// read-only bind over .git/config nor write through it; the real host git
// then finds no fsmonitor in the repository's configuration.
func TestVMRootCannotUndoProtections(t *testing.T) {
	t.Parallel()
	requireVM(t)
	bt.RequireRoot(t)
	f := bt.NewFixture(t, rootUser())
	f.WriteUserConfig(t, vmConfig)
	marker := bt.Marker("/tmp/csbx-fsmonitor-ran")
	attack := capsScript + `; umount .git/config; echo "[core]
	fsmonitor = touch ` + marker + `" >> .git/config; exit 0`
	res := f.Run(t, f.Env(), "--backend=vm", "--no-network", "--shell", f.Project, "--", "-c", attack)
	checkNoCapabilities(t, res, "0")
	out, err := exec.Command("git", "-C", f.Project, "config", "--get", "core.fsmonitor").CombinedOutput()
	if err == nil || strings.TrimSpace(string(out)) != "" {
		t.Fatalf("the guest's root changed .git/config: core.fsmonitor = %q", out)
	}
	exec.Command("git", "-C", f.Project, "status").Run()
	if _, err := exec.Command("test", "-e", marker).CombinedOutput(); err == nil {
		t.Fatalf("host git ran the planted fsmonitor")
	}
}

// requireBackend fails or skips when backend cannot run here, as its own
// tests do.
func requireBackend(t *testing.T, backend string) {
	t.Helper()
	switch backend {
	case "container":
		requireContainer(t)
	case "oci":
		requireOCIRuntime(t)
		bt.RequireRoot(t)
	}
}
