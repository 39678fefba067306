package profile

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/go-multierror"
)

// Problem is one thing wrong with a layer file or with the resolved policy.
type Problem struct {
	// File is the file the problem is in ("" for command-line flags).
	File string
	// Line is the 1-based line, 0 when the problem concerns the whole file.
	Line int
	// Key is the dotted key the problem concerns, when there is one.
	Key string
	// Message says what is wrong, lower case, no final period.
	Message string
	// Hint, when set, says how to fix it.
	Hint string
}

// Error formats the problem as FILE:LINE: message (hint); problems of
// the invocation itself (File "") have no position.
func (p *Problem) Error() string {
	var b strings.Builder
	switch {
	case p.File == "":
		// A problem of the invocation itself has no position.
	case p.Line > 0:
		fmt.Fprintf(&b, "%s:%d: ", p.File, p.Line)
	default:
		b.WriteString(p.File + ": ")
	}
	if p.Key != "" && !strings.HasPrefix(p.Message, p.Key) {
		b.WriteString(p.Key)
		b.WriteString(": ")
	}
	b.WriteString(p.Message)
	if p.Hint != "" {
		b.WriteString(" (")
		b.WriteString(p.Hint)
		b.WriteString(")")
	}
	return b.String()
}

// problems collects Problems.
type problems []*Problem

func (ps *problems) add(file string, line int, key, hint, format string, args ...any) {
	*ps = append(*ps, &Problem{File: file, Line: line, Key: key, Hint: hint, Message: fmt.Sprintf(format, args...)})
}

// err returns the collected problems as one error, sorted by file, then
// line, then message, or nil when there are none.
func (ps problems) err() error {
	if len(ps) == 0 {
		return nil
	}
	sorted := append(problems(nil), ps...)
	sort.SliceStable(sorted, func(i, j int) bool {
		a, b := sorted[i], sorted[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Error() < b.Error()
	})
	merr := &multierror.Error{ErrorFormat: formatProblems}
	for _, p := range sorted {
		merr.Errors = append(merr.Errors, p)
	}
	return merr
}

// formatProblems prints one problem per line.
func formatProblems(errs []error) string {
	lines := make([]string, len(errs))
	for i, e := range errs {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Problems returns the individual problems inside an error returned by this
// package, in their reported order; other errors yield nil.
func Problems(err error) []*Problem {
	var merr *multierror.Error
	if errors.As(err, &merr) {
		var out []*Problem
		for _, e := range merr.Errors {
			var p *Problem
			if errors.As(e, &p) {
				out = append(out, p)
			}
		}
		return out
	}
	var p *Problem
	if errors.As(err, &p) {
		return []*Problem{p}
	}
	return nil
}

// suggest returns the candidate closest to name within edit distance 2,
// or a candidate sharing name as a prefix, or "".
func suggest(name string, candidates []string) string {
	best, bestDist := "", 3
	for _, c := range candidates {
		d := editDistance(strings.ToLower(name), strings.ToLower(c))
		if d < bestDist {
			best, bestDist = c, d
		}
	}
	if best == "" && len(name) >= 3 {
		for _, c := range candidates {
			if strings.HasPrefix(c, name) || strings.HasPrefix(name, c) {
				return c
			}
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// JoinProblems merges errors returned by this package into one error whose
// problems are sorted by file and line; other errors are kept as problems
// without a position. It returns nil when every error is nil.
func JoinProblems(errs ...error) error {
	var ps problems
	for _, err := range errs {
		if err == nil {
			continue
		}
		if found := Problems(err); len(found) > 0 {
			ps = append(ps, found...)
			continue
		}
		ps = append(ps, &Problem{File: "launcher", Message: err.Error()})
	}
	return ps.err()
}
