// Command claude-sandbox runs an AI coding agent (Claude Code by default) in
// a sandbox: bubblewrap, a systemd-nspawn container or a QEMU virtual
// machine, as the layered TOML policy for the project says.
package main

import (
	"os"

	"github.com/claude-sandbox/claude-sandbox/backends"
)

// Set at link time with -ldflags "-X main.version=... -X main.packageDefaults=...".
var (
	// version is the release version.
	version = "dev"
	// packageDefaults is the distribution's defaults file ("" for none).
	packageDefaults = ""
)

func main() {
	if status, handled := backends.HelperMain(os.Args); handled {
		os.Exit(status)
	}
	os.Exit(Main(os.Args[1:], stdio{in: os.Stdin, out: os.Stdout, err: os.Stderr}))
}
