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
	assertNoRunDirs(t)
}

func TestVMExitStatusesAndNetwork(t *testing.T) {
	requireVM(t)
	f := bt.NewFixture(t, bt.TestUser(t))
	f.WriteUserConfig(t, vmConfig)
	for _, want := range []int{0, 1} {
		res := f.Run(t, f.Env(), "--backend=vm", "--no-network", "--shell", f.Project, "--", "-c", "exit "+itoa(want))
		if res.Status != want {
			t.Errorf("command exited %d, launcher %d (%s)", want, res.Status, res.Stderr)
		}
	}
	// With the network on, the guest has a network card besides lo.
	res := f.Run(t, f.Env(), "--backend=vm", "--network=full", "--shell", f.Project, "--", "-c", f.ShellCommand(nil, 0))
	r := bt.ParseReport(t, res.Stdout)
	if !bt.Has(r.Interfaces, "eth0") {
		t.Errorf("network full: interfaces %v, want eth0", r.Interfaces)
	}
}

func TestVMKilledLauncherLeavesNothing(t *testing.T) {
	requireVM(t)
	f := bt.NewFixture(t, bt.TestUser(t))
	f.WriteUserConfig(t, vmConfig)
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGKILL} {
		cmd := exec.Command(bt.Launcher(t), "--backend=vm", "--no-network", "--shell", f.Project, "--", "-c", "sleep 300")
		cmd.Env = f.Env()
		cmd.Dir = f.Project
		if os.Getuid() == 0 {
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(f.User.UID), Gid: uint32(f.User.GID)}}
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(3 * time.Second)
		cmd.Process.Signal(sig)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(60 * time.Second):
			cmd.Process.Kill()
			t.Fatalf("%v: the launcher did not stop", sig)
		}
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			out, _ := exec.Command("pgrep", "-u", itoa(f.User.UID), "qemu-system").Output()
			if strings.TrimSpace(string(out)) == "" {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if out, _ := exec.Command("pgrep", "-u", itoa(f.User.UID), "qemu-system").Output(); strings.TrimSpace(string(out)) != "" {
			t.Errorf("%v: QEMU still running: %s", sig, out)
		}
		if sig == syscall.SIGKILL {
			// SIGKILL cannot be caught: the next launch removes what the
			// killed one left.
			f.Run(t, f.Env(), "--backend=vm", "--no-network", "--shell", f.Project, "--", "-c", "true")
		}
		assertNoRunDirs(t)
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
}
