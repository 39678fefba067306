package render

import (
	"fmt"
	"path"
	"strings"

	"github.com/claude-sandbox/claude-sandbox/profile"
)

// IsClaudeCode reports whether argv0 names Claude Code.
func IsClaudeCode(argv0 string) bool { return path.Base(argv0) == "claude" }

// Command returns the argv run inside the sandbox: the profile's shell
// with --shell, otherwise the agent command, with the arguments given on
// the command line appended. When the command is Claude Code and the
// policy asks for it, the sandbox notice is added with
// --append-system-prompt. A command found on the host's PATH is run by its
// canonical path, since its installation is shared at that path.
func Command(p *profile.Policy, h *Host, backend profile.Backend) ([]string, error) {
	return commandLine(p, h, backend, func(string) (string, error) {
		if h.CommandPath == "" {
			return "", commandNotFound(p, h)
		}
		real := h.Real(h.CommandPath)
		if backend != profile.VM && !visibleInside(real, p, h) {
			return "", fmt.Errorf("command %s (found as %s) lies outside what the %s sandbox shows (the system directories /usr, /bin, /sbin, /lib*, /opt, the home's forwarded parts, the project and the mounts): install it under /usr/local or /opt, or share its installation with [mounts] %q = \"ro\"",
				real, h.CommandPath, backend, InstallDir(real))
		}
		return real, nil
	})
}

// commandLine is the policy's shell, or its command with the program
// that program returns for the command's first element and the sandbox
// notice for Claude Code (written for backend), followed by the arguments
// given on the command line.
func commandLine(p *profile.Policy, h *Host, backend profile.Backend, program func(name string) (string, error)) ([]string, error) {
	if p.UseShell {
		if len(p.Shell) == 0 {
			return nil, fmt.Errorf("no shell configured")
		}
		return append(append([]string{}, p.Shell...), p.Args...), nil
	}
	if len(p.Command) == 0 {
		return nil, fmt.Errorf("no command configured")
	}
	argv := append([]string{}, p.Command...)
	prog, err := program(argv[0])
	if err != nil {
		return nil, err
	}
	argv[0] = prog
	if p.Notice && IsClaudeCode(p.Command[0]) {
		argv = append(argv, "--append-system-prompt", Notice(p, h, backend))
	}
	return append(argv, p.Args...), nil
}

// commandNotFound explains that the command is not on PATH (nor, through
// sudo, in the invoking user's install places), with the commands that
// install Claude Code when that is the command.
func commandNotFound(p *profile.Policy, h *Host) error {
	var b strings.Builder
	fmt.Fprintf(&b, "command %q not found on PATH %s", p.Command[0], h.Env["PATH"])
	if len(h.CommandSearched) > 0 {
		fmt.Fprintf(&b, " nor in %s's install directories %s", h.User, strings.Join(h.CommandSearched, ":"))
	}
	if IsClaudeCode(p.Command[0]) {
		b.WriteString("; install Claude Code as the user who runs it: npm install -g @anthropic-ai/claude-code (as a user, after npm config set prefix ~/.npm-global), or curl -fsSL https://claude.ai/install.sh | bash")
	}
	b.WriteString("; or give its full path in the profile: command = [\"/full/path/to/" + path.Base(p.Command[0]) + "\"]")
	return fmt.Errorf("%s", b.String())
}

// visibleInside reports whether the host path real (canonical) appears at
// the same path inside a bubblewrap or container sandbox: in the system
// directories, the home's shares, the project or a policy mount.
func visibleInside(real string, p *profile.Policy, h *Host) bool {
	roots := []string{"/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/opt", "/run/current-system", h.Home, h.Real(p.ProjectDir)}
	if p.Forward.Nix {
		roots = append(roots, "/nix/store")
	}
	for _, m := range p.Mounts {
		if m.Mode != profile.MountTmpfs && m.Mode != profile.MountHide && m.Source == m.Target {
			roots = append(roots, h.Real(m.Source))
		}
	}
	for _, r := range roots {
		if r != "" && within(real, r) {
			return true
		}
	}
	return false
}

// AgentBin is the directory inside the sandbox where a shell finds the
// agent command by its name (see agentInstall).
func AgentBin(h *Host) string { return path.Join(h.Home, ".cache", "claude-sandbox", "bin") }

// Notice is the truthful description of the sandbox given to the agent.
func Notice(p *profile.Policy, h *Host, backend profile.Backend) string {
	var b strings.Builder
	kernel := "shares the host's kernel"
	if backend == profile.VM {
		kernel = "runs its own kernel in a virtual machine"
	}
	article := "a"
	if backend == profile.OCI {
		article = "an"
	}
	fmt.Fprintf(&b, "You are running inside %s %s sandbox (claude-sandbox) that %s. ", article, backend, kernel)
	fmt.Fprintf(&b, "The project directory %s is shared read-write with the host and is the only place where your work persists. ", p.ProjectDir)
	var kept []string
	if p.Forward.Claude {
		kept = append(kept, "~/.claude")
	}
	for _, rel := range p.Persist {
		kept = append(kept, "~/"+rel)
	}
	if len(kept) > 0 {
		fmt.Fprintf(&b, "Also kept between runs: %s (for tools you install, not for project work). ", strings.Join(kept, ", "))
	}
	b.WriteString("The rest of the home directory, /tmp and everything else you change outside those paths is discarded when the sandbox exits; host files, processes and environment variables outside the sandbox are not visible, so do not infer the host's state from what you see. ")
	var ro []string
	if p.Forward.GitConfig {
		ro = append(ro, "git configuration")
	}
	if p.Forward.SSHKeys {
		ro = append(ro, "~/.ssh")
	}
	var inProject, inHome []string
	for _, rel := range p.Protect {
		if _, ok := homeEntry(rel); ok {
			inHome = append(inHome, rel)
		} else {
			inProject = append(inProject, rel)
		}
	}
	if len(inProject) > 0 {
		ro = append(ro, "the project paths "+strings.Join(inProject, ", ")+" (the .git ones in every repository; a .git directory cannot be renamed or replaced)")
	}
	if len(inHome) > 0 {
		ro = append(ro, strings.Join(inHome, ", "))
	}
	if len(ro) > 0 {
		fmt.Fprintf(&b, "Read-only: %s. ", strings.Join(ro, ", "))
	}
	switch p.Network.Mode {
	case profile.NetworkOff:
		b.WriteString("There is no network access.")
	case profile.NetworkAllowlist:
		fmt.Fprintf(&b, "Network access goes through a proxy that allows only: %s.", strings.Join(p.Network.Allow, ", "))
	case profile.NetworkHost:
		b.WriteString("The network is the host's own.")
	default:
		b.WriteString("Network access is available.")
	}
	b.WriteString(" If something you need is missing, ask the user.")
	return b.String()
}
