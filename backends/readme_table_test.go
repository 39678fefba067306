package backends_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// backendTableHeader starts README's comparison of the backends.
const backendTableHeader = "| resource | bubblewrap | container | vm | verified by |"

// backendTableRows are the resources the comparison covers, in order.
var backendTableRows = []string{
	"project directory", "~/.claude", "~/.gitconfig, ~/.ssh", "/nix/store", "/home", "network", "display",
	"audio", "GPU (DRI)", "D-Bus", "SSH agent", "Nix commands", "GitHub CLI config", "locale", "kernel",
}

// pendingTableTests are tests the table names before their code is in
// the tree; once one exists, this test fails until it is removed here.
var pendingTableTests = map[string]bool{}

var (
	testFunc = regexp.MustCompile(`(?m)^func (Test\w+)\(`)
	testName = regexp.MustCompile("`(Test\\w+)`")
)

// TestReadmeBackendTable checks README's comparison of the backends: its
// rows are the resources above, and each row names, for each of the
// three backends, at least one test that exists in the tree.
func TestReadmeBackendTable(t *testing.T) {
	data, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	start := -1
	for i, l := range lines {
		if strings.TrimSpace(l) == backendTableHeader {
			start = i
			break
		}
	}
	if start < 0 {
		t.Fatalf("README.md has no table starting %q", backendTableHeader)
	}
	defined := definedTests(t, "..")
	var rows []string
	for _, l := range lines[start+2:] {
		if !strings.HasPrefix(l, "|") {
			break
		}
		cells := strings.Split(strings.Trim(strings.TrimSpace(l), "|"), "|")
		if len(cells) != 5 {
			t.Errorf("README.md: row %q has %d cells, want 5", l, len(cells))
			continue
		}
		resource := strings.ReplaceAll(strings.TrimSpace(cells[0]), "`", "")
		rows = append(rows, resource)
		for i, c := range cells[1:4] {
			if strings.TrimSpace(c) == "" {
				t.Errorf("README.md: %s: the %s cell is empty", resource, []string{"bubblewrap", "container", "vm"}[i])
			}
		}
		groups := strings.Split(cells[4], ";")
		if len(groups) != 3 {
			t.Errorf("README.md: %s: verified by %q: want the tests of bubblewrap; container; vm", resource, cells[4])
			continue
		}
		for i, g := range groups {
			names := testName.FindAllStringSubmatch(g, -1)
			if len(names) == 0 {
				t.Errorf("README.md: %s: no test named for %s", resource, []string{"bubblewrap", "container", "vm"}[i])
			}
			for _, n := range names {
				if !defined[n[1]] && !pendingTableTests[n[1]] {
					t.Errorf("README.md: %s: %s does not exist (no func %s in a _test.go file)", resource, n[1], n[1])
				}
			}
		}
	}
	if strings.Join(rows, "\n") != strings.Join(backendTableRows, "\n") {
		t.Errorf("README.md: the table's rows are\n%q\nwant\n%q", rows, backendTableRows)
	}
	for n := range pendingTableTests {
		if defined[n] {
			t.Errorf("%s exists now: remove it from pendingTableTests", n)
		}
	}
}

// definedTests lists the test functions in the _test.go files below root.
func definedTests(t *testing.T, root string) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(p, "_test.go") {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, m := range testFunc.FindAllStringSubmatch(string(data), -1) {
			out[m[1]] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
