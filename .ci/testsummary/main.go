// Command testsummary reads `go test -json` on standard input and prints
// what a plain `go test` prints (the ok/FAIL line of every package, the
// output of failed tests, build errors), then the slowest tests.
//
//	go test -timeout 45m ./... -json | go run ./.ci/testsummary
//
// Its exit status is 0 when it could read its input; the test run's own
// status is go test's.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"
)

// event is one line of `go test -json` (see `go doc test2json`).
type event struct {
	Action      string
	Package     string
	Test        string
	Elapsed     float64
	Output      string
	ImportPath  string
	FailedBuild string
}

// result is a finished test.
type result struct {
	pkg, test, action string
	elapsed           float64
}

type key struct{ pkg, test string }

// summary collects the run as the events arrive.
type summary struct {
	out     io.Writer
	pending map[key][]string // output of tests still running
	results []result
	counts  map[string]int
}

func newSummary(out io.Writer) *summary {
	return &summary{out: out, pending: map[key][]string{}, counts: map[string]int{}}
}

func (s *summary) add(e event) {
	switch e.Action {
	case "build-output":
		fmt.Fprint(s.out, e.Output)
		return
	case "output":
		if e.Test == "" {
			// The package's own lines: ok/FAIL/"no test files", panics,
			// output of TestMain. A plain go test does not print PASS.
			if e.Output != "PASS\n" {
				fmt.Fprint(s.out, e.Output)
			}
			return
		}
		k := key{e.Package, e.Test}
		s.pending[k] = append(s.pending[k], e.Output)
	case "pass", "fail", "skip":
		if e.Test == "" {
			if e.Action == "fail" {
				s.flushPackage(e.Package)
			}
			return
		}
		k := key{e.Package, e.Test}
		if e.Action == "fail" {
			s.print(s.pending[k])
		}
		delete(s.pending, k)
		s.results = append(s.results, result{e.Package, e.Test, e.Action, e.Elapsed})
		s.counts[e.Action]++
	}
}

func (s *summary) print(lines []string) {
	for _, l := range lines {
		fmt.Fprint(s.out, l)
	}
}

// flushPackage prints the output of the package's tests that never
// finished (a panic, a timeout), since they are why it failed.
func (s *summary) flushPackage(pkg string) {
	var keys []key
	for k := range s.pending {
		if k.pkg == pkg {
			keys = append(keys, k)
		}
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].test < keys[j].test })
	for _, k := range keys {
		s.print(s.pending[k])
		delete(s.pending, k)
	}
}

// finish prints the counts and the slowest top-level tests and subtests.
func (s *summary) finish(top int) {
	sort.SliceStable(s.results, func(i, j int) bool { return s.results[i].elapsed > s.results[j].elapsed })
	fmt.Fprintf(s.out, "\ntests: %d passed, %d failed, %d skipped\n", s.counts["pass"], s.counts["fail"], s.counts["skip"])
	if len(s.results) == 0 {
		return
	}
	fmt.Fprintf(s.out, "slowest tests:\n")
	for i, r := range s.results {
		if i == top || r.elapsed < 0.01 {
			break
		}
		d := time.Duration(r.elapsed * float64(time.Second)).Round(10 * time.Millisecond)
		fmt.Fprintf(s.out, "%10v  %-4s  %s %s\n", d, r.action, shortPackage(r.pkg), r.test)
	}
}

// shortPackage drops the module path shared by every package.
func shortPackage(pkg string) string {
	const module = "github.com/claude-sandbox/claude-sandbox"
	if pkg == module {
		return "."
	}
	return "./" + strings.TrimPrefix(pkg, module+"/")
}

func main() {
	top := flag.Int("top", 20, "how many of the slowest tests to list")
	flag.Parse()
	s := newSummary(os.Stdout)
	sc := bufio.NewScanner(os.Stdin)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var e event
		if len(line) == 0 || line[0] != '{' || json.Unmarshal(line, &e) != nil {
			// Not an event: something go test printed as text.
			fmt.Printf("%s\n", line)
			continue
		}
		s.add(e)
	}
	if err := sc.Err(); err != nil {
		fmt.Fprintf(os.Stderr, "testsummary: reading the test events: %v\n", err)
		os.Exit(1)
	}
	s.finish(*top)
}
