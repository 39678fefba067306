package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/claude-sandbox/claude-sandbox/backends"
	"github.com/claude-sandbox/claude-sandbox/profile"
	"github.com/claude-sandbox/claude-sandbox/render"
)

// runCmd is the default command: run the agent in a sandbox.
type runCmd struct {
	selection
	DryRun  bool     `name:"dry-run" help:"Print the command that would run (environment values redacted) and exit."`
	Project string   `arg:"" optional:"" default:"." help:"Project directory (default: the current directory; one named like a command is written ./NAME)."`
	Args    []string `arg:"" optional:"" help:"Arguments for the command: every word after the project dir (a leading -- is dropped)."`
}

// Run resolves the policy and runs it, returning the command's status.
func (c *runCmd) Run(s stdio) error {
	sess, err := resolveSession(c.Project, c.flags(c.Args))
	if err != nil {
		return err
	}
	if sess.trustState == trustUntrusted {
		return sess.untrustedError()
	}
	warnNoGHToken(s.err, sess.policy, os.Getenv)
	if c.DryRun {
		return dryRun(s.out, sess.policy, renderPlan)
	}
	status, err := backends.Run(context.Background(), sess.policy, backends.IO{Stdin: s.in, Stdout: s.out, Stderr: s.err})
	if err != nil {
		return fmt.Errorf("%s backend: %w", sess.policy.Backend, err)
	}
	if status != 0 {
		return &exitError{status: status}
	}
	return nil
}

// warnNoGHToken says so when the policy forwards GitHub tokens but none
// is set: the sandbox starts without one rather than silently.
func warnNoGHToken(w io.Writer, p *profile.Policy, getenv func(string) string) {
	if !p.Forward.GHToken || getenv("GH_TOKEN") != "" || getenv("GITHUB_TOKEN") != "" {
		return
	}
	hint := "set one (GH_TOKEN=$(gh auth token) claude-sandbox --gh-token ...)"
	if getenv("SUDO_USER") != "" {
		hint = "sudo drops it from the environment: pass it with sudo GH_TOKEN=\"$GH_TOKEN\" claude-sandbox ..."
	}
	fmt.Fprintf(w, "claude-sandbox: forward.gh_token: neither GH_TOKEN nor GITHUB_TOKEN is set, so no token is forwarded; %s\n", hint)
}

// dryRun prints the command the policy would run: the environment's
// names (never its values), the placeholders the launch would create for
// missing protected paths, and the shell-quoted argv.
func dryRun(w io.Writer, p *profile.Policy, plan planner) error {
	rendered, err := plan(p)
	if err != nil {
		return fmt.Errorf("%s backend: %w", p.Backend, err)
	}
	fmt.Fprintf(w, "# environment (values redacted): %s\n", strings.Join(envNames(rendered), " "))
	for _, ph := range rendered.Placeholders {
		kind := "file"
		if ph.Dir {
			kind = "dir"
		}
		fmt.Fprintf(w, "# placeholder, created at launch and removed at exit: %s %s\n", kind, render.ShellQuote([]string{ph.Path}))
	}
	fmt.Fprintln(w, render.ShellQuote(rendered.Argv))
	return nil
}

// envNames returns the sorted names of a plan's environment.
func envNames(plan *render.Plan) []string {
	names := make([]string, 0, len(plan.Env))
	for _, kv := range plan.Env {
		name, _, _ := strings.Cut(kv, "=")
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// shellWord quotes one word for display.
func shellWord(s string) string { return render.ShellQuote([]string{s}) }
