package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"

	"github.com/alecthomas/kong"

	"github.com/claude-sandbox/claude-sandbox/profile"
)

// Output rules: results go to stdout; diagnostics go to stderr prefixed
// with "claude-sandbox: ", lower case, no final period.

// Exit statuses of the launcher itself. The sandboxed command's own status
// passes through unchanged; every failure of the launcher (usage errors
// included) exits with exitLauncher so scripts can tell the two apart.
const (
	exitOK       = 0
	exitInvalid  = 1 // check: a file is invalid or widens the policy; doctor: no backend can run; audit: findings pending
	exitLauncher = 125
)

// cli is the command-line grammar.
type cli struct {
	Run         runCmd         `cmd:"" default:"withargs" help:"Run the agent in a sandbox (the default command)."`
	Explain     explainCmd     `cmd:"" help:"Show the resolved policy, where each value came from, and the command the backend would run."`
	Check       checkCmd       `cmd:"" help:"Validate profile files without running anything."`
	Trust       trustCmd       `cmd:"" help:"Trust the project's .claude-sandbox.toml as it is now."`
	Init        initCmd        `cmd:"" help:"Write a commented .claude-sandbox.toml into the project."`
	Doctor      doctorCmd      `cmd:"" help:"Report which backends this host can run."`
	Export      exportCmd      `cmd:"" help:"Write the policy as an OCI runtime bundle or a Kubernetes Pod manifest."`
	Audit       auditCmd       `cmd:"" help:"Report files that host tools run by themselves, changed by sandboxed runs and not yet accepted."`
	EgressProxy egressProxyCmd `cmd:"" name:"egress-proxy" help:"Serve the allowlist's filtering proxy on a TCP address (an exported Pod's sidecar)."`
	Version     versionCmd     `cmd:"" help:"Print the version."`
	Completion  completionCmd  `cmd:"" help:"Print a shell completion script (bash, zsh or fish)."`
	Man         manCmd         `cmd:"" help:"Print the manual page (roff)."`
}

// runOnly is the grammar of a plain run: the default command alone.
// Building kong's model of the full grammar costs several hundred
// microseconds, so a command line that names no other command and asks for
// no help is parsed with this one; it accepts and refuses exactly what the
// full grammar does for such a command line.
type runOnly struct {
	Run runCmd `cmd:"" default:"withargs" help:"Run the agent in a sandbox (the default command)."`
}

// commandNames lists the names of the launcher's commands, as kong derives
// them from the grammar's fields.
func commandNames() map[string]bool {
	names := map[string]bool{"help": true}
	t := reflect.TypeOf(cli{})
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if _, ok := f.Tag.Lookup("cmd"); !ok {
			continue
		}
		name := f.Tag.Get("name")
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		names[name] = true
	}
	return names
}

// valuedFlags lists the run command's flags that take a separate value
// (--backend NAME), by every spelling.
func valuedFlags(app *kong.Application) map[string]bool {
	out := map[string]bool{}
	for _, n := range app.Children {
		if n.Name != "run" {
			continue
		}
		for _, f := range n.Flags {
			if f.IsBool() {
				continue
			}
			out["--"+f.Name] = true
			if f.Short != 0 {
				out["-"+string(f.Short)] = true
			}
		}
	}
	return out
}

// splitRun applies the run grammar
//
//	claude-sandbox [run] [flags] [project-dir] [args for the command...]
//
// before kong sees the command line. The first word that is not a flag
// (or a flag's value) is the project dir, unless it names another command
// (a project dir with such a name is written ./check); every word after
// the project dir belongs to the command, flags included, and one "--"
// right after it is dropped. A "--" before any project dir means the
// current directory. plain is false when args name another command or ask
// for help (before the project dir); out is then args unchanged.
func splitRun(args []string, valued, commands map[string]bool) (plain bool, out []string) {
	sawRun := false
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			rest := args[i+1:]
			return true, join(args[:i], []string{"."}, rest)
		case a == "-h" || a == "--help":
			return false, args
		case strings.HasPrefix(a, "-") && a != "-":
			if valued[a] {
				i++
			}
		case a == "run" && !sawRun:
			sawRun = true
		case commands[a] && !sawRun:
			return false, args
		default:
			rest := args[i+1:]
			if len(rest) > 0 && rest[0] == "--" {
				rest = rest[1:]
			}
			if len(rest) == 0 {
				return true, args[:i+1]
			}
			return true, join(args[:i+1], nil, rest)
		}
	}
	return true, args
}

// join builds head, then dir, then "--" and rest when rest is not empty.
func join(head, dir, rest []string) []string {
	out := append(append([]string(nil), head...), dir...)
	if len(rest) > 0 {
		out = append(append(out, "--"), rest...)
	}
	return out
}

// selection holds the flags that choose the policy; run and explain share them.
type selection struct {
	Backend   profile.Backend `help:"Backend: bubblewrap, container, vm or oci." placeholder:"NAME"`
	Profile   string          `help:"Select a named profile." placeholder:"NAME"`
	Shell     bool            `help:"Run the profile's shell instead of the command."`
	GHToken   bool            `name:"gh-token" help:"Forward GH_TOKEN and GITHUB_TOKEN into the sandbox."`
	Network   networkFlag     `help:"Network mode: off, allowlist, full or host." placeholder:"MODE" xor:"network"`
	NoNetwork bool            `name:"no-network" help:"No network at all (the same as --network=off)." xor:"network"`
	Force     bool            `help:"Allow a dangerous project dir or read-write mount of a sensitive path."`
}

// flags converts the selection into the flags layer.
func (s *selection) flags(args []string) profile.Flags {
	return profile.Flags{
		Backend: s.Backend,
		Profile: s.Profile,
		Network: s.network(),
		Shell:   s.Shell,
		GHToken: s.GHToken,
		Force:   s.Force,
		Args:    args,
	}
}

// network is the mode the flags choose ("" for none).
func (s *selection) network() profile.NetworkMode {
	if s.NoNetwork {
		return profile.NetworkOff
	}
	return s.Network.mode
}

// networkFlag is --network MODE (or --network=MODE).
type networkFlag struct {
	mode profile.NetworkMode
}

// Decode reads the flag's value; a missing one is an error that lists the
// modes.
func (n *networkFlag) Decode(ctx *kong.DecodeContext) error {
	tok := ctx.Scan.Peek()
	if !tok.IsValue() {
		return fmt.Errorf("--network needs a mode: %s (--no-network is off)", strings.Join(flagValues("network"), ", "))
	}
	ctx.Scan.Pop()
	return n.mode.UnmarshalText([]byte(tok.String()))
}

// exitError carries an exit status through kong's Run.
type exitError struct {
	status int
	err    error // printed when non-nil
}

// Error describes the failure, or the status when there is nothing to print.
func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.status)
	}
	return e.err.Error()
}

// ExitCode implements kong.ExitCoder.
func (e *exitError) ExitCode() int { return e.status }

// exitPanic unwinds kong's Exit calls (after --help) to Main.
type exitPanic int

// stdio is the launcher's standard streams.
type stdio struct {
	in       io.Reader
	out, err io.Writer
}

// newParser builds the kong parser over grammar (a *cli or a *runOnly).
func newParser(grammar any, s stdio) (*kong.Kong, error) {
	return kong.New(grammar,
		kong.Name("claude-sandbox"),
		kong.Description("Run an AI coding agent in a sandbox: bubblewrap, a systemd-nspawn container or a QEMU virtual machine, driven by layered TOML profiles. "+
			"Exit status: the sandboxed command's own; 125 when the launcher itself fails."),
		kong.Writers(s.out, s.err),
		kong.Exit(func(code int) { panic(exitPanic(code)) }),
		kong.UsageOnError(),
		kong.HelpOptions{Compact: true},
		kong.Help(helpPrinter),
	)
}

// helpPrinter is kong's help, except that the top-level help also shows
// the default command's grammar and flags: a plain run is what most
// command lines are.
func helpPrinter(options kong.HelpOptions, ctx *kong.Context) error {
	if ctx.Selected() != nil {
		return kong.DefaultHelpPrinter(options, ctx)
	}
	var def bytes.Buffer
	saved := ctx.Stdout
	ctx.Stdout = &def
	err := kong.DefaultHelpPrinter(options, ctx)
	ctx.Stdout = saved
	if err != nil {
		return err
	}
	w := ctx.Stdout
	fmt.Fprintf(w, "Usage: claude-sandbox [flags] [<project-dir> [<args for the command> ...]]\n")
	fmt.Fprintf(w, "       claude-sandbox <command> ...\n\n")
	fmt.Fprintf(w, "%s\n\n", wrap(ctx.Model.Help, 76))
	fmt.Fprintf(w, "Flags of a run go before the project dir; every word after it goes to the\n")
	fmt.Fprintf(w, "command (claude-sandbox ~/proj --resume runs claude --resume). A project\n")
	fmt.Fprintf(w, "dir named like a command is written with a slash: ./check.\n\n")
	fmt.Fprintf(w, "Flags:\n")
	_, cmds := describeModel(ctx.Model)
	lines := [][2]string{{"-h, --help", "Show context-sensitive help."}, {"--version", "Print the version."}}
	for _, c := range cmds {
		if !c.Default {
			continue
		}
		for _, f := range c.Flags {
			name := "--" + f.Long
			if !f.Bool {
				name += "=" + f.Placeholder
			}
			lines = append(lines, [2]string{name, f.Help})
		}
	}
	for _, l := range lines {
		fmt.Fprintf(w, "  %-20s %s\n", l[0], l[1])
	}
	if i := strings.Index(def.String(), "\nCommands:\n"); i >= 0 {
		fmt.Fprint(w, def.String()[i:])
	}
	return nil
}

// wrap breaks text into lines of at most width characters.
func wrap(text string, width int) string {
	var b strings.Builder
	n := 0
	for _, word := range strings.Fields(text) {
		if n > 0 && n+1+len(word) > width {
			b.WriteString("\n")
			n = 0
		} else if n > 0 {
			b.WriteString(" ")
			n++
		}
		b.WriteString(word)
		n += len(word)
	}
	return b.String()
}

// Main runs the launcher with args (without the program name) and returns
// the exit status.
func Main(args []string, s stdio) (status int) {
	defer func() {
		if r := recover(); r != nil {
			code, ok := r.(exitPanic)
			if !ok {
				panic(r)
			}
			status = int(code)
			if status != 0 {
				status = exitLauncher
			}
		}
	}()
	if len(args) == 1 && args[0] == "--version" {
		return Main([]string{"version"}, s)
	}
	parser, err := newParser(&runOnly{}, s)
	if err != nil {
		fmt.Fprintf(s.err, "claude-sandbox: %v\n", err)
		return exitLauncher
	}
	plain, args := splitRun(args, valuedFlags(parser.Model), commandNames())
	if !plain {
		if parser, err = newParser(&cli{}, s); err != nil {
			fmt.Fprintf(s.err, "claude-sandbox: %v\n", err)
			return exitLauncher
		}
	}
	ctx, err := parser.Parse(args)
	if err != nil {
		fmt.Fprintf(s.err, "claude-sandbox: %v\n", err)
		if plain && strings.HasPrefix(err.Error(), "unknown flag") {
			fmt.Fprintf(s.err, "claude-sandbox: arguments for the command go after the project dir: claude-sandbox [flags] DIR ARGS... (claude-sandbox . --resume)\n")
		}
		return exitLauncher
	}
	err = ctx.Run(s, parser)
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			printError(s.err, ee.err)
		}
		return ee.status
	}
	printError(s.err, err)
	return exitLauncher
}

// printError prints an error, one line per problem.
func printError(w io.Writer, err error) {
	for _, line := range strings.Split(err.Error(), "\n") {
		fmt.Fprintf(w, "claude-sandbox: %s\n", line)
	}
}
