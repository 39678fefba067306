package backends_test

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

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
