package main

import (
	"strings"

	"github.com/alecthomas/kong"

	"github.com/claude-sandbox/claude-sandbox/profile"
)

// The completion scripts and the manual page are generated from kong's
// model of the grammar, so they never drift from the flags.

// flagInfo describes one flag.
type flagInfo struct {
	Long        string // without dashes
	Negation    string // negated long form without dashes, or ""
	Short       rune
	Help        string
	Placeholder string
	Bool        bool     // takes no value
	Values      []string // the accepted values, when they are a fixed set
}

// argInfo describes one positional argument.
type argInfo struct {
	Name     string
	Help     string
	Optional bool
	Multi    bool
	Values   []string
}

// commandInfo describes one command.
type commandInfo struct {
	Name    string
	Help    string
	Default bool
	Flags   []flagInfo
	Args    []argInfo
}

// flagValues lists the fixed values of flags and arguments by name.
func flagValues(name string) []string {
	switch name {
	case "backend":
		out := make([]string, len(profile.Backends))
		for i, b := range profile.Backends {
			out[i] = string(b)
		}
		return out
	case "network":
		out := make([]string, len(profile.NetworkModes))
		for i, m := range profile.NetworkModes {
			out[i] = string(m)
		}
		return out
	case "shell-name":
		return []string{"bash", "zsh", "fish"}
	}
	return nil
}

// describeModel extracts the global flags and the commands of app.
func describeModel(app *kong.Application) (global []flagInfo, cmds []commandInfo) {
	global = flagsOf(app.Node.Flags)
	for _, n := range app.Node.Children {
		if n.Hidden || n.Type != kong.CommandNode {
			continue
		}
		c := commandInfo{Name: n.Name, Help: n.Help, Default: app.Node.DefaultCmd == n, Flags: flagsOf(n.Flags)}
		for _, p := range n.Positional {
			a := argInfo{Name: p.Name, Help: p.Help, Optional: !p.Required, Multi: p.IsSlice(), Values: flagValues(p.Name)}
			if p.Enum != "" {
				a.Values = strings.Split(p.Enum, ",")
			}
			c.Args = append(c.Args, a)
		}
		cmds = append(cmds, c)
	}
	return global, cmds
}

func flagsOf(flags []*kong.Flag) []flagInfo {
	var out []flagInfo
	for _, f := range flags {
		if f.Hidden {
			continue
		}
		fi := flagInfo{Long: f.Name, Short: f.Short, Help: f.Help, Placeholder: f.PlaceHolder, Bool: f.IsBool(), Values: flagValues(f.Name)}
		switch f.Tag.Negatable {
		case "":
		case "_":
			fi.Negation = "no-" + f.Name
		default:
			fi.Negation = f.Tag.Negatable
		}
		if fi.Placeholder == "" {
			fi.Placeholder = strings.ToUpper(f.Name)
		}
		out = append(out, fi)
	}
	return out
}

// names returns every spelling of the flag: --long, --no-long, -s.
func (f flagInfo) names() []string {
	out := []string{"--" + f.Long}
	if f.Negation != "" {
		out = append(out, "--"+f.Negation)
	}
	if f.Short != 0 {
		out = append(out, "-"+string(f.Short))
	}
	return out
}
