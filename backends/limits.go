package backends

import (
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"

	"github.com/claude-sandbox/claude-sandbox/backends/limits"
	"github.com/claude-sandbox/claude-sandbox/render"
)

// runLimits puts a run under its plan's resource limits: the cgroup
// created for it (nil when the plan needs none) and the rlimits of the
// sandbox's first process.
type runLimits struct {
	cg      *limits.Cgroup
	rlimits []render.Rlimit
	// gate is the pipe bwrap reads its options from (none) before it
	// does anything else: the launcher holds the write end until the
	// rlimits are set on bwrap.
	gateR, gateW *os.File
	self         string
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

// Cmd prepares cmd, before Start, to set the rlimits in the child: the
// child starts through the launcher's rlimit helper, which sets them on
// itself and executes the command.
func (l *runLimits) Cmd(cmd *exec.Cmd) { limits.WrapCmd(cmd, l.self, l.rlimits) }

// GateBwrap prepares cmd, whose process is or becomes (by exec) bwrap,
// cmd.Args[at], run as the launcher's own user (whose limits the
// launcher may set), before Start, to set the rlimits on bwrap before it
// creates the sandbox, without the helper's start of the launcher:
// bwrap's first option becomes --args on a pipe, which bwrap reads to
// its end before it does
// anything else, and whose write end the launcher closes (writing
// nothing) once it has set the limits on bwrap. The limits go on bwrap,
// never on the launcher (a hard limit cannot be raised again), and the
// whole sandbox inherits them.
func (l *runLimits) GateBwrap(cmd *exec.Cmd, at int) error {
	if len(l.rlimits) == 0 {
		return nil
	}
	r, w, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("rlimits: %w", err)
	}
	l.gateR, l.gateW = r, w
	fd := 3 + len(cmd.ExtraFiles)
	cmd.ExtraFiles = append(cmd.ExtraFiles, r)
	cmd.Args = slices.Insert(cmd.Args, at+1, "--args", strconv.Itoa(fd))
	return nil
}

// GateGuardHelper prepares cmd, before Start, to set the rlimits in the
// Unix socket guard's helper, cmd.Args[at], a start of the launcher that
// executes bwrap in its own process: it sets them on itself last, so the
// launcher's rlimit helper need not start in front of the command. The
// program in front of the guard's helper (pasta, the allowlist's
// namespace helper) runs without them.
func (l *runLimits) GateGuardHelper(cmd *exec.Cmd, at int) {
	var opts []string
	for _, w := range limits.Format(l.rlimits) {
		opts = append(opts, "--rlimit", w)
	}
	cmd.Args = slices.Insert(cmd.Args, at+1, opts...)
}

// StartWith returns a start function that runs start (a plain start, or
// one inside the run's network namespace) with the child placed in the
// run's cgroup, and then sets the rlimits on a child GateBwrap prepared
// and lets it go on. A child whose limits cannot be set is killed before
// it has done anything.
func (l *runLimits) StartWith(start func(*exec.Cmd) error) func(*exec.Cmd) error {
	return func(cmd *exec.Cmd) error {
		err := l.cg.StartWith(cmd, start)
		if l.gateW == nil {
			return err
		}
		w := l.gateW
		l.closeGate()
		defer w.Close()
		if err != nil {
			return err
		}
		if err := limits.SetOn(cmd.Process.Pid, l.rlimits); err != nil {
			cmd.Process.Kill()
			w.Close()
			cmd.Wait()
			return fmt.Errorf("rlimits: %w", err)
		}
		return nil
	}
}

// closeGate closes the launcher's copy of the gate's read end and forgets
// the gate; the caller closes the write end.
func (l *runLimits) closeGate() {
	if l.gateR != nil {
		l.gateR.Close()
	}
	l.gateR, l.gateW = nil, nil
}

// Close removes the run's cgroup, killing whatever the sandbox left in it,
// and closes a gate that no start used.
func (l *runLimits) Close() error {
	if l.gateW != nil {
		l.gateW.Close()
	}
	l.closeGate()
	return l.cg.Remove()
}
