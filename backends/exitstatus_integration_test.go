package backends_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"

	bt "github.com/claude-sandbox/claude-sandbox/backends/backendtest"
)

// launchTarget is one backend and network mode the exit statuses are
// checked on, with the user it is launched as.
type launchTarget struct {
	name  string
	args  []string
	setup func(t *testing.T) (f *bt.Fixture, env []string, asUser bool)
}

func bubblewrapTarget(network string) launchTarget {
	return launchTarget{name: "bubblewrap/" + network, args: []string{"--backend=bubblewrap", "--network=" + network},
		setup: func(t *testing.T) (*bt.Fixture, []string, bool) {
			bt.RequireTool(t, "bwrap", "apt install bubblewrap")
			if network == "full" {
				bt.RequireTool(t, "pasta", "apt install passt")
			}
			f := bt.NewFixture(t, bt.TestUser(t))
			return f, f.Env(), true
		}}
}

func containerTarget(network string) launchTarget {
	return launchTarget{name: "container/" + network, args: []string{"--backend=container", "--network=" + network},
		setup: func(t *testing.T) (*bt.Fixture, []string, bool) {
			requireContainer(t)
			f := bt.NewSudoFixture(t, bt.TestUser(t))
			return f, f.SudoEnv(), false
		}}
}

func vmTarget(network string) launchTarget {
	return launchTarget{name: "vm/" + network, args: []string{"--backend=vm", "--network=" + network},
		setup: func(t *testing.T) (*bt.Fixture, []string, bool) {
			requireVM(t)
			f := bt.NewFixture(t, bt.TestUser(t))
			f.WriteUserConfig(t, vmConfig)
			return f, f.Env(), true
		}}
}

// exitCase is one way a run ends and the status the launcher must return.
type exitCase struct {
	name string
	// script is the command's shell script; "MARKER" stands for a file
	// it creates once it runs.
	script string
	// signal, when non-zero, is sent to the launcher once MARKER exists.
	signal syscall.Signal
	// project replaces the project dir (a launcher failure).
	project string
	want    int
}

var exitCases = []exitCase{
	{name: "command exits 42", script: "exit 42", want: 42},
	{name: "command killed by SIGTERM", script: "kill -TERM $$", want: 128 + 15},
	{name: "command killed by SIGKILL", script: "kill -KILL $$", want: 128 + 9},
	{name: "launcher sent SIGINT", script: "touch MARKER; while :; do sleep 1; done", signal: syscall.SIGINT, want: 128 + 2},
	{name: "launcher sent SIGTERM", script: "touch MARKER; while :; do sleep 1; done", signal: syscall.SIGTERM, want: 128 + 15},
	{name: "launcher sent SIGHUP", script: "touch MARKER; while :; do sleep 1; done", signal: syscall.SIGHUP, want: 128 + 1},
	{name: "launcher fails", script: "exit 0", project: "/nonexistent/claude-sandbox-test", want: 125},
}

// TestExitStatuses checks every exit status the README promises on each
// backend and network mode: the command's own, 128+N for a command killed
// by signal N, 128+N when the launcher is sent signal N, and 125 when
// the launcher fails.
func TestExitStatuses(t *testing.T) {
	targets := []launchTarget{bubblewrapTarget("off"), bubblewrapTarget("full"), containerTarget("off"), containerTarget("full"), vmTarget("off")}
	for _, tg := range targets {
		t.Run(tg.name, func(t *testing.T) {
			f, env, asUser := tg.setup(t)
			for _, c := range exitCases {
				t.Run(c.name, func(t *testing.T) {
					marker := filepath.Join(f.Project, "running-"+strings.ReplaceAll(c.name, " ", "-"))
					os.Remove(marker)
					project := f.Project
					if c.project != "" {
						project = c.project
					}
					args := append(append([]string{}, tg.args...), "--shell", project, "--", "-c", strings.ReplaceAll(c.script, "MARKER", marker))
					status, stderr := launchAndSignal(t, f, env, asUser, args, marker, c.signal)
					if status != c.want {
						t.Errorf("launcher status %d, want %d\nstderr: %s", status, c.want, stderr)
					}
				})
			}
		})
	}
}

// launchAndSignal starts the launcher, sends it sig once marker exists
// (when sig is non-zero), and returns its exit status and standard error.
func launchAndSignal(t *testing.T, f *bt.Fixture, env []string, asUser bool, args []string, marker string, sig syscall.Signal) (int, string) {
	t.Helper()
	cmd := exec.Command(bt.Launcher(t), args...)
	cmd.Dir = f.Project
	cmd.Env = env
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	// A sandbox left running after the launcher ended would keep the
	// output open: do not wait for it forever.
	cmd.WaitDelay = 30 * time.Second
	if asUser && os.Getuid() == 0 && f.User.UID != 0 {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(f.User.UID), Gid: uint32(f.User.GID)}}
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	deadline := time.After(5 * time.Minute)
	if sig != 0 {
	wait:
		for {
			if _, err := os.Stat(marker); err == nil {
				break
			}
			select {
			case err := <-done:
				t.Fatalf("the launcher ended (%v) before the command ran\n%s", err, stderr.String())
			case <-deadline:
				cmd.Process.Kill()
				t.Fatalf("the command did not start\n%s", stderr.String())
			case <-time.After(20 * time.Millisecond):
				continue wait
			}
		}
		if err := cmd.Process.Signal(sig); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case err := <-done:
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Fatal(err)
		}
		return cmd.ProcessState.ExitCode(), stderr.String()
	case <-deadline:
		cmd.Process.Kill()
		<-done
		t.Fatalf("the launcher did not end\n%s", stderr.String())
	}
	return 0, ""
}

// TestBubblewrapTerminalInterrupt types ^C on the terminal the sandbox
// shares. The command receives it from the terminal, once: the launcher,
// in the same foreground process group, does not send it again. bwrap's
// own outer process dies of that SIGINT too, which ends the sandbox, so
// the status is the command's own (it handled the signal and exited) or
// 130; never a success, 1 or 125.
func TestBubblewrapTerminalInterrupt(t *testing.T) {
	bt.RequireTool(t, "bwrap", "apt install bubblewrap")
	f := bt.NewFixture(t, bt.TestUser(t))
	count, marker, stop := filepath.Join(f.Project, "count"), filepath.Join(f.Project, "ready"), filepath.Join(f.Project, "stop")
	script := `n=0; trap 'n=$((n+1)); echo $n > ` + count + `' INT; touch ` + marker + `; while [ ! -e ` + stop + ` ]; do sleep 0.05; done; exit 7`
	cmd := exec.Command(bt.Launcher(t), "--backend=bubblewrap", "--no-network", "--shell", f.Project, "--", "-c", script)
	cmd.Env = f.Env()
	cmd.Dir = f.Project
	if os.Getuid() == 0 && f.User.UID != 0 {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(f.User.UID), Gid: uint32(f.User.GID)}}
	}
	tty, err := pty.Start(cmd)
	if err != nil {
		t.Fatal(err)
	}
	defer tty.Close()
	var out bytes.Buffer
	go io.Copy(&out, tty)
	defer func() { t.Logf("terminal output:\n%s", out.String()) }()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	waitFile := func(p string) {
		t.Helper()
		deadline := time.After(60 * time.Second)
		for {
			if _, err := os.Stat(p); err == nil {
				return
			}
			select {
			case err := <-done:
				t.Fatalf("the launcher ended early: %v", err)
			case <-deadline:
				cmd.Process.Kill()
				t.Fatalf("%s never appeared", p)
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
	waitFile(marker)
	tty.Write([]byte{3})
	os.WriteFile(stop, nil, 0o644)
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		t.Fatal("the launcher did not end")
	}
	if st := cmd.ProcessState.ExitCode(); st != 7 && st != 130 {
		t.Errorf("status %d after ^C, want the command's own 7 or 130", st)
	}
	// The sandbox may end while the trap writes: an empty file is one.
	if data, err := os.ReadFile(count); err == nil && strings.TrimSpace(string(data)) != "1" && len(data) != 0 {
		t.Errorf("the command received %q SIGINTs, want 1", strings.TrimSpace(string(data)))
	}
}
