package backends_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	bt "github.com/claude-sandbox/claude-sandbox/backends/backendtest"
	"github.com/claude-sandbox/claude-sandbox/backends/limits"
)

// The limit tests never run an unbounded bomb: the fork loop stops at
// forkBound children, the allocation at allocSteps × 64 MiB (1 GiB), and
// every launch runs under a timeout and an outer RLIMIT_NPROC far above
// the limit under test, so a regression costs a few hundred sleeping
// processes, never the machine.
const (
	forkBound  = 1000
	allocSteps = 16
	outerNproc = 3000
)

// forkScript forks children that sleep until the bound or the first
// failure, prints how many it reached, and kills them.
const forkScript = `my $n = 0; my @kids;
for (1..$ARGV[0]) { my $p = fork(); last unless defined $p; if ($p == 0) { sleep 60; exit 0 } push @kids, $p; $n++ }
print "children=$n\n"; kill 'KILL', @kids; waitpid($_, 0) for @kids;
`

// allocScript allocates 64 MiB at a time, touching every page, and
// reports each step.
const allocScript = `$| = 1; my @a;
for my $i (1..$ARGV[0]) { push @a, "x" x (64 << 20); print "allocated ", $i * 64, "M\n" }
print "allocation done\n";
`

// limitsConfig is the user layer of the limit tests.
const limitsConfig = "[limits]\nprocesses = 64\nmemory = \"256M\"\ndisk = \"64M\"\nopen_files = 256\nfile_size = \"32M\"\n"

// bombCommand runs both scripts and the disk filler inside the sandbox.
func bombCommand(f *bt.Fixture) string {
	return "perl " + filepath.Join(f.Project, "fork.pl") + " " + strconv.Itoa(forkBound) +
		"; perl " + filepath.Join(f.Project, "alloc.pl") + " " + strconv.Itoa(allocSteps) +
		"; echo alloc-status=$?" +
		"; echo nofile=$(ulimit -n); (head -c 40000000 /dev/zero > $HOME/big) 2>/dev/null; echo fsize-status=$?; rm -f $HOME/big" +
		"; for i in 1 2 3 4; do dd if=/dev/zero of=$HOME/fill$i bs=1M count=30 2>&1; done | grep -o 'No space left on device' | head -1; rm -f $HOME/fill?" +
		// Attacks: raise a hard limit, move the shell out of the run's cgroup.
		"; (ulimit -Hn 1048576) 2>/dev/null && echo RAISED-LIMIT" +
		"; for f in /sys/fs/cgroup/cgroup.procs /sys/fs/cgroup/pids/cgroup.procs; do (echo $$ > $f) 2>/dev/null && echo ESCAPED-CGROUP; done; exit 0"
}

func writeScripts(t *testing.T, f *bt.Fixture) {
	t.Helper()
	for name, src := range map[string]string{"fork.pl": forkScript, "alloc.pl": allocScript} {
		p := filepath.Join(f.Project, name)
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		os.Chown(p, f.User.UID, f.User.GID)
	}
}

// runNet launches the launcher under the outer safety net: a timeout and
// an RLIMIT_NPROC of outerNproc above what the user runs now. asUser drops
// to the fixture's user when the test runs as root.
func runNet(t *testing.T, f *bt.Fixture, asUser bool, env []string, args ...string) bt.Result {
	t.Helper()
	uid := os.Getuid()
	if asUser {
		uid = f.User.UID
	}
	nproc := strconv.Itoa(limits.UserTasks(uid) + outerNproc)
	return f.RunCommand(t, asUser, 5*time.Minute, env, append([]string{"prlimit", "--nproc=" + nproc + ":" + nproc, "--", bt.Launcher(t)}, args...)...)
}

// bombResult is what the scripts reported.
type bombResult struct {
	children  int
	allocated int // MiB reached before the allocation stopped
	finished  bool
	diskFull  bool
	attack    string // what an attack achieved, "" when none did
	nofile    string // the open files limit inside
	fsize     string // the status of writing a 40 MB file
}

func parseBomb(t *testing.T, res bt.Result) bombResult {
	t.Helper()
	var r bombResult
	m := regexp.MustCompile(`children=(\d+)`).FindStringSubmatch(res.Stdout)
	if m == nil {
		t.Fatalf("no fork report (status %d)\nstdout: %s\nstderr: %s", res.Status, res.Stdout, res.Stderr)
	}
	r.children, _ = strconv.Atoi(m[1])
	for _, m := range regexp.MustCompile(`allocated (\d+)M`).FindAllStringSubmatch(res.Stdout, -1) {
		r.allocated, _ = strconv.Atoi(m[1])
	}
	r.finished = strings.Contains(res.Stdout, "allocation done")
	r.diskFull = strings.Contains(res.Stdout, "No space left on device")
	if m := regexp.MustCompile(`nofile=(\S+)`).FindStringSubmatch(res.Stdout); m != nil {
		r.nofile = m[1]
	}
	if m := regexp.MustCompile(`fsize-status=(\d+)`).FindStringSubmatch(res.Stdout); m != nil {
		r.fsize = m[1]
	}
	r.attack = strings.Join(regexp.MustCompile(`RAISED-LIMIT|ESCAPED-CGROUP`).FindAllString(res.Stdout, -1), " ")
	return r
}

// checkBomb asserts that forking stopped near 64 and the allocation
// before 512 MiB (the limit is 256 MiB; a step may briefly hold twice its
// size).
func checkBomb(t *testing.T, r bombResult, maxChildren int) {
	t.Helper()
	t.Logf("children reached %d (limit 64, loop bound %d); allocation stopped after %d MiB (limit 256 MiB)", r.children, forkBound, r.allocated)
	if r.children < 16 || r.children > maxChildren {
		t.Errorf("forking reached %d children, want between 16 and %d", r.children, maxChildren)
	}
	if r.finished || r.allocated >= 512 {
		t.Errorf("the allocation reached %d MiB (finished %v), want it stopped below 512 MiB", r.allocated, r.finished)
	}
	if r.attack != "" {
		t.Errorf("the sandbox escaped its limits: %s", r.attack)
	}
	if r.nofile != "256" {
		t.Errorf("open files limit %q inside, want 256", r.nofile)
	}
	if r.fsize != "153" {
		t.Errorf("writing a 40 MB file under file_size = 32M ended with status %q, want 153 (SIGXFSZ)", r.fsize)
	}
}

func TestLimitsStopForkAndAllocationBubblewrap(t *testing.T) {
	bt.RequireTool(t, "bwrap", "apt install bubblewrap")
	bt.RequireTool(t, "prlimit", "apt install util-linux")
	bt.RequireTool(t, "perl", "apt install perl")
	for name, u := range users(t) {
		for _, network := range []string{"--no-network", "--network=allowlist", "--network=full"} {
			t.Run(name+network, func(t *testing.T) {
				if network == "--network=full" {
					// pasta forks the Unix socket guard's helper,
					// which sets the limits on itself.
					bt.RequireTool(t, "pasta", "apt install passt")
				}
				f := bt.NewFixture(t, u)
				f.WriteUserConfig(t, limitsConfig)
				writeScripts(t, f)
				res := runNet(t, f, true, f.Env(), "--backend=bubblewrap", network, "--shell", f.Project, "--", "-c", bombCommand(f))
				// The unprivileged user has no cgroup here and gets
				// RLIMIT_NPROC, which counts all the user's tasks: the
				// launcher's own threads, gone once it becomes bwrap,
				// and other processes of the test user that end
				// meanwhile give the sandbox room past 64.
				maxChildren := 64
				if u.UID != 0 {
					maxChildren = 200
				}
				checkBomb(t, parseBomb(t, res), maxChildren)
				assertNoCgroups(t)
			})
		}
	}
}

// TestLimitsBubblewrapLeavesNoDescriptor checks that setting the rlimits
// on bwrap (which waits on a pipe meanwhile) hands the sandbox no
// descriptor: the command has no pipe open for reading, and has limits
// it cannot raise.
func TestLimitsBubblewrapLeavesNoDescriptor(t *testing.T) {
	bt.RequireTool(t, "bwrap", "apt install bubblewrap")
	bt.RequireTool(t, "prlimit", "apt install util-linux")
	for name, u := range users(t) {
		t.Run(name, func(t *testing.T) {
			f := bt.NewFixture(t, u)
			f.WriteUserConfig(t, limitsConfig)
			res := runNet(t, f, true, f.Env(), "--backend=bubblewrap", "--no-network", "--shell", f.Project, "--",
				"-c", "ls -l /proc/$$/fd; echo hard=$(ulimit -Hn)")
			if res.Status != 0 {
				t.Fatalf("status %d\nstdout: %s\nstderr: %s", res.Status, res.Stdout, res.Stderr)
			}
			if !strings.Contains(res.Stdout, "0 -> /dev/null") {
				t.Fatalf("no descriptor listing: %q", res.Stdout)
			}
			if m := regexp.MustCompile(`(?m)^lr-x.* (\d+) -> pipe:.*$`).FindString(res.Stdout); m != "" {
				t.Errorf("the sandbox's shell reads a pipe it was not given: %s", m)
			}
			if !strings.Contains(res.Stdout, "hard=256\n") {
				t.Errorf("hard open-files limit in the sandbox: %q, want 256", res.Stdout)
			}
		})
	}
}

func TestLimitsStopForkAndAllocationContainer(t *testing.T) {
	requireContainer(t)
	bt.RequireTool(t, "prlimit", "apt install util-linux")
	bt.RequireTool(t, "perl", "apt install perl")
	f := bt.NewSudoFixture(t, bt.TestUser(t))
	f.WriteUserConfig(t, limitsConfig)
	writeScripts(t, f)
	res := runNet(t, f, false, f.SudoEnv(), "--backend=container", "--no-network", "--shell", f.Project, "--", "-c", bombCommand(f))
	r := parseBomb(t, res)
	checkBomb(t, r, 64)
	if !r.diskFull {
		t.Errorf("writing 120 MiB into the container's home did not fill its 64 MiB root\nstdout: %s", res.Stdout)
	}
	assertNoCgroups(t)
}

func TestLimitsStopForkAndAllocationVM(t *testing.T) {
	requireVM(t)
	bt.RequireTool(t, "prlimit", "apt install util-linux")
	bt.RequireTool(t, "perl", "apt install perl")
	f := bt.NewFixture(t, bt.TestUser(t))
	f.WriteUserConfig(t, vmConfig+limitsConfig)
	writeScripts(t, f)
	res := runNet(t, f, true, f.Env(), "--backend=vm", "--no-network", "--shell", f.Project, "--", "-c", bombCommand(f))
	r := parseBomb(t, res)
	checkBomb(t, r, 64)
	if !r.diskFull {
		t.Errorf("writing 120 MiB into the guest's home did not fill its 64 MiB tmpfs\nstdout: %s", res.Stdout)
	}
}

// TestLimitsDefaultsLetABuildRun runs a build-sized load under the
// built-in limits, as the unprivileged user (RLIMIT_NPROC, which counts
// threads too, and RLIMIT_DATA): hundreds of processes, a Node program
// with many threads, and a Go build of a program with a cold cache (the
// Go toolchain runs many threads and compiler processes).
func TestLimitsDefaultsLetABuildRun(t *testing.T) {
	bt.RequireTool(t, "bwrap", "apt install bubblewrap")
	bt.RequireTool(t, "prlimit", "apt install util-linux")
	bt.RequireTool(t, "perl", "apt install perl")
	bt.RequireTool(t, "node", "apt install nodejs")
	goTool := bt.RequireTool(t, "go", "install Go from go.dev/dl")
	const workers = 48
	node := `const { Worker } = require('worker_threads'); let online = 0; const ws = [];
for (let i = 0; i < ` + strconv.Itoa(workers) + `; i++) {
  const w = new Worker('setInterval(() => {}, 1000)', { eval: true });
  w.on('online', () => { if (++online === ` + strconv.Itoa(workers) + `) {
    const threads = require('fs').readFileSync('/proc/self/status', 'utf8').match(/Threads:\s+(\d+)/)[1];
    console.log('node threads=' + threads); process.exit(0); } });
  w.on('error', (e) => { console.log('worker failed: ' + e); process.exit(1); });
  ws.push(w);
}`
	f := bt.NewFixture(t, bt.TestUser(t))
	writeScripts(t, f)
	if err := os.WriteFile(filepath.Join(f.Project, "threads.js"), []byte(node), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, src := range map[string]string{
		"hello/go.mod":  "module hello\n\ngo 1.21\n",
		"hello/main.go": "package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println(\"built and ran\") }\n",
	} {
		p := filepath.Join(f.Project, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	bt.ChownTree(t, f.Project, f.User.UID, f.User.GID)
	build := "cd hello && GOCACHE=$PWD/.cache GOPATH=$PWD/.gopath GOTOOLCHAIN=local GOPROXY=off " + goTool + " build -buildvcs=false -o hello . && ./hello"
	res := runNet(t, f, true, f.Env(), "--backend=bubblewrap", "--no-network", "--shell", f.Project, "--", "-c",
		"perl "+filepath.Join(f.Project, "fork.pl")+" 500 && node "+filepath.Join(f.Project, "threads.js")+" && ("+build+")")
	if res.Status != 0 {
		t.Fatalf("status %d\nstdout: %s\nstderr: %s", res.Status, res.Stdout, res.Stderr)
	}
	if !strings.Contains(res.Stdout, "children=500") {
		t.Errorf("500 children did not all start under the defaults: %s", res.Stdout)
	}
	m := regexp.MustCompile(`node threads=(\d+)`).FindStringSubmatch(res.Stdout)
	if m == nil {
		t.Fatalf("node did not report its threads: %s", res.Stdout)
	}
	if n, _ := strconv.Atoi(m[1]); n < workers {
		t.Errorf("node ran %d threads, want at least %d", n, workers)
	}
	if !strings.Contains(res.Stdout, "built and ran") {
		t.Errorf("the Go build did not run under the defaults:\nstdout: %s\nstderr: %s", res.Stdout, res.Stderr)
	}
	t.Logf("under the defaults: 500 children, a node process with %s threads, a cold go build", m[1])
}

// assertNoCgroups fails when a run's cgroup is left in the launcher's
// cgroup parents by a launcher that has exited (the cgroups of a launcher
// that became bwrap are removed by the next launch).
func assertNoCgroups(t *testing.T) {
	t.Helper()
	s := limits.Probe()
	for _, parent := range s.Parents {
		entries, _ := os.ReadDir(parent)
		for _, e := range entries {
			rest, ok := strings.CutPrefix(e.Name(), "claude-sandbox-")
			if !ok {
				continue
			}
			pid, _ := strconv.Atoi(strings.SplitN(rest, "-", 2)[0])
			if pid <= 0 || syscall.Kill(pid, 0) != syscall.ESRCH {
				continue
			}
			// An exec'd launcher's cgroup is removable (as the next launch
			// does) once the sandbox's last processes have been reaped.
			dir := filepath.Join(parent, e.Name())
			deadline := time.Now().Add(10 * time.Second)
			for os.Remove(dir) != nil && !os.IsNotExist(os.Remove(dir)) {
				if time.Now().After(deadline) {
					procs, _ := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
					t.Errorf("cgroup %s of an exited launcher still holds processes: %s", dir, procs)
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
		}
	}
}

// launcherCgroups lists the run cgroups named after launcher pid.
func launcherCgroups(pid int) []string {
	var out []string
	for _, parent := range limits.Probe().Parents {
		m, _ := filepath.Glob(filepath.Join(parent, "claude-sandbox-"+strconv.Itoa(pid)+"-*"))
		out = append(out, m...)
	}
	return out
}

// TestLimitsCgroupRemovedOnSignals stops a launcher that stays bwrap's
// parent with SIGTERM (it removes the run's cgroup itself) and kills one
// with SIGKILL (the next launch removes the cgroup it left and kills what
// still ran in it).
func TestLimitsCgroupRemovedOnSignals(t *testing.T) {
	bt.RequireTool(t, "bwrap", "apt install bubblewrap")
	bt.RequireRoot(t)
	if len(limits.Probe().Controllers()) == 0 {
		bt.Missing(t, "a writable cgroup", "run the tests as root on a host with cgroup v2 or v1 mounted")
	}
	root := bt.User{Name: "root", UID: 0, GID: 0, Home: "/root"}
	f := bt.NewFixture(t, root)
	f.WriteUserConfig(t, limitsConfig)
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGKILL} {
		t.Run(sig.String(), func(t *testing.T) {
			marker := "sleep 3" + strconv.Itoa(int(sig)) + "1"
			cmd := exec.Command(bt.Launcher(t), "--backend=bubblewrap", "--network=allowlist", "--shell", f.Project, "--", "-c", marker)
			cmd.Env, cmd.Dir = f.Env(), f.Project
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			pid := cmd.Process.Pid
			populated := func() bool {
				for _, d := range launcherCgroups(pid) {
					if procs, _ := os.ReadFile(filepath.Join(d, "cgroup.procs")); len(strings.TrimSpace(string(procs))) > 0 {
						return true
					}
				}
				return false
			}
			if !bt.WaitUntil(30*time.Second, populated) {
				cmd.Process.Kill()
				t.Fatalf("no populated cgroup of launcher %d appeared", pid)
			}
			cmd.Process.Signal(sig)
			select {
			case <-done:
			case <-time.After(30 * time.Second):
				cmd.Process.Kill()
				t.Fatalf("the launcher did not stop after %v", sig)
			}
			if sig == syscall.SIGKILL {
				// The next launch removes the cgroup left behind and
				// kills what the sandbox still ran in it.
				if res := runNet(t, f, false, f.Env(), "--backend=bubblewrap", "--network=allowlist", "--shell", f.Project, "--", "-c", "true"); res.Status != 0 {
					t.Fatalf("second launch: status %d: %s", res.Status, res.Stderr)
				}
			}
			if !bt.WaitUntil(10*time.Second, func() bool { return len(launcherCgroups(pid)) == 0 }) {
				t.Errorf("after %v the run's cgroups remain: %v", sig, launcherCgroups(pid))
			}
			if out, _ := exec.Command("pgrep", "-f", marker).Output(); strings.TrimSpace(string(out)) != "" {
				t.Errorf("the sandbox's command survived %v: pids %s", sig, out)
			}
		})
	}
}
