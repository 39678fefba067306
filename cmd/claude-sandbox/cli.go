package main

import (
	"errors"
	"fmt"
	"io"
	"slices"
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
	Run        runCmd        `cmd:"" default:"withargs" help:"Run the agent in a sandbox (the default command)."`
	Explain    explainCmd    `cmd:"" help:"Show the resolved policy, where each value came from, and the command the backend would run."`
	Check      checkCmd      `cmd:"" help:"Validate profile files without running anything."`
	Trust      trustCmd      `cmd:"" help:"Trust the project's .claude-sandbox.toml as it is now."`
	Init       initCmd       `cmd:"" help:"Write a commented .claude-sandbox.toml into the project."`
	Doctor     doctorCmd     `cmd:"" help:"Report which backends this host can run."`
	Audit      auditCmd      `cmd:"" help:"Report files that host tools run by themselves, changed by sandboxed runs and not yet accepted."`
	Version    versionCmd    `cmd:"" help:"Print the version."`
	Completion completionCmd `cmd:"" help:"Print a shell completion script (bash, zsh or fish)."`
	Man        manCmd        `cmd:"" help:"Print the manual page (roff)."`
}

// runOnly is the grammar of a plain run: the default command alone.
// Building kong's model of the full grammar costs several hundred
// microseconds, so a command line that names no other command and asks for
// no help is parsed with this one; it accepts and refuses exactly what the
// full grammar does for such a command line.
type runOnly struct {
	Run runCmd `cmd:"" default:"withargs" help:"Run the agent in a sandbox (the default command)."`
}

// isPlainRun reports whether args can only mean the run command: no word
// before "--" names another command or asks for help.
func isPlainRun(args []string) bool {
	commands := map[string]bool{"run": true, "explain": true, "check": true, "trust": true, "init": true,
		"doctor": true, "audit": true, "version": true, "completion": true, "man": true, "help": true}
	for _, a := range args {
		if a == "--" {
			break
		}
		if commands[a] || a == "-h" || strings.HasPrefix(a, "--help") {
			return false
		}
	}
	return true
}

// selection holds the flags that choose the policy; run and explain share them.
type selection struct {
	Backend profile.Backend `help:"Backend: bubblewrap, container or vm." placeholder:"NAME"`
	Profile string          `help:"Select a named profile." placeholder:"NAME"`
	Shell   bool            `help:"Run the profile's shell instead of the command."`
	GHToken bool            `name:"gh-token" help:"Forward GH_TOKEN and GITHUB_TOKEN into the sandbox."`
	Network networkFlag     `negatable:"" help:"Network mode: --network (full), --no-network (off) or --network=off|allowlist|full|host."`
	Force   bool            `help:"Allow a dangerous project dir or read-write mount of a sensitive path."`
}

// flags converts the selection into the flags layer.
func (s *selection) flags(args []string) profile.Flags {
	return profile.Flags{
		Backend: s.Backend,
		Profile: s.Profile,
		Network: s.Network.mode,
		Shell:   s.Shell,
		GHToken: s.GHToken,
		Force:   s.Force,
		Args:    args,
	}
}

// networkFlag is --network, --no-network and --network=MODE.
type networkFlag struct {
	mode profile.NetworkMode
}

// IsBool lets --network stand without a value.
func (n *networkFlag) IsBool() bool { return true }

// Decode reads the flag's optional value.
func (n *networkFlag) Decode(ctx *kong.DecodeContext) error {
	if ctx.Scan.Peek().Type != kong.FlagValueToken {
		n.mode = profile.NetworkFull
		return nil
	}
	tok := ctx.Scan.Pop()
	switch v := tok.Value.(type) {
	case bool:
		n.mode = profile.NetworkOff
		if v {
			n.mode = profile.NetworkFull
		}
		return nil
	case string:
		return n.mode.UnmarshalText([]byte(v))
	default:
		return fmt.Errorf("--network: unexpected value %v", v)
	}
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
	)
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
	var grammar any = &cli{}
	if isPlainRun(args) {
		grammar = &runOnly{}
	}
	parser, err := newParser(grammar, s)
	if err != nil {
		fmt.Fprintf(s.err, "claude-sandbox: %v\n", err)
		return exitLauncher
	}
	ctx, err := parser.Parse(defaultProject(parser.Model, args))
	if err != nil {
		fmt.Fprintf(s.err, "claude-sandbox: %v\n", err)
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

// defaultProject makes "claude-sandbox -- ARGS" mean the current
// directory with ARGS for the command: when a run command line has no
// project dir before "--", it inserts "." there.
func defaultProject(app *kong.Application, args []string) []string {
	dashes := slices.Index(args, "--")
	if dashes < 0 {
		return args
	}
	var run *kong.Node
	for _, n := range app.Children {
		if n.Name == "run" {
			run = n
		}
	}
	if run == nil {
		return args
	}
	takesValue := map[string]bool{}
	for _, f := range run.Flags {
		if !f.IsBool() {
			takesValue["--"+f.Name] = true
			if f.Short != 0 {
				takesValue["-"+string(f.Short)] = true
			}
		}
	}
	sawCommand := false
	for i := 0; i < dashes; i++ {
		a := args[i]
		switch {
		case strings.HasPrefix(a, "-"):
			if takesValue[a] {
				i++
			}
		case a == "run" && !sawCommand:
			sawCommand = true
		default:
			return args // a project dir, or another command
		}
	}
	out := append(append(append([]string(nil), args[:dashes]...), "."), args[dashes:]...)
	return out
}

// printError prints an error, one line per problem.
func printError(w io.Writer, err error) {
	for _, line := range strings.Split(err.Error(), "\n") {
		fmt.Fprintf(w, "claude-sandbox: %s\n", line)
	}
}
