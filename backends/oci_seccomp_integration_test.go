package backends_test

import (
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
		checkHardening(t, host, runOnTerminal(t, hardeningCommand(t, f, "oci", false)), true)
	})
	t.Run("sudo", func(t *testing.T) {
		bt.RequireRoot(t)
		f := bt.NewSudoFixture(t, bt.TestUser(t))
		checkHardening(t, host, runOnTerminal(t, hardeningCommand(t, f, "oci", true)), true)
	})
}
