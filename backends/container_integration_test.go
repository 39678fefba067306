package backends_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	bt "github.com/claude-sandbox/claude-sandbox/backends/backendtest"
)

func requireContainer(t *testing.T) {
	t.Helper()
	bt.RequireRoot(t)
	bt.RequireTool(t, "systemd-nspawn", "apt install systemd-container")
}

func TestContainerPromises(t *testing.T) {
	requireContainer(t)
	f := bt.NewSudoFixture(t, bt.TestUser(t))
	h := bt.StartHost(t)
	res := f.RunAsRoot(t, f.SudoEnv(hostEnv...), "--backend=container", "--no-network", "--shell", f.Project, "--",
		"-c", f.ShellCommand(f.ProbeArgs(h), 42))
	if res.Status != 42 {
		t.Fatalf("status %d, want 42\nstdout: %s\nstderr: %s", res.Status, res.Stdout, res.Stderr)
	}
	r := bt.ParseReport(t, res.Stdout)
	bt.CheckPromises(t, f, h, r)
	if r.Processes > 6 {
		t.Errorf("%d processes visible, want only the container's own", r.Processes)
	}
	f.AssertNoRunDirs(t)
}

func TestContainerExitStatuses(t *testing.T) {
	requireContainer(t)
	f := bt.NewSudoFixture(t, bt.TestUser(t))
	for _, want := range []int{0, 1, 42} {
		res := f.RunAsRoot(t, f.SudoEnv(), "--backend=container", "--no-network", "--shell", f.Project, "--", "-c", "exit "+itoa(want))
		if res.Status != want {
			t.Errorf("command exited %d, launcher %d (%s)", want, res.Status, res.Stderr)
		}
	}
	f.AssertNoRunDirs(t)
}

func TestContainerConcurrentRuns(t *testing.T) {
	requireContainer(t)
	f := bt.NewSudoFixture(t, bt.TestUser(t))
	var wg sync.WaitGroup
	results := make([]bt.Result, 5)
	for i := range results {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			results[i] = f.RunAsRoot(t, f.SudoEnv(), "--backend=container", "--no-network", "--shell", f.Project, "--",
				"-c", "cat /etc/hostname >/dev/null; sleep 1; exit 0")
		}(i)
	}
	wg.Wait()
	for i, r := range results {
		if r.Status != 0 {
			t.Errorf("run %d: status %d: %s", i, r.Status, r.Stderr)
		}
	}
	f.AssertNoRunDirs(t)
}

func TestContainerSIGTERMCleansUp(t *testing.T) {
	requireContainer(t)
	f := bt.NewSudoFixture(t, bt.TestUser(t))
	// The command marks itself: a file in the project once it runs, and
	// its command line, which no other process on the machine carries.
	marker := bt.Marker("csbx-sleep")
	cmd := exec.Command(bt.Launcher(t), "--backend=container", "--no-network", "--shell", f.Project, "--",
		"-c", "touch "+marker+"; exec -a "+marker+" sleep 300")
	cmd.Env = f.SudoEnv()
	cmd.Dir = f.Project
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	running := bt.WaitUntil(3*time.Minute, func() bool {
		_, err := os.Stat(filepath.Join(f.Project, marker))
		return err == nil && len(bt.Processes(marker)) > 0
	})
	if !running {
		cmd.Process.Kill()
		<-done
		t.Fatal("the container's command did not start")
	}
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(2 * time.Minute):
		cmd.Process.Kill()
		t.Fatal("the launcher did not stop after SIGTERM")
	}
	if !bt.WaitUntil(30*time.Second, func() bool { return len(bt.Processes(marker)) == 0 }) {
		t.Errorf("the container's command survived: %v", bt.Processes(marker))
	}
	f.AssertNoRunDirs(t)
}
