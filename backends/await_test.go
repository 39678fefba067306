package backends

import (
	"os/exec"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestAwaitExit checks that awaitExit waits for the child to end, and only
// that: the child is left to be reaped, with its status.
func TestAwaitExit(t *testing.T) {
	cmd := exec.Command("/bin/sh", "-c", "read line; exit 7")
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	returned := make(chan struct{})
	go func() {
		awaitExit(cmd.Process.Pid)
		close(returned)
	}()
	// While the shell waits for its line, awaitExit must not return.
	select {
	case <-returned:
		t.Fatal("awaitExit returned while the child still ran")
	case <-time.After(100 * time.Millisecond):
	}
	in.Write([]byte("go\n"))
	in.Close()
	select {
	case <-returned:
	case <-time.After(30 * time.Second):
		t.Fatal("awaitExit did not return after the child ended")
	}
	var info unix.Siginfo
	if err := unix.Waitid(unix.P_PID, cmd.Process.Pid, &info, unix.WEXITED|unix.WNOHANG|unix.WNOWAIT, nil); err != nil {
		t.Fatalf("the child is no longer there to be reaped: %v", err)
	}
	err = cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 7 {
		t.Errorf("the child's status after awaitExit: %v, want exit status 7", err)
	}
	// A child that has already ended: awaitExit returns at once.
	done := exec.Command("/bin/true")
	if err := done.Start(); err != nil {
		t.Fatal(err)
	}
	for {
		var si unix.Siginfo
		if unix.Waitid(unix.P_PID, done.Process.Pid, &si, unix.WEXITED|unix.WNOWAIT, nil) == nil {
			break
		}
	}
	awaitExit(done.Process.Pid)
	if err := done.Wait(); err != nil {
		t.Errorf("/bin/true after awaitExit: %v", err)
	}
}
