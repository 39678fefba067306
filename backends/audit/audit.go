// Package audit is the backstop behind the sandbox's mount protections:
// it snapshots, at launch, every file in the project and in the shared
// ~/.claude that a tool on the host runs or loads by itself (git
// configuration and hooks, Claude Code settings and extensions, editor
// tasks, direnv and shell startup files), compares at exit, neutralises
// what git would run without asking, and keeps warning about the rest
// until the user accepts it.
package audit

import (
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strings"

	"golang.org/x/sys/unix"
)

// QuarantineSuffix is appended to a file renamed aside.
const QuarantineSuffix = ".claude-sandbox-quarantine"

// Finding is a new or changed file of a watched kind.
type Finding struct {
	Path string `json:"path"`
	Kind string `json:"kind"`
	// New is true when the file did not exist at the start.
	New bool `json:"new"`
	// Runs is what the change adds that a host tool would run.
	Runs []string `json:"runs,omitempty"`
	// Before is the entry at the start (empty Hash when there was none).
	Before Entry `json:"before"`
	// After is the entry found.
	After Entry `json:"after"`
	// Quarantine is where the file was renamed to, or "".
	Quarantine string `json:"quarantine,omitempty"`
	// QuarantineError says why a file that should have been renamed
	// aside was not.
	QuarantineError string `json:"quarantine_error,omitempty"`
}

// Compare lists what after adds or changes relative to before, by path.
// For kinds that say what in a file executes, a change is a finding only
// when it adds something that executes.
func Compare(before, after Snapshot) []Finding {
	var out []Finding
	for p, a := range after {
		b, existed := before[p]
		if existed && b.Hash == a.Hash {
			continue
		}
		f := Finding{Path: p, Kind: a.Kind, New: !existed, Before: b, After: a}
		k := kindByID(a.Kind)
		if k == nil {
			continue
		}
		if k.Exec != nil {
			f.Runs = added(b.Exec, a.Exec)
			if len(f.Runs) == 0 {
				continue
			}
		}
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// added lists the entries of after that before lacks.
func added(before, after []string) []string {
	var out []string
	for _, s := range after {
		if !slices.Contains(before, s) {
			out = append(out, s)
		}
	}
	return out
}

// Neutralise renames aside every finding of a kind git runs without
// asking. A file that changed again since it was found is left alone and
// reported as it is.
func Neutralise(findings []Finding) []Finding {
	for i := range findings {
		f := &findings[i]
		k := kindByID(f.Kind)
		if k == nil || !k.Quarantine || f.Quarantine != "" {
			continue
		}
		if cur := inspect(f.Path, f.Kind); cur.Hash != f.After.Hash {
			f.QuarantineError = "it changed again while being audited"
			continue
		}
		q := f.Path + QuarantineSuffix
		for n := 1; exists(q); n++ {
			q = fmt.Sprintf("%s%s.%d", f.Path, QuarantineSuffix, n)
		}
		if err := os.Rename(f.Path, q); err != nil {
			f.QuarantineError = err.Error()
		} else {
			f.Quarantine, f.QuarantineError = q, ""
		}
	}
	return findings
}

func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

// Resolved reports whether a finding no longer needs the user: the
// quarantined copy is gone and the file is back to what it was (or, for
// kinds that say what executes, runs nothing new).
func Resolved(f Finding) bool {
	if f.Quarantine != "" && exists(f.Quarantine) {
		return false
	}
	if !exists(f.Path) {
		return true
	}
	cur := inspect(f.Path, f.Kind)
	if cur.Hash == f.Before.Hash && f.Before.Hash != "" {
		return true
	}
	if k := kindByID(f.Kind); k != nil && k.Exec != nil {
		return len(added(f.Before.Exec, cur.Exec)) == 0
	}
	return false
}

// Report prints findings, file by file, with what each would run and how
// to restore a quarantined file.
func Report(w io.Writer, findings []Finding) {
	for _, f := range findings {
		k := kindByID(f.Kind)
		change := "changed"
		if f.New {
			change = "new"
		}
		fmt.Fprintf(w, "claude-sandbox: audit: %s: %s %s (%s)\n", f.Path, change, k.Label, k.Runs)
		for _, r := range f.Runs {
			fmt.Fprintf(w, "claude-sandbox: audit:     %s\n", oneLine(r))
		}
		if f.Runs == nil {
			if first := firstLine(f.After, f.Path, f.Quarantine); first != "" {
				fmt.Fprintf(w, "claude-sandbox: audit:     %s\n", first)
			}
		}
		if f.Quarantine != "" {
			fmt.Fprintf(w, "claude-sandbox: audit:     renamed aside; to restore it: mv -- %s %s\n", quote(f.Quarantine), quote(f.Path))
		} else if f.QuarantineError != "" {
			fmt.Fprintf(w, "claude-sandbox: audit:     NOT renamed aside (%s): git will run it; move it away yourself\n", oneLine(f.QuarantineError))
		}
	}
}

// firstLine shows the start of a file without an Exec list (a hook's
// interpreter and first command).
func firstLine(e Entry, paths ...string) string {
	if strings.HasPrefix(e.Hash, "link:") {
		return "a symbolic link to " + strings.TrimPrefix(e.Hash, "link:")
	}
	for _, p := range paths {
		if p == "" {
			continue
		}
		f, err := os.OpenFile(p, os.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK, 0)
		if err != nil {
			continue
		}
		buf := make([]byte, 512)
		n, _ := f.Read(buf)
		f.Close()
		var lines []string
		for _, l := range strings.Split(string(buf[:n]), "\n") {
			if l = strings.TrimSpace(l); l != "" {
				lines = append(lines, l)
			}
			if len(lines) == 2 {
				break
			}
		}
		return oneLine(strings.Join(lines, " | "))
	}
	return ""
}

// oneLine keeps a message on one line and short.
func oneLine(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}

// quote is a path as a shell word.
func quote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
