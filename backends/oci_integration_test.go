package backends_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	bt "github.com/claude-sandbox/claude-sandbox/backends/backendtest"
	"github.com/claude-sandbox/claude-sandbox/backends/egress"
	"github.com/claude-sandbox/claude-sandbox/render/kube/kubetest"
)

// requireOCIRuntime needs runc or crun and, for rootless runc to keep
// the user's ids, newuidmap and newgidmap.
func requireOCIRuntime(t *testing.T) {
	t.Helper()
	found := false
	for _, p := range []string{"crun", "runc", "/usr/sbin/runc", "/usr/bin/crun"} {
		if _, err := exec.LookPath(p); err == nil {
			found = true
		}
	}
	if !found {
		bt.Missing(t, "an OCI runtime (crun or runc)", "apt install runc")
	}
	for _, p := range []string{"newuidmap", "newgidmap"} {
		if _, err := exec.LookPath(p); err != nil {
			bt.Missing(t, p, "apt install uidmap")
		}
	}
}

// TestOCIPromises runs the standard promise probes in the oci backend,
// rootless as the unprivileged user and as root, and checks on the host
// that the run left no run directory behind.
func TestOCIPromises(t *testing.T) {
	requireOCIRuntime(t)
	checkPromisesAsUsers(t, "oci")
}

// TestOCIThroughSudo launches as root on behalf of the user: the runtime
// runs as root, the command as the user, with every promise kept.
func TestOCIThroughSudo(t *testing.T) {
	requireOCIRuntime(t)
	checkPromisesThroughSudo(t, "oci")
}

func TestOCIExitStatuses(t *testing.T) {
	requireOCIRuntime(t)
	f := bt.NewFixture(t, bt.TestUser(t))
	for _, want := range []int{0, 42} {
		res := f.Run(t, f.Env(), "--backend=oci", "--no-network", "--shell", f.Project, "--", "-c", "exit "+itoa(want))
		if res.Status != want {
			t.Errorf("command exited %d, launcher %d (%s)", want, res.Status, res.Stderr)
		}
	}
}

// TestOCIProtectedPathAttack replaces .git/config from inside: the
// pinned file must be unchanged on the host.
func TestOCIProtectedPathAttack(t *testing.T) {
	requireOCIRuntime(t)
	f := bt.NewFixture(t, bt.TestUser(t))
	cfg := filepath.Join(f.Project, ".git/config")
	hook := filepath.Join(f.Project, ".git/hooks/pre-commit")
	script := "echo evil > .git/config.new; mv .git/config.new .git/config; rm -f .git/config; echo '[core]hooksPath=/tmp' >> .git/config; " +
		"echo evil > .git/hooks/pre-commit; ln -sf /tmp/x .git/hooks/post-checkout; rm -rf .git/hooks; " +
		"mv .git .git-renamed; rm -rf .git; exit 0"
	res := f.Run(t, f.Env(), "--backend=oci", "--no-network", "--shell", f.Project, "--", "-c", script)
	if res.Status != 0 {
		t.Fatalf("status %d: %s", res.Status, res.Stderr)
	}
	data, err := os.ReadFile(cfg)
	if err != nil || string(data) != "[core]\n" {
		t.Errorf(".git/config on the host after the attack: %q %v", data, err)
	}
	if data, err := os.ReadFile(hook); err != nil || string(data) != "#!/bin/sh\n" {
		t.Errorf("the pre-commit hook on the host after the attack: %q %v", data, err)
	}
	if _, err := os.Lstat(filepath.Join(f.Project, ".git/hooks/post-checkout")); err == nil {
		t.Error("a hook was added on the host")
	}
	if _, err := os.Stat(filepath.Join(f.Project, ".git-renamed")); err == nil {
		t.Error(".git was renamed on the host")
	}
	// Git on the host still sees its own configuration.
	if out, err := exec.Command("git", "-C", f.Project, "config", "--get", "core.hooksPath").CombinedOutput(); err == nil {
		t.Errorf("core.hooksPath is set on the host: %s", out)
	}
}

// TestOCIAllowlist runs the allowlist mode: the sandbox reaches the
// launcher's proxy on its loopback, which refuses a domain outside the
// allowlist, and it has no other interface.
func TestOCIAllowlist(t *testing.T) {
	requireOCIRuntime(t)
	f := bt.NewFixture(t, bt.TestUser(t))
	script := `(exec 3<>/dev/tcp/127.0.0.1/3128 && printf 'CONNECT denied.invalid:443 HTTP/1.1\r\nHost: denied.invalid:443\r\n\r\n' >&3 && head -n 1 <&3)
cut -d: -f1 /proc/net/dev | tail -n +3 | tr -d ' '
exit 0`
	res := f.Run(t, f.Env(), "--backend=oci", "--network=allowlist", "--shell", f.Project, "--", "-c", script)
	if res.Status != 0 {
		t.Fatalf("status %d: %s", res.Status, res.Stderr)
	}
	lines := strings.Fields(res.Stdout)
	if !strings.Contains(res.Stdout, "403") || lines[len(lines)-1] != "lo" || strings.Count(res.Stdout, "\n") != 2 {
		t.Errorf("allowlist: want the proxy's refusal and only lo, got %q", res.Stdout)
	}
	if !strings.Contains(res.Stderr, "denied.invalid (not in allowlist)") {
		t.Errorf("the refusal is not reported: %s", res.Stderr)
	}
}

// TestOCIRlimits checks the rlimits of [limits] inside.
func TestOCIRlimits(t *testing.T) {
	requireOCIRuntime(t)
	f := bt.NewFixture(t, bt.TestUser(t))
	f.WriteUserConfig(t, "[limits]\nopen_files = 1234\nfile_size = \"3M\"\n")
	res := f.Run(t, f.Env(), "--backend=oci", "--no-network", "--shell", f.Project, "--", "-c", "ulimit -n; ulimit -f")
	if res.Status != 0 {
		t.Fatalf("status %d: %s", res.Status, res.Stderr)
	}
	// ulimit -f counts 1024-byte blocks.
	if got := strings.Fields(res.Stdout); len(got) != 2 || got[0] != "1234" || got[1] != "3072" {
		t.Errorf("limits inside: %q, want 1234 open files and 3072 blocks", res.Stdout)
	}
}

// TestOCIExportBundleRuns exports the policy as a bundle and runs it with
// the runtime directly, as root: the command runs as the invoking user
// with the policy's status passed through.
func TestOCIExportBundleRuns(t *testing.T) {
	requireOCIRuntime(t)
	bt.RequireRoot(t)
	f := bt.NewFixture(t, bt.User{Name: "root", UID: 0, GID: 0, Home: "/root"})
	dir := filepath.Join(t.TempDir(), "bundle")
	res := f.Run(t, f.Env(hostEnv...), "export", "--format=oci", "-o", dir, "--no-network", "--shell", f.Project)
	if res.Status != 0 {
		t.Fatalf("export: %d %s", res.Status, res.Stderr)
	}
	st, err := os.Stat(filepath.Join(dir, "config.json"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("config.json: %v %v", st, err)
	}
	rt, err := exec.LookPath("runc")
	if err != nil {
		rt = "/usr/sbin/runc"
	}
	state := t.TempDir()
	id := "csbx-export-" + itoa(os.Getpid())
	cmd := exec.Command(rt, "--root", state, "run", "--bundle", dir, id)
	cmd.Stdin = strings.NewReader("test -w " + f.Project + " && ! test -e " + f.Secret + " && exit 7\nexit 1\n")
	out, err := cmd.CombinedOutput()
	t.Cleanup(func() { exec.Command(rt, "--root", state, "delete", "--force", id).Run() })
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 7 {
		t.Fatalf("the exported bundle: %v\n%s", err, out)
	}
}

// TestK8sExportDecodesStrictly exports the Pod manifest through the
// launcher and decodes it strictly.
func TestK8sExportDecodesStrictly(t *testing.T) {
	f := bt.NewFixture(t, bt.TestUser(t))
	res := f.Run(t, f.Env(hostEnv...), "export", "--format=k8s", "--runtime-class=gvisor", "--no-network", f.Project)
	if res.Status != 0 {
		t.Fatalf("export: %d %s", res.Status, res.Stderr)
	}
	pod, np, err := kubetest.ParseManifest([]byte(res.Stdout))
	if err != nil || np == nil {
		t.Fatalf("strict decoding: %v\n%s", err, res.Stdout)
	}
	if pod.Spec.RuntimeClassName == nil || *pod.Spec.RuntimeClassName != "gvisor" || *pod.Spec.SecurityContext.RunAsUser != int64(f.User.UID) {
		t.Errorf("exported Pod: %+v", pod.Spec)
	}
	if strings.Contains(res.Stdout, "sk-test-value") || strings.Contains(res.Stdout, "hunter2") {
		t.Error("the manifest holds a secret value")
	}
}

// TestOCISignals signals the launcher while the container runs: SIGTERM
// ends the command (status 143) and SIGKILL of the launcher still ends
// the container, through its init's lifeline; in both cases nothing of
// the container is left running on the host.
func TestOCISignals(t *testing.T) {
	requireOCIRuntime(t)
	for _, network := range []string{"off", "allowlist"} {
		for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGKILL} {
			ociSignal(t, network, sig)
		}
	}
}

// ociSignal sends sig to the launcher of an oci run with the network
// mode network: the launcher exits 128+sig and nothing of the run
// outlives it (with the allowlist, the netns helper in front of the
// runtime neither).
func ociSignal(t *testing.T, network string, sig syscall.Signal) {
	t.Run(network+"/"+sig.String(), func(t *testing.T) {
		f := bt.NewFixture(t, bt.TestUser(t))
		marker := "csbx-oci-marker-" + itoa(os.Getpid()) + "-" + network + "-" + itoa(int(sig))
		cmd := exec.Command(bt.Launcher(t), "--backend=oci", "--network="+network, "--shell", f.Project, "--", "-c", "exec -a "+marker+" sleep 600")
		cmd.Dir = f.Project
		cmd.Env = f.Env()
		asUser(cmd, f.User)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			for _, pid := range markerPids(marker) {
				syscall.Kill(pid, syscall.SIGKILL)
			}
		})
		if !bt.WaitUntil(30*time.Second, func() bool { return len(markerPids(marker)) > 0 }) {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("the command never started: %s", stderr.String())
		}
		// The helper's command name is its link's, cut to 15 bytes.
		helper := childNamed(cmd.Process.Pid, "claude-sandbox-")
		if network == "allowlist" && (helper == 0 || !strings.Contains(cmdlineOf(helper), egress.NetnsName)) {
			t.Errorf("no network namespace helper in front of the runtime")
		}
		cmd.Process.Signal(sig)
		err := cmd.Wait()
		status := 0
		if ee, ok := err.(*exec.ExitError); ok {
			status = ee.ExitCode()
			if ws := ee.Sys().(syscall.WaitStatus); ws.Signaled() {
				status = 128 + int(ws.Signal())
			}
		}
		if status != 128+int(sig) {
			t.Errorf("launcher status %d, want %d (%s)", status, 128+int(sig), stderr.String())
		}
		if !bt.WaitUntil(15*time.Second, func() bool { return len(markerPids(marker)) == 0 }) {
			t.Errorf("the container's command outlived the launcher: %v", markerPids(marker))
		}
		if helper != 0 && !bt.WaitUntil(15*time.Second, func() bool { return !alive(helper) }) {
			t.Errorf("the network namespace helper %d outlived the launcher", helper)
		}
		// A killed launcher's run directory goes at the next launch.
		if res := f.Run(t, f.Env(), "--backend=oci", "--no-network", "--shell", f.Project, "--", "-c", "true"); res.Status != 0 {
			t.Fatalf("next launch: %d %s", res.Status, res.Stderr)
		}
		f.AssertNoRunDirs(t)
	})
}

// cmdlineOf is the command line of process pid, "" once it is gone.
func cmdlineOf(pid int) string {
	b, _ := os.ReadFile("/proc/" + itoa(pid) + "/cmdline")
	return string(b)
}

// markerPids lists the host processes whose command line starts with marker.
func markerPids(marker string) []int {
	var out []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err == nil && strings.HasPrefix(string(cmdline), marker+"\x00") {
			out = append(out, pid)
		}
	}
	return out
}

// TestOCIFullNetwork runs the full mode rootless and as root: the
// sandbox has its own connected interface besides lo, and the host's
// loopback listener stays unreachable.
func TestOCIFullNetwork(t *testing.T) {
	requireOCIRuntime(t)
	bt.RequireTool(t, "slirp4netns", "apt install slirp4netns")
	for name, u := range users(t) {
		t.Run(name, func(t *testing.T) {
			f := bt.NewFixture(t, u)
			h := bt.StartHost(t)
			res := f.Run(t, f.Env(), "--backend=oci", "--network=full", "--shell", f.Project, "--",
				"-c", f.ShellCommand([]string{"-connect", h.Listener}, 0))
			if res.Status != 0 {
				t.Fatalf("status %d\n%s", res.Status, res.Stderr)
			}
			r := bt.ParseReport(t, res.Stdout)
			if !bt.Has(r.Interfaces, "lo") || !bt.Has(r.Interfaces, "tap0") || len(r.Interfaces) != 2 {
				t.Errorf("interfaces inside: %v, want lo and tap0", r.Interfaces)
			}
			if r.Connect[h.Listener] {
				t.Errorf("the host's loopback listener %s is reachable", h.Listener)
			}
		})
	}
}

// TestOCICgroupLimits runs as root with a process limit: the runtime puts
// the command in a cgroup whose pids.max is the limit.
func TestOCICgroupLimits(t *testing.T) {
	requireOCIRuntime(t)
	bt.RequireRoot(t)
	f := bt.NewFixture(t, bt.User{Name: "root", UID: 0, GID: 0, Home: "/root"})
	f.WriteUserConfig(t, "[limits]\nprocesses = 77\n")
	marker := "csbx-oci-cgroup-" + itoa(os.Getpid())
	cmd := exec.Command(bt.Launcher(t), "--backend=oci", "--no-network", "--shell", f.Project, "--", "-c", "exec -a "+marker+" sleep 600")
	cmd.Dir, cmd.Env = f.Project, f.Env()
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	})
	if !bt.WaitUntil(30*time.Second, func() bool { return len(markerPids(marker)) > 0 }) {
		t.Fatalf("the command never started: %s", stderr.String())
	}
	pid := markerPids(marker)[0]
	data, err := os.ReadFile("/proc/" + itoa(pid) + "/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	var max string
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		var file string
		switch {
		case parts[1] == "pids":
			file = filepath.Join("/sys/fs/cgroup/pids", parts[2], "pids.max")
		case parts[0] == "0" && parts[1] == "":
			file = filepath.Join("/sys/fs/cgroup", parts[2], "pids.max")
		default:
			continue
		}
		if b, err := os.ReadFile(file); err == nil {
			max = strings.TrimSpace(string(b))
			break
		}
	}
	if max != "77" {
		t.Errorf("pids.max of the command's cgroup is %q, want 77 (cgroups: %s)", max, data)
	}
}

// TestOCIRuntimeFailure gives the launcher a runtime that fails before
// the sandbox exists: the launcher reports its own failure (125), never
// a status the command could have returned; a missing command is 127.
func TestOCIRuntimeFailure(t *testing.T) {
	requireOCIRuntime(t)
	f := bt.NewFixture(t, bt.TestUser(t))
	// In the fixture's home, which the test user can reach.
	bin := filepath.Join(f.Home, "fake-bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bin, "runc"), []byte("#!/bin/sh\necho 'runc: broken on purpose' >&2\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	f.WriteUserConfig(t, "[oci]\nruntime = \"runc\"\n")
	env := append(f.Env(), "PATH="+bin+":/usr/local/bin:/usr/bin:/bin")
	res := f.Run(t, env, "--backend=oci", "--no-network", "--shell", f.Project, "--", "-c", "exit 0")
	if res.Status != 125 || !strings.Contains(res.Stderr, "could not start the sandbox") {
		t.Errorf("failing runtime: status %d, stderr %s", res.Status, res.Stderr)
	}
	res = f.Run(t, f.Env(), "--backend=oci", "--no-network", "--shell", f.Project, "--", "-c", "exec /nonexistent/command")
	if res.Status != 127 {
		t.Errorf("missing command: status %d, stderr %s", res.Status, res.Stderr)
	}
}

// TestOCIAllowlistTransparent runs the allowlist's attacks with clients
// that ignore the proxy variables on the oci backend, rootless and as
// root: the launcher's netns helper makes the namespace the runtime
// starts in, so the bridge answers DNS and carries ports 80 and 443 to
// the proxy as on bubblewrap.
func TestOCIAllowlistTransparent(t *testing.T) {
	requireOCIRuntime(t)
	requireTransparentTools(t)
	t.Run("rootless", func(t *testing.T) { ociTransparent(t, false) })
	t.Run("root", func(t *testing.T) { ociTransparent(t, true) })
}

// ociTransparent runs the transparent allowlist script on the oci
// backend as the test user, or through sudo as root on its behalf.
func ociTransparent(t *testing.T, sudo bool) {
	hits := serveLowPorts(t)
	var f *bt.Fixture
	var res bt.Result
	args := []string{"--backend=oci", "--network=allowlist", "--shell", "", "--", "-c", transparentScript}
	if sudo {
		f = bt.NewSudoFixture(t, bt.TestUser(t))
		f.WriteUserConfig(t, "[egress]\nallow = [\"app.localhost\"]\n")
		args[3] = f.Project
		res = f.RunAsRoot(t, f.SudoEnv(), args...)
	} else {
		f = bt.NewFixture(t, bt.TestUser(t))
		f.WriteUserConfig(t, "[egress]\nallow = [\"app.localhost\"]\n")
		args[3] = f.Project
		res = f.Run(t, f.Env(), args...)
	}
	checkTransparent(t, res, hits)
	f.AssertNoRunDirs(t)
}

// TestOCIMissingRunsc asks for gVisor where it is not installed: the
// launch fails with status 125 and says how to install it.
func TestOCIMissingRunsc(t *testing.T) {
	requireOCIRuntime(t)
	if _, err := exec.LookPath("runsc"); err == nil {
		t.Skip("runsc is installed here")
	}
	f := bt.NewFixture(t, bt.TestUser(t))
	f.WriteUserConfig(t, "[oci]\nruntime = \"runsc\"\n")
	res := f.Run(t, f.Env(), "--backend=oci", "--no-network", "--shell", f.Project, "--", "-c", "echo ran")
	if res.Status != 125 || strings.Contains(res.Stdout, "ran") || !strings.Contains(res.Stderr, "install gVisor") {
		t.Errorf("status %d\nstdout: %s\nstderr: %s", res.Status, res.Stdout, res.Stderr)
	}
	f.AssertNoRunDirs(t)
}

// TestOCIExportAllowlistKeepsOffTheHostNetwork exports an allowlist
// policy: without the launcher's namespace and proxy the bundle must get
// a network namespace of its own, never the host's.
func TestOCIExportAllowlistKeepsOffTheHostNetwork(t *testing.T) {
	requireOCIRuntime(t)
	f := bt.NewFixture(t, bt.TestUser(t))
	dir := filepath.Join(f.TmpDir, "bundle")
	res := f.Run(t, f.Env(), "export", "--format=oci", "-o", dir, "--network=allowlist", "--shell", f.Project)
	if res.Status != 0 {
		t.Fatalf("export: %d %s", res.Status, res.Stderr)
	}
	data, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), `"type": "network"`) || !strings.Contains(res.Stderr, "network \"allowlist\" needs the launcher's proxy") {
		t.Errorf("the exported allowlist bundle has no network namespace of its own (or says nothing):\n%s", res.Stderr)
	}
}
