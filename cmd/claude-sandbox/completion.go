package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/alecthomas/kong"
)

// completionCmd prints a completion script.
type completionCmd struct {
	Shell string `arg:"" name:"shell-name" enum:"bash,zsh,fish" help:"Shell: bash, zsh or fish."`
}

// Run prints the script for the chosen shell.
func (c *completionCmd) Run(s stdio, k *kong.Kong) error {
	global, cmds := describeModel(k.Model)
	switch c.Shell {
	case "bash":
		bashCompletion(s.out, global, cmds)
	case "zsh":
		zshCompletion(s.out, global, cmds)
	case "fish":
		fishCompletion(s.out, global, cmds)
	default:
		return fmt.Errorf("unknown shell %q", c.Shell)
	}
	return nil
}

// allFlags returns the global flags and the flags of command c.
func allFlags(global []flagInfo, c commandInfo) []flagInfo {
	return append(append([]flagInfo(nil), global...), c.Flags...)
}

func bashCompletion(w io.Writer, global []flagInfo, cmds []commandInfo) {
	var names []string
	for _, c := range cmds {
		names = append(names, c.Name)
	}
	fmt.Fprintln(w, "# bash completion for claude-sandbox; load with: source <(claude-sandbox completion bash)")
	fmt.Fprintln(w, "_claude_sandbox() {")
	fmt.Fprintln(w, `  local cur="${COMP_WORDS[COMP_CWORD]}" prev="${COMP_WORDS[COMP_CWORD-1]}" cmd="" i`)
	fmt.Fprintf(w, "  for ((i = 1; i < COMP_CWORD; i++)); do\n    case \"${COMP_WORDS[i]}\" in\n      %s) cmd=\"${COMP_WORDS[i]}\"; break ;;\n    esac\n  done\n", strings.Join(names, "|"))
	fmt.Fprintln(w, `  local flags="" args=""`)
	fmt.Fprintln(w, `  case "$cmd" in`)
	for _, c := range cmds {
		label := c.Name
		if c.Default {
			label += `|""`
		}
		var fl []string
		for _, f := range allFlags(global, c) {
			for _, n := range f.names() {
				if strings.HasPrefix(n, "--") && !f.Bool {
					n += "="
				}
				fl = append(fl, n)
			}
		}
		var vals []string
		for _, a := range c.Args {
			vals = append(vals, a.Values...)
		}
		fmt.Fprintf(w, "    %s) flags=%q; args=%q ;;\n", label, strings.Join(fl, " "), strings.Join(vals, " "))
	}
	fmt.Fprintln(w, "  esac")
	// Bash splits "--backend=vm" into "--backend", "=" and "vm" (= is in
	// COMP_WORDBREAKS); a value may also follow as the next word.
	fmt.Fprintln(w, `  local flag="" pfx=""`)
	fmt.Fprintln(w, `  if [[ $prev == "=" && $COMP_CWORD -ge 2 ]]; then flag="${COMP_WORDS[COMP_CWORD-2]}"`)
	fmt.Fprintln(w, `  elif [[ $cur == --*=* ]]; then flag="${cur%%=*}"; pfx="$flag="; cur="${cur#*=}"`)
	fmt.Fprintln(w, `  elif [[ $prev == --* ]]; then flag="$prev"; fi`)
	fmt.Fprintln(w, `  case "$flag" in`)
	seen := map[string]bool{}
	for _, c := range cmds {
		for _, f := range allFlags(global, c) {
			if len(f.Values) == 0 || seen[f.Long] {
				continue
			}
			seen[f.Long] = true
			fmt.Fprintf(w, "    --%s) COMPREPLY=($(compgen -P \"$pfx\" -W %q -- \"$cur\")); return ;;\n", f.Long, strings.Join(f.Values, " "))
		}
	}
	fmt.Fprintln(w, "  esac")
	fmt.Fprintln(w, `  case "$cur" in`)
	fmt.Fprintln(w, `    -*) COMPREPLY=($(compgen -W "$flags" -- "$cur")); [[ ${COMPREPLY[0]} == *= ]] && compopt -o nospace; return ;;`)
	fmt.Fprintln(w, "  esac")
	fmt.Fprintf(w, "  if [[ -z $cmd ]]; then COMPREPLY=($(compgen -W %q -- \"$cur\")); fi\n", strings.Join(names, " "))
	fmt.Fprintln(w, `  if [[ -n $args ]]; then COMPREPLY+=($(compgen -W "$args" -- "$cur")); else COMPREPLY+=($(compgen -d -- "$cur")); fi`)
	fmt.Fprintln(w, "}")
	fmt.Fprintln(w, "complete -F _claude_sandbox claude-sandbox")
}

// zshQuote quotes s for a single-quoted zsh word.
func zshQuote(s string) string {
	return strings.NewReplacer("'", `'\''`, "[", `\[`, "]", `\]`, ":", `\:`).Replace(s)
}

func zshCompletion(w io.Writer, global []flagInfo, cmds []commandInfo) {
	fmt.Fprintln(w, "#compdef claude-sandbox")
	fmt.Fprintln(w, "# zsh completion for claude-sandbox; save as _claude-sandbox in a directory of $fpath")
	fmt.Fprintln(w, "_claude_sandbox() {")
	fmt.Fprintln(w, "  local -a commands")
	fmt.Fprintln(w, "  commands=(")
	for _, c := range cmds {
		fmt.Fprintf(w, "    '%s:%s'\n", c.Name, zshQuote(c.Help))
	}
	fmt.Fprintln(w, "  )")
	fmt.Fprintln(w, `  local cmd=""`)
	fmt.Fprintln(w, `  local w; for w in "${words[@]:1:$((CURRENT-2))}"; do`)
	fmt.Fprintln(w, `    if (( ${commands[(I)$w:*]} )); then cmd=$w; break; fi`)
	fmt.Fprintln(w, "  done")
	fmt.Fprintln(w, `  case $cmd in`)
	for _, c := range cmds {
		label := c.Name
		if c.Default {
			label += `|''`
		}
		fmt.Fprintf(w, "    %s)\n      _arguments -s \\\n", label)
		for _, f := range allFlags(global, c) {
			for _, n := range f.names() {
				spec := n
				if !f.Bool {
					if strings.HasPrefix(n, "--") {
						spec += "="
					}
					action := ""
					if len(f.Values) > 0 {
						action = "(" + strings.Join(f.Values, " ") + ")"
					}
					spec += fmt.Sprintf("[%s]:%s:%s", zshQuote(f.Help), strings.ToLower(f.Placeholder), action)
				} else {
					spec += "[" + zshQuote(f.Help) + "]"
				}
				fmt.Fprintf(w, "        '%s' \\\n", spec)
			}
		}
		if c.Default {
			fmt.Fprintln(w, "        '1: :->first' \\")
		}
		for i, a := range c.Args {
			if c.Default && i == 0 {
				continue // the first word is completed by the state above
			}
			action := "_files -/"
			if len(a.Values) > 0 {
				action = "(" + strings.Join(a.Values, " ") + ")"
			}
			if a.Name == "files" {
				action = "_files"
			}
			rep := ""
			if a.Multi {
				rep = "*"
			}
			fmt.Fprintf(w, "        '%s:%s:%s' \\\n", rep, a.Name, action)
		}
		fmt.Fprintln(w, "        && return")
		if c.Default {
			fmt.Fprintln(w, `      [[ $state == first ]] && { _describe command commands; _files -/; }`)
		}
		fmt.Fprintln(w, "      ;;")
	}
	fmt.Fprintln(w, "  esac")
	fmt.Fprintln(w, "}")
	fmt.Fprintln(w, `_claude_sandbox "$@"`)
}

// fishQuote quotes s for fish.
func fishQuote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, "'", `\'`).Replace(s) + "'"
}

func fishCompletion(w io.Writer, global []flagInfo, cmds []commandInfo) {
	var names []string
	for _, c := range cmds {
		names = append(names, c.Name)
	}
	all := strings.Join(names, " ")
	fmt.Fprintln(w, "# fish completion for claude-sandbox; save as ~/.config/fish/completions/claude-sandbox.fish")
	fmt.Fprintln(w, "complete -c claude-sandbox -f")
	for _, c := range cmds {
		fmt.Fprintf(w, "complete -c claude-sandbox -n 'not __fish_seen_subcommand_from %s' -a %s -d %s\n", all, c.Name, fishQuote(c.Help))
	}
	for _, c := range cmds {
		cond := "__fish_seen_subcommand_from " + c.Name
		if c.Default {
			cond = "not __fish_seen_subcommand_from " + strings.Join(without(names, c.Name), " ")
		}
		for _, f := range allFlags(global, c) {
			line := fmt.Sprintf("complete -c claude-sandbox -n '%s' -l %s", cond, f.Long)
			if f.Short != 0 {
				line += " -s " + string(f.Short)
			}
			switch {
			case len(f.Values) > 0:
				line += " -x -a " + fishQuote(strings.Join(f.Values, " "))
			case !f.Bool:
				line += " -x"
			}
			fmt.Fprintf(w, "%s -d %s\n", line, fishQuote(f.Help))
			if f.Negation != "" {
				fmt.Fprintf(w, "complete -c claude-sandbox -n '%s' -l %s -d %s\n", cond, f.Negation, fishQuote(f.Help))
			}
		}
		for _, a := range c.Args {
			if len(a.Values) > 0 {
				fmt.Fprintf(w, "complete -c claude-sandbox -n '%s' -a %s\n", cond, fishQuote(strings.Join(a.Values, " ")))
			} else {
				fmt.Fprintf(w, "complete -c claude-sandbox -n '%s' -a '(__fish_complete_directories)'\n", cond)
			}
		}
	}
}

func without(list []string, v string) []string {
	var out []string
	for _, s := range list {
		if s != v {
			out = append(out, s)
		}
	}
	return out
}
