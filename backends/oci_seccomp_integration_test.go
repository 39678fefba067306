package backends_test

import (
	"os"
	"os/exec"
	"syscall"
	"testing"

	bt "github.com/claude-sandbox/claude-sandbox/backends/backendtest"
)

// TestOCISeccomp runs the container's attacks in the oci backend on a
// real terminal, rootless and as root through sudo: its seccomp section
// must refuse what bubblewrap's filter refuses (clone3 included), on a
// terminal of the sandbox's own, while bash, git and node still work.
func TestOCISeccomp(t *testing.T) {
	requireOCIRuntime(t)
	bt.RequireTool(t, "node", "apt install nodejs")
	bt.RequireTool(t, "git", "apt install git")
	host := hostSyscalls(t)
	t.Run("user", func(t *testing.T) {
		f := bt.NewFixture(t, bt.TestUser(t))
		cmd := exec.Command(bt.Launcher(t), "--backend=oci", "--no-network", "--shell", f.Project, "--", "-c", hardeningScript(f))
		cmd.Env = f.Env()
		cmd.Dir = f.Project
		if os.Getuid() == 0 && f.User.UID != 0 {
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(f.User.UID), Gid: uint32(f.User.GID)}}
		}
		checkHardening(t, host, runOnTerminal(t, cmd), true)
	})
	t.Run("sudo", func(t *testing.T) {
		bt.RequireRoot(t)
		f := bt.NewSudoFixture(t, bt.TestUser(t))
		cmd := exec.Command(bt.Launcher(t), "--backend=oci", "--no-network", "--shell", f.Project, "--", "-c", hardeningScript(f))
		cmd.Env = f.SudoEnv()
		cmd.Dir = f.Project
		checkHardening(t, host, runOnTerminal(t, cmd), true)
	})
}
