package backends_test

import (
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	bt "github.com/claude-sandbox/claude-sandbox/backends/backendtest"
)

// TestVMNixLocalStore builds a derivation with nix-build inside the vm as
// the user: the guest's own daemon builds it as a build user (not as the
// guest's root) and writes the output into the guest's store, where the
// command reads it, and neither the output nor its derivation reaches the
// host's store or database.
func TestVMNixLocalStore(t *testing.T) {
	// Slow and independent of the other tests: it runs in parallel with
	// them, after the quick ones.
	t.Parallel()
	requireVM(t)
	bt.RequireTool(t, "nix-build", "apt install nix-bin")
	bt.RequireTool(t, "nix-daemon", "apt install nix-bin")
	hostStore := bt.RequireTool(t, "nix-store", "apt install nix-bin")
	if st, err := os.Stat("/nix/store"); err != nil || !st.IsDir() {
		bt.Missing(t, "a Nix store (/nix/store)", "create it as root: nix-store --init")
	}
	f := bt.NewFixture(t, bt.TestUser(t))
	f.WriteUserConfig(t, vmConfig)
	// A name of its own: no other run, here or on the host, has built it.
	name := bt.Marker("csbx-vmnix")
	// The output holds the name and the builder's uid.
	build := "echo " + name + " > $out; while read k v rest; do if [ $k = Uid: ]; then echo $v >> $out; fi; done < /proc/self/status"
	expr := `derivation { name = "` + name + `"; system = builtins.currentSystem; builder = "/bin/sh"; args = ["-c" "` + build + `"]; }` + "\n"
	if err := os.WriteFile(filepath.Join(f.Project, "x.nix"), []byte(expr), 0o644); err != nil {
		t.Fatal(err)
	}
	// The daemon starts on the first use only; the user writes the store
	// through it alone.
	script := `daemons() { cat /proc/[0-9]*/comm 2>/dev/null | grep -c '^nix-daemon$'; }
echo "DAEMONS_BEFORE=$(daemons)"
touch /nix/store/` + name + `-direct 2>/dev/null && echo "DIRECT=written"
for f in /nix/store/*/bin/nix-daemon /usr/bin/nix-daemon; do
	[ -e "$f" ] || continue
	if chmod u+w "$f" 2>/dev/null || : 2>/dev/null >>"$f"; then echo "STORE_WRITABLE=$f"; fi
done
touch /nix/store/csbx-planted 2>/dev/null && echo STORE_WRITABLE=/nix/store
out=$(nix-build --no-out-link x.nix) || exit 3
echo "DAEMONS_AFTER=$(daemons)"
echo "OUT=$out"
echo "DRV=$(nix-store -q --deriver "$out")"
echo "CONTENT=$(head -n 1 "$out")"
echo "BUILDER_UID=$(tail -n 1 "$out")"
nix-store --check-validity "$out" || exit 4`
	res := f.Run(t, f.Env(), "--backend=vm", "--no-network", "--shell", f.Project, "--", "-c", script)
	if res.Status != 0 {
		t.Fatalf("status %d, want 0\nstdout: %s\nstderr: %s", res.Status, res.Stdout, res.Stderr)
	}
	vars := map[string]string{}
	for _, line := range strings.Split(res.Stdout, "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), "="); ok {
			vars[k] = v
		}
	}
	out, drv := vars["OUT"], vars["DRV"]
	if !strings.HasPrefix(out, "/nix/store/") || !strings.HasSuffix(out, "-"+name) {
		t.Fatalf("nix-build's output %q is not in the store\nstdout: %s", out, res.Stdout)
	}
	if !strings.HasPrefix(drv, "/nix/store/") || !strings.HasSuffix(drv, "-"+name+".drv") {
		t.Errorf("the output's deriver in the guest is %q, want the derivation in the store", drv)
	}
	if vars["CONTENT"] != name {
		t.Errorf("the output holds %q in the guest, want %q", vars["CONTENT"], name)
	}
	if vars["DAEMONS_BEFORE"] != "0" || vars["DAEMONS_AFTER"] == "0" || vars["DAEMONS_AFTER"] == "" {
		t.Errorf("nix-daemon processes in the guest: %q before the first Nix command, %q after (want none, then some)", vars["DAEMONS_BEFORE"], vars["DAEMONS_AFTER"])
	}
	if vars["DIRECT"] != "" {
		t.Errorf("the user wrote into the guest's store directly")
	}
	// The guest's root stays out of the command's reach: builds run as
	// a build user.
	if uid := vars["BUILDER_UID"]; uid == "" || uid == "0" {
		t.Errorf("the build ran as uid %q, want a build user's", uid)
	}
	// The host's store has none of the paths, and its database knows
	// neither the output nor the derivation.
	for _, p := range []string{out, drv, "/nix/store/" + name + "-direct"} {
		if !strings.HasPrefix(p, "/nix/store/") {
			continue
		}
		if _, err := os.Lstat(p); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("the guest's %s is in the host's store (%v)", p, err)
		}
		if os.Getuid() != 0 || strings.HasSuffix(p, "-direct") {
			// The database is root's: only root opens it without a
			// daemon; it knows store paths (hash-name) alone.
			continue
		}
		cmd := exec.Command(hostStore, "--check-validity", p)
		cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "NIX_REMOTE=local"}
		msg, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(msg), "is not valid") {
			t.Errorf("the host's Nix database on %s: %v: %s (want: not valid)", p, err, msg)
		}
	}
	f.AssertNoRunDirs(t)
}

// TestVMNixRootCannotEscalate attacks the guest's nix-daemon as the
// guest's root, which holds no capabilities: it plants a nix.conf that
// trusts it and names a post-build hook, then asks the daemon for a build
// as root (an empty build-users-group) whose builder, and the hook, unmount the
// read-only bind over .git/config and plant an fsmonitor there. The
// daemon trusts no client and runs no hooks: the build runs as a build
// user, and the host's git finds .git/config unchanged.
func TestVMNixRootCannotEscalate(t *testing.T) {
	t.Parallel()
	requireGuestNixRoot(t, "nix-build")
	f := bt.NewFixture(t, rootUser())
	f.WriteUserConfig(t, vmConfig)
	marker := bt.Marker("/tmp/csbx-nixroot-ran")
	name := bt.Marker("csbx-nixroot")
	// Undoes the protection and plants the fsmonitor; needs root's
	// capabilities.
	undo := `/bin/umount ` + f.Project + `/.git/config; printf '[core]\n\tfsmonitor = touch ` + marker + `\n' >> ` + f.Project + `/.git/config`
	if err := os.WriteFile(filepath.Join(f.Project, "undo.sh"), []byte("#!/bin/sh\n"+undo+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	build := "/bin/sh " + f.Project + "/undo.sh; while read k v rest; do if [ $k = Uid: ]; then echo $v > $out; fi; done < /proc/self/status"
	expr := `derivation { name = "` + name + `"; system = builtins.currentSystem; builder = "/bin/sh"; args = ["-c" "` + build + `"]; }` + "\n"
	if err := os.WriteFile(filepath.Join(f.Project, "x.nix"), []byte(expr), 0o644); err != nil {
		t.Fatal(err)
	}
	config := filepath.Join(f.Project, ".git", "config")
	before, err := os.ReadFile(config)
	if err != nil {
		t.Fatal(err)
	}
	script := `mkdir -p /etc/nix /run/nix-daemon/.config/nix
conf="trusted-users = root
allowed-users = *
build-users-group =
post-build-hook = ` + f.Project + `/undo.sh
pre-build-hook = ` + f.Project + `/undo.sh"
echo "$conf" > /etc/nix/nix.conf
echo "$conf" > /run/nix-daemon/.config/nix/nix.conf
for f in /nix/store/*/bin/nix-daemon /usr/bin/nix-daemon; do
	[ -e "$f" ] || continue
	if chmod u+w "$f" 2>/dev/null || : 2>/dev/null >>"$f"; then echo "STORE_WRITABLE=$f"; fi
done
touch /nix/store/csbx-planted 2>/dev/null && echo STORE_WRITABLE=/nix/store
out=$(nix-build --no-out-link --option build-users-group '' --option sandbox false --option post-build-hook ` + f.Project + `/undo.sh x.nix)
echo "BUILDER_UID=$(cat "$out")"
exit 0`
	res := f.Run(t, f.Env(), "--backend=vm", "--no-network", "--shell", f.Project, "--", "-c", script)
	if res.Status != 0 {
		t.Fatalf("status %d\nstdout: %s\nstderr: %s", res.Status, res.Stdout, res.Stderr)
	}
	assertGitConfigKept(t, f, before, marker, res)
	// The store, where the daemon's own program may live, is read-only
	// to the guest's root.
	if strings.Contains(res.Stdout, "STORE_WRITABLE=") {
		t.Errorf("the guest's root could change the store the daemon runs from:\n%s", res.Stdout)
	}
	// The build itself went through, as a build user.
	uid := ""
	for _, line := range strings.Split(res.Stdout, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "BUILDER_UID="); ok {
			uid = v
		}
	}
	if uid == "" || uid == "0" {
		t.Errorf("the build ran as uid %q, want a build user's\nstdout: %s\nstderr: %s", uid, res.Stdout, res.Stderr)
	}
	f.AssertNoRunDirs(t)
}

// TestVMNixDaemonIgnoresGuestEtc attacks the guest's nix-daemon as the
// guest's root through files the daemon reads when it starts: root owns
// the guest's writable /etc and /run, so it plants /etc/ld.so.preload (a
// library whose constructor unmounts the read-only bind over .git/config
// and plants an fsmonitor there: it needs the root's capabilities the
// command lacks) and a nix.conf, then starts the daemon with a Nix
// command. The daemon sees an /etc and a /run of its own: the host's git
// finds .git/config unchanged.
func TestVMNixDaemonIgnoresGuestEtc(t *testing.T) {
	t.Parallel()
	requireGuestNixRoot(t, "nix-store")
	cc := bt.RequireTool(t, "cc", "apt install gcc")
	f := bt.NewFixture(t, rootUser())
	f.WriteUserConfig(t, vmConfig)
	marker := bt.Marker("/tmp/csbx-nixpreload-ran")
	config := filepath.Join(f.Project, ".git", "config")
	before, err := os.ReadFile(config)
	if err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(t.TempDir(), "evil.c")
	lib := filepath.Join(f.Project, "evil.so")
	code := `#include <stdlib.h>
__attribute__((constructor)) static void evil(void) {
	if (getenv("CSBX_EVIL"))
		return;
	setenv("CSBX_EVIL", "1", 1);
	if (system("/bin/umount ` + config + ` 2>/dev/null") == 0)
		system("printf '[core]\\n\\tfsmonitor = touch ` + marker + `\\n' >> ` + config + `");
}
`
	if err := os.WriteFile(src, []byte(code), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(cc, "-shared", "-fPIC", "-o", lib, src).CombinedOutput(); err != nil {
		t.Fatalf("building the library: %v: %s", err, out)
	}
	script := `echo ` + lib + ` > /etc/ld.so.preload || exit 3
mkdir -p /etc/nix /run/nix-daemon/.config/nix
echo "trusted-users = root" > /etc/nix/nix.conf
nix-store --add ` + lib + ` || exit 4
exit 0`
	res := f.Run(t, f.Env(), "--backend=vm", "--no-network", "--shell", f.Project, "--", "-c", script)
	if res.Status != 0 {
		t.Fatalf("status %d\nstdout: %s\nstderr: %s", res.Status, res.Stdout, res.Stderr)
	}
	assertGitConfigKept(t, f, before, marker, res)
	f.AssertNoRunDirs(t)
}

// requireGuestNixRoot fails or skips unless the vm can run here as root
// with a guest Nix store: the host's store, nix-daemon and client tool.
func requireGuestNixRoot(t *testing.T, tool string) {
	t.Helper()
	requireVM(t)
	bt.RequireRoot(t)
	bt.RequireTool(t, tool, "apt install nix-bin")
	bt.RequireTool(t, "nix-daemon", "apt install nix-bin")
	if st, err := os.Stat("/nix/store"); err != nil || !st.IsDir() {
		bt.Missing(t, "a Nix store (/nix/store)", "create it as root: nix-store --init")
	}
}

// assertGitConfigKept checks with the host's git that the run res left
// the project's .git/config as it was (before), so the launcher's audit
// had nothing to put aside, and that git runs no planted fsmonitor.
func assertGitConfigKept(t *testing.T, f *bt.Fixture, before []byte, marker string, res bt.Result) {
	t.Helper()
	after, err := os.ReadFile(filepath.Join(f.Project, ".git", "config"))
	if err != nil || string(after) != string(before) {
		t.Fatalf("the guest's root changed .git/config through the nix-daemon (%v): %q\nstdout: %s\nstderr: %s", err, after, res.Stdout, res.Stderr)
	}
	out, err := exec.Command("git", "-C", f.Project, "config", "--get", "core.fsmonitor").CombinedOutput()
	if err == nil || strings.TrimSpace(string(out)) != "" {
		t.Fatalf("host git sees core.fsmonitor = %q", out)
	}
	exec.Command("git", "-C", f.Project, "status").Run()
	if _, err := os.Stat(marker); err == nil {
		t.Fatalf("host git ran the planted fsmonitor")
	}
}
