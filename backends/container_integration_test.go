package backends_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
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
	assertNoRunDirs(t)
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
	assertNoRunDirs(t)
}

func TestContainerSIGTERMCleansUp(t *testing.T) {
	requireContainer(t)
	f := bt.NewSudoFixture(t, bt.TestUser(t))
	cmd := exec.Command(bt.Launcher(t), "--backend=container", "--no-network", "--shell", f.Project, "--", "-c", "sleep 300")
	cmd.Env = f.SudoEnv()
	cmd.Dir = f.Project
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for len(runDirs(t)) == 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond)
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatal("the launcher did not stop after SIGTERM")
	}
	out, _ := exec.Command("pgrep", "-f", "sleep 300").Output()
	if strings.TrimSpace(string(out)) != "" {
		t.Errorf("the container's command survived: pids %s", out)
	}
	assertNoRunDirs(t)
}

// runDirs lists run directories of the launcher in /tmp.
func runDirs(t *testing.T) []string {
	m, _ := filepath.Glob(filepath.Join(os.TempDir(), "claude-sandbox-*"))
	return m
}

func assertNoRunDirs(t *testing.T) {
	t.Helper()
	if m := runDirs(t); len(m) > 0 {
		t.Errorf("run directories left behind: %v", m)
	}
}
