package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/alecthomas/kong"

	"github.com/claude-sandbox/claude-sandbox/profile"
)

// manCmd prints the manual page.
type manCmd struct{}

// Run prints the page in roff.
func (manCmd) Run(s stdio, k *kong.Kong) error {
	global, cmds := describeModel(k.Model)
	writeMan(s.out, k.Model.Help, global, cmds)
	return nil
}

// roff escapes text for a roff line.
func roff(s string) string {
	s = strings.ReplaceAll(s, `\`, `\e`)
	s = strings.ReplaceAll(s, "-", `\-`)
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
		s = `\&` + s
	}
	return s
}

func manFlag(f flagInfo) string {
	var parts []string
	for _, n := range f.names() {
		p := `\fB` + roff(n) + `\fR`
		if !f.Bool && strings.HasPrefix(n, "--") {
			p += `=\fI` + roff(f.Placeholder) + `\fR`
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, ", ")
}

func writeMan(w io.Writer, desc string, global []flagInfo, cmds []commandInfo) {
	fmt.Fprintf(w, ".TH CLAUDE\\-SANDBOX 1 \"\" \"claude-sandbox %s\" \"User Commands\"\n", roff(versionString()))
	fmt.Fprintln(w, ".SH NAME")
	fmt.Fprintln(w, `claude\-sandbox \- run an AI coding agent in a sandbox`)
	fmt.Fprintln(w, ".SH SYNOPSIS")
	fmt.Fprintln(w, `\fBclaude\-sandbox\fR [\fIFLAGS\fR] [\fIPROJECT_DIR\fR [\fIARGS\fR...]]`)
	fmt.Fprintln(w, ".br")
	fmt.Fprintln(w, `\fBclaude\-sandbox\fR \fICOMMAND\fR [\fIFLAGS\fR] [\fIARGS\fR...]`)
	fmt.Fprintln(w, ".SH DESCRIPTION")
	fmt.Fprintln(w, roff(desc))
	fmt.Fprintln(w, ".PP")
	fmt.Fprintln(w, roff("Flags of a run go before the project dir; every word after it goes to the command unchanged, flags included, and one -- right after it is dropped. A project dir named like a command is written with a slash (./check)."))
	fmt.Fprintln(w, ".PP")
	fmt.Fprintln(w, roff("The policy is read from layered TOML files, lowest precedence first: the built-in defaults, the package defaults, "+
		profile.SystemConfig+" and $XDG_CONFIG_DIRS/claude-sandbox/config.toml, $XDG_CONFIG_HOME/claude-sandbox/config.toml, "+
		"PROJECT_DIR/"+profile.ProjectFile+", then the flags. A project file that widens the policy runs only after claude-sandbox trust."))
	if len(global) > 0 {
		fmt.Fprintln(w, ".SH GLOBAL FLAGS")
		for _, f := range global {
			fmt.Fprintf(w, ".TP\n%s\n%s\n", manFlag(f), roff(f.Help))
		}
	}
	fmt.Fprintln(w, ".SH COMMANDS")
	for _, c := range cmds {
		var args []string
		for _, a := range c.Args {
			s := `\fI` + roff(strings.ToUpper(a.Name)) + `\fR`
			if a.Multi {
				s += "..."
			}
			if a.Optional {
				s = "[" + s + "]"
			}
			args = append(args, s)
		}
		title := `\fB` + roff(c.Name) + `\fR`
		if len(args) > 0 {
			title += " " + strings.Join(args, " ")
		}
		fmt.Fprintf(w, ".SS %s\n", title)
		help := c.Help
		if c.Default {
			help += " It is the default command: the command name may be left out."
		}
		fmt.Fprintln(w, roff(help))
		for _, f := range c.Flags {
			fmt.Fprintf(w, ".TP\n%s\n%s\n", manFlag(f), roff(f.Help))
		}
	}
	fmt.Fprintln(w, ".SH EXIT STATUS")
	fmt.Fprintln(w, roff("run exits with the sandboxed command's own status, or 128+N when the launcher itself was sent signal N (SIGINT, SIGTERM or SIGHUP). check exits 1 when a file is invalid (or widens the policy with --no-widen); a check also fails on what a launch would refuse, such as an untrusted project file that widens the policy; doctor exits 1 when a plain launch cannot run; audit exits 1 when files are pending review. Every failure of the launcher itself, usage errors included, exits 125."))
	fmt.Fprintln(w, ".SH FILES")
	for _, f := range []string{profile.SystemConfig, "$XDG_CONFIG_HOME/claude-sandbox/config.toml", "PROJECT_DIR/" + profile.ProjectFile, "$XDG_DATA_HOME/claude-sandbox/trust/"} {
		fmt.Fprintf(w, ".TP\n%s\n", roff(f))
	}
	fmt.Fprintln(w, ".SH SEE ALSO")
	fmt.Fprintln(w, `\fBbwrap\fR(1), \fBsystemd\-nspawn\fR(1), \fBqemu\-system\-x86_64\fR(1)`)
}
