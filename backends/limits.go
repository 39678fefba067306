package backends

import (
	"os/exec"

	"github.com/claude-sandbox/claude-sandbox/backends/limits"
	"github.com/claude-sandbox/claude-sandbox/render"
)

// runLimits puts a run under its plan's resource limits: the cgroup
// created for it (nil when the plan needs none) and the rlimits of the
// sandbox's first process.
type runLimits struct {
	cg      *limits.Cgroup
	rlimits []render.Rlimit
	self    string
}

// newRunLimits creates the run's cgroup. A plan whose limits need a cgroup
// the launcher cannot create is an error: the sandbox never runs with
// fewer limits than explain shows.
func newRunLimits(plan *render.Plan, h *render.Host) (*runLimits, error) {
	id := h.RunID
	if len(id) > 12 {
		id = id[:12]
	}
	var cg *limits.Cgroup
	if !plan.Limits.Cgroup.Empty() {
		// Probing reads the mount table: a plan whose limits are all
		// rlimits skips it (Create makes no cgroup for those anyway).
		var err error
		if cg, err = limits.Create(limits.Probe(), plan.Limits.Cgroup, id); err != nil {
			return nil, err
		}
	}
	return &runLimits{cg: cg, rlimits: plan.Limits.Rlimits, self: h.Self}, nil
}

// Cmd prepares cmd, before Start, to set the rlimits in the child.
func (l *runLimits) Cmd(cmd *exec.Cmd) { limits.WrapCmd(cmd, l.self, l.rlimits) }

// Start starts cmd inside the run's cgroup.
func (l *runLimits) Start(cmd *exec.Cmd) error { return l.cg.Start(cmd) }

// StartWith returns a start function that runs start (a plain start, or
// one inside the run's network namespace) with the child placed in the
// run's cgroup.
func (l *runLimits) StartWith(start func(*exec.Cmd) error) func(*exec.Cmd) error {
	return func(cmd *exec.Cmd) error { return l.cg.StartWith(cmd, start) }
}

// JoinCgroup moves the calling process into the run's cgroup, as before
// it replaces itself with the sandbox. It must run while the launcher may
// still write the cgroup (before it drops root).
func (l *runLimits) JoinCgroup() error { return l.cg.Join() }

// SetRlimits sets the rlimits on the calling process, right before it
// replaces itself with the sandbox (after the descriptors it passes on
// are in place: a low open-files limit refuses new high descriptors).
func (l *runLimits) SetRlimits() error { return limits.SetSelf(l.rlimits) }

// Close removes the run's cgroup, killing whatever the sandbox left in it.
func (l *runLimits) Close() error { return l.cg.Remove() }
