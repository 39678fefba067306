// Package probereport defines the report the in-sandbox probe
// (cmd/sandbox-probe) prints and the integration tests read.
package probereport

// Report is what the probe saw and could do inside a sandbox.
type Report struct {
	UID, GID, EUID int
	Groups         []int
	Hostname       string
	Cwd            string
	PID1           string
	Processes      int
	Env            []string
	Paths          map[string]PathReport
	Interfaces     []string
	Connect        map[string]bool
	DNS            map[string]bool
	Abstract       map[string]bool
	TIOCSTI        string
	UserNamespace  bool
	// Syscalls maps a system call tried with harmless arguments to the
	// error it failed with, or "ok".
	Syscalls     map[string]string
	Written      map[string]string
	FoundProcess bool
}

// PathReport says what the probe could do with a path.
type PathReport struct {
	Exists   bool
	Readable bool
	Writable bool
	Owner    int
}
