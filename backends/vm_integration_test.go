package backends_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	bt "github.com/claude-sandbox/claude-sandbox/backends/backendtest"
	"github.com/claude-sandbox/claude-sandbox/backends/vmimage"
)

func requireVM(t *testing.T) {
	t.Helper()
	bt.RequireTool(t, "qemu-system-x86_64", "apt install qemu-system-x86")
	if _, err := vmimage.FindKernel("/boot", "/lib/modules", ""); err != nil {
		bt.Missing(t, "an installed kernel", "apt install linux-image-amd64")
	}
}

// vmConfig keeps the guest small so that software emulation boots fast.
const vmConfig = "[vm]\nmemory = \"1G\"\ncpus = 1\n"

func TestVMPromises(t *testing.T) {
	// Slow and independent of the other tests: it runs in parallel with
	// them, after the quick ones.
	t.Parallel()
	requireVM(t)
	f := bt.NewFixture(t, bt.TestUser(t))
	f.WriteUserConfig(t, vmConfig)
	h := bt.StartHost(t)
	res := f.Run(t, f.Env(hostEnv...), "--backend=vm", "--no-network", "--shell", f.Project, "--",
		"-c", f.ShellCommand(f.ProbeArgs(h), 42))
	if res.Status != 42 {
		t.Fatalf("status %d, want 42\nstdout: %s\nstderr: %s", res.Status, res.Stdout, res.Stderr)
	}
	r := bt.ParseReport(t, res.Stdout)
	bt.CheckPromises(t, f, h, r)
	if r.PID1 != "init" {
		t.Errorf("PID 1 in the guest is %q, want the launcher's init", r.PID1)
	}
	f.AssertNoRunDirs(t)
}

func TestVMExitStatusesAndNetwork(t *testing.T) {
	// Slow and independent of the other tests: it runs in parallel with
	// them, after the quick ones.
	t.Parallel()
	requireVM(t)
	f := bt.NewFixture(t, bt.TestUser(t))
	f.WriteUserConfig(t, vmConfig)
	res := f.Run(t, f.Env(), "--backend=vm", "--no-network", "--shell", f.Project, "--", "-c", "exit 1")
	if res.Status != 1 {
		t.Errorf("command exited 1, launcher %d (%s)", res.Status, res.Stderr)
	}
	// With the network on, the guest has a network card besides lo; the
	// command's status 0 is the launcher's (each boot costs, so one run
	// checks both).
	res = f.Run(t, f.Env(), "--backend=vm", "--network=full", "--shell", f.Project, "--", "-c", f.ShellCommand(nil, 0))
	if res.Status != 0 {
		t.Errorf("command exited 0, launcher %d (%s)", res.Status, res.Stderr)
	}
	r := bt.ParseReport(t, res.Stdout)
	if !bt.Has(r.Interfaces, "eth0") {
		t.Errorf("network full: interfaces %v, want eth0", r.Interfaces)
	}
	f.AssertNoRunDirs(t)
}

func TestVMKilledLauncherLeavesNothing(t *testing.T) {
	// Slow and independent of the other tests: it runs in parallel with
	// them, after the quick ones.
	t.Parallel()
	requireVM(t)
	f := bt.NewFixture(t, bt.TestUser(t))
	f.WriteUserConfig(t, vmConfig)
	// QEMU's command line names the run directory, which lives in the
	// fixture's TMPDIR: that tells this test's QEMU from any other.
	qemu := func() []string { return bt.Processes("qemu-system", f.TmpDir) }
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGKILL} {
		// The guest's command leaves a file in the project once it runs.
		started := filepath.Join(f.Project, "started-"+sig.String())
		cmd := exec.Command(bt.Launcher(t), "--backend=vm", "--no-network", "--shell", f.Project, "--",
			"-c", "touch '"+started+"'; sleep 300")
		cmd.Env = f.Env()
		cmd.Dir = f.Project
		if os.Getuid() == 0 {
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(f.User.UID), Gid: uint32(f.User.GID)}}
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		booted := bt.WaitUntil(5*time.Minute, func() bool {
			_, err := os.Stat(started)
			return err == nil
		})
		if !booted {
			cmd.Process.Kill()
			<-done
			t.Fatalf("%v: the guest's command did not start", sig)
		}
		if len(qemu()) == 0 {
			t.Errorf("%v: no QEMU of this run found while its guest runs", sig)
		}
		cmd.Process.Signal(sig)
		select {
		case <-done:
		case <-time.After(2 * time.Minute):
			cmd.Process.Kill()
			t.Fatalf("%v: the launcher did not stop", sig)
		}
		if !bt.WaitUntil(time.Minute, func() bool { return len(qemu()) == 0 }) {
			t.Errorf("%v: QEMU still running: %v", sig, qemu())
		}
		if sig == syscall.SIGKILL {
			// SIGKILL cannot be caught: the next launch removes what the
			// killed one left.
			if res := f.Run(t, f.Env(), "--backend=vm", "--no-network", "--shell", f.Project, "--", "-c", "true"); res.Status != 0 {
				t.Errorf("the launch after SIGKILL: status %d: %s", res.Status, res.Stderr)
			}
		}
		f.AssertNoRunDirs(t)
	}
}

// TestVMDynamicLauncher boots a launcher built by plain `go build` (cgo
// on, so dynamically linked against libc): the initramfs carries its
// loader and libraries, and the command's status comes back.
func TestVMDynamicLauncher(t *testing.T) {
	requireVM(t)
	dir, err := os.MkdirTemp("", "csbx-dyn-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	os.Chmod(dir, 0o755)
	launcher := filepath.Join(dir, "claude-sandbox")
	build := exec.Command("go", "build", "-o", launcher, "github.com/claude-sandbox/claude-sandbox/cmd/claude-sandbox")
	build.Env = append(os.Environ(), "CGO_ENABLED=1")
	if out, err := build.CombinedOutput(); err != nil {
		bt.Missing(t, "a C compiler for a cgo build ("+strings.TrimSpace(string(out))+")", "apt install gcc")
	}
	files, err := vmimage.RuntimeFiles(launcher)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("go build with CGO_ENABLED=1 made a static launcher; this test needs a dynamic one")
	}
	f := bt.NewFixture(t, bt.TestUser(t))
	f.WriteUserConfig(t, vmConfig)
	cmd := exec.Command(launcher, "--backend=vm", "--no-network", "--shell", f.Project, "--", "-c", "echo guest-$(uname -r); exit 7")
	cmd.Env = f.Env()
	cmd.Dir = f.Project
	if os.Getuid() == 0 {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(f.User.UID), Gid: uint32(f.User.GID)}}
	}
	out, err := cmd.Output()
	status := 0
	if ee, ok := err.(*exec.ExitError); ok {
		status = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	if status != 7 || !strings.Contains(string(out), "guest-") {
		t.Fatalf("dynamic launcher in the vm: status %d, want 7\nstdout: %s", status, out)
	}
	f.AssertNoRunDirs(t)
}
