package backends

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/claude-sandbox/claude-sandbox/backends/audit"
	"github.com/claude-sandbox/claude-sandbox/profile"
	"github.com/claude-sandbox/claude-sandbox/render"
)

// auditStore is the project's audit state: beside the per-project state
// directories, never inside what a sandbox shares
// ($XDG_STATE_HOME/claude-sandbox/audit/<project>-<hash>).
func auditStore(p *profile.Policy, h *render.Host) audit.Store {
	dir := filepath.Join(filepath.Dir(filepath.Dir(h.StateDir)), "audit", filepath.Base(h.StateDir))
	return audit.Store{Dir: dir, UID: h.UID, GID: h.GID,
		Scope: audit.Scope{Project: p.ProjectDir, ClaudeDir: filepath.Join(h.Home, ".claude")}}
}

// audited runs a backend between the launch snapshot and the exit audit.
// The exit audit runs however the backend ends; a signal that arrives
// while it runs waits for it (and sets the status to 128+N).
func audited(p *profile.Policy, h *render.Host, stdio IO, run func() (int, error)) (int, error) {
	if !h.Is(p.ProjectDir, render.Dir) {
		return 0, fmt.Errorf("project dir %s does not exist", p.ProjectDir)
	}
	r, err := auditStore(p, h).Begin(stdio.Stderr)
	if err != nil {
		return 0, fmt.Errorf("audit at launch: %w", err)
	}
	status, err := run()
	hold := make(chan os.Signal, 4)
	signal.Notify(hold, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(hold)
	if aerr := r.End(stdio.Stderr); aerr != nil {
		fmt.Fprintf(stdio.Stderr, "claude-sandbox: audit at exit: %v (it runs again at the next launch)\n", aerr)
	}
	select {
	case sig := <-hold:
		if err == nil && status < 128 {
			status = 128 + int(sig.(syscall.Signal))
		}
	default:
	}
	return status, err
}

// Audit runs the exit audit by hand for the project of p: it audits runs
// whose launcher was killed and reports every finding still pending
// (accept: then forgets them). It returns the number of findings pending
// before any was accepted.
func Audit(p *profile.Policy, accept bool, w io.Writer) (int, error) {
	h, err := Probe(p)
	if err != nil {
		return 0, err
	}
	s := auditStore(p, h)
	var found []audit.Finding
	if accept {
		found, err = s.Accept()
	} else {
		found, err = s.Check()
	}
	if err != nil {
		return 0, err
	}
	audit.Report(w, found)
	return len(found), nil
}
