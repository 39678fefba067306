package main

import (
	"fmt"

	"github.com/claude-sandbox/claude-sandbox/backends"
	"github.com/claude-sandbox/claude-sandbox/profile"
)

// auditCmd runs the exit audit by hand: files in the project and
// ~/.claude that host tools run by themselves, added or changed by
// sandboxed runs and not yet accepted.
type auditCmd struct {
	Accept  bool   `help:"Accept the files reported (after reviewing them): stop warning about them."`
	Project string `arg:"" optional:"" default:"." help:"Project directory (default: the current directory)."`
}

// Run reports the pending findings; exit status 1 when there are some
// (and they were not accepted).
func (c *auditCmd) Run(s stdio) error {
	sess, err := resolveSession(c.Project, profile.Flags{})
	if err != nil {
		return err
	}
	pending, err := backends.Audit(sess.policy, c.Accept, s.err)
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	switch {
	case pending == 0:
		fmt.Fprintf(s.out, "%s: nothing pending\n", sess.policy.ProjectDir)
	case c.Accept:
		fmt.Fprintf(s.out, "%s: %d file(s) accepted; files renamed aside stay where they are\n", sess.policy.ProjectDir, pending)
	default:
		fmt.Fprintf(s.out, "%s: %d file(s) pending review; accept them with: claude-sandbox audit --accept %s\n",
			sess.policy.ProjectDir, pending, shellWord(sess.policy.ProjectDir))
		return &exitError{status: exitInvalid}
	}
	return nil
}
