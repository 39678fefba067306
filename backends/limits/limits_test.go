package limits

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/claude-sandbox/claude-sandbox/render"
)

func TestUnescape(t *testing.T) {
	if got := unescape(`/sys/fs/cgroup/a\040b`); got != "/sys/fs/cgroup/a b" {
		t.Errorf("unescape = %q", got)
	}
}

func TestUnder(t *testing.T) {
	m := mount{root: "/", dir: "/sys/fs/cgroup"}
	if d, ok := under(m, "/user.slice/app"); !ok || d != "/sys/fs/cgroup/user.slice/app" {
		t.Errorf("under = %q %v", d, ok)
	}
	// A mount of a cgroup namespace's subtree holds only paths below it.
	m = mount{root: "/lxc/box", dir: "/sys/fs/cgroup/pids"}
	if d, ok := under(m, "/lxc/box/run"); !ok || d != "/sys/fs/cgroup/pids/run" {
		t.Errorf("under = %q %v", d, ok)
	}
	if _, ok := under(m, "/elsewhere"); ok {
		t.Errorf("a path outside the mount's root resolved")
	}
}

func TestUserTasksCountsThreads(t *testing.T) {
	n := UserTasks(os.Getuid())
	// This test process alone runs several threads.
	if n < 2 {
		t.Errorf("UserTasks = %d, want at least this process's threads", n)
	}
}

// requireCgroup skips (fails under CI) when this process cannot create
// cgroups.
func requireCgroup(t *testing.T) Support {
	t.Helper()
	s := Probe()
	if len(s.Controllers()) == 0 {
		if os.Getenv("CI") == "true" {
			t.Fatalf("no writable cgroup: %s", s.Why)
		}
		t.Skipf("no writable cgroup: %s", s.Why)
	}
	return s
}

// TestCgroupPlacesChildAndRemoves starts a child in a run cgroup, checks
// it is there with the limits set, and that Remove kills it and leaves
// nothing.
func TestCgroupPlacesChildAndRemoves(t *testing.T) {
	s := requireCgroup(t)
	c := render.CgroupLimits{Pids: 50, MemoryBytes: 128 << 20, CPUQuotaMicros: 50000, CPUPeriodMicros: 100000}
	cg, err := Create(s, c, "test"+strconv.Itoa(os.Getpid()))
	if err != nil {
		t.Fatal(err)
	}
	defer cg.Remove()
	cmd := exec.Command("sleep", "300")
	if err := cg.Start(cmd); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	data, err := os.ReadFile("/proc/" + strconv.Itoa(cmd.Process.Pid) + "/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	name := filepath.Base(cg.Dirs()[0])
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		for _, ctrl := range s.Controllers() {
			if (cg.Version() == "v2" && parts[0] == "0") || contains(strings.Split(parts[1], ","), ctrl) {
				if !strings.HasSuffix(parts[2], "/"+name) {
					t.Errorf("child in %q for %s, want the run's cgroup %s", parts[2], ctrl, name)
				}
			}
		}
	}
	// The launcher itself is back in its own cgroups.
	self, _ := os.ReadFile("/proc/self/cgroup")
	if strings.Contains(string(self), name) {
		t.Errorf("the launcher stayed in the run's cgroup: %s", self)
	}
	for _, d := range cg.Dirs() {
		if v, err := os.ReadFile(filepath.Join(d, "pids.max")); err == nil && strings.TrimSpace(string(v)) != "50" {
			t.Errorf("%s/pids.max = %q, want 50", d, v)
		}
	}
	if err := cg.Remove(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the child survived the removal of its cgroup")
	}
	if ws := cmd.ProcessState.Sys().(syscall.WaitStatus); !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Errorf("child ended with %v, want SIGKILL", cmd.ProcessState)
	}
	for _, d := range cg.Dirs() {
		if _, err := os.Stat(d); !os.IsNotExist(err) {
			t.Errorf("%s still exists", d)
		}
	}
}

// TestSweepRemovesOnlyDeadLaunchersCgroups pre-creates the cgroups of a
// launcher that no longer runs and of one that does.
func TestSweepRemovesOnlyDeadLaunchersCgroups(t *testing.T) {
	s := requireCgroup(t)
	parent := s.Parents[s.Controllers()[0]]
	// The child below exits at once: its pid names a launcher that is gone.
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	dead := filepath.Join(parent, cgroupName(cmd.Process.Pid, "sweeptest"))
	alive := filepath.Join(parent, cgroupName(os.Getpid(), "sweeptest"))
	// A launcher in another pid namespace may run under a pid this one
	// does not see: its cgroup is left alone.
	foreign := filepath.Join(parent, namePrefix+strconv.Itoa(cmd.Process.Pid)+"-sweeptest-1")
	for _, d := range []string{dead, alive, foreign} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
		defer os.Remove(d)
	}
	// What the dead launcher's sandbox left running is killed.
	orphan := exec.Command("sleep", "300")
	if err := orphan.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { orphan.Wait(); close(done) }()
	if err := write(filepath.Join(dead, "cgroup.procs"), strconv.Itoa(orphan.Process.Pid)); err != nil {
		orphan.Process.Kill()
		t.Fatal(err)
	}
	sweep(parent)
	if _, err := os.Stat(dead); !os.IsNotExist(err) {
		t.Errorf("the dead launcher's cgroup was not removed")
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		orphan.Process.Kill()
		t.Errorf("the process left in the dead launcher's cgroup survived the sweep")
	}
	if _, err := os.Stat(alive); err != nil {
		t.Errorf("a running launcher's cgroup was removed: %v", err)
	}
	if _, err := os.Stat(foreign); err != nil {
		t.Errorf("the cgroup of a launcher in another pid namespace was removed: %v", err)
	}
}

func BenchmarkCgroupCreateRemove(b *testing.B) {
	s := Probe()
	if len(s.Controllers()) == 0 {
		b.Skip("no writable cgroup")
	}
	c := render.CgroupLimits{Pids: 4096, MemoryBytes: 8 << 30}
	for i := 0; i < b.N; i++ {
		cg, err := Create(s, c, "bench"+strconv.Itoa(i))
		if err != nil {
			b.Fatal(err)
		}
		cg.Remove()
	}
}

func BenchmarkProbe(b *testing.B) {
	for i := 0; i < b.N; i++ {
		Probe()
	}
}

func BenchmarkUserTasks(b *testing.B) {
	for i := 0; i < b.N; i++ {
		UserTasks(os.Getuid())
	}
}

// TestRemoveNestedCgroups removes a run cgroup in which a payload manager
// created cgroups of its own, with a process in one of them.
func TestRemoveNestedCgroups(t *testing.T) {
	s := requireCgroup(t)
	cg, err := Create(s, render.CgroupLimits{Pids: 50}, "nest"+strconv.Itoa(os.Getpid()))
	if err != nil {
		t.Fatal(err)
	}
	defer cg.Remove()
	inner := filepath.Join(cg.Dirs()[0], "payload")
	if err := os.Mkdir(inner, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("sleep", "300")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	if err := write(filepath.Join(inner, "cgroup.procs"), strconv.Itoa(cmd.Process.Pid)); err != nil {
		cmd.Process.Kill()
		t.Fatal(err)
	}
	if err := cg.Remove(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the process in the nested cgroup survived")
	}
	if _, err := os.Stat(cg.Dirs()[0]); !os.IsNotExist(err) {
		t.Errorf("%s still exists", cg.Dirs()[0])
	}
}
