package audit

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseGitConfig(t *testing.T) {
	src := "# comment\n[Core]\n\tFSMonitor = \"touch \\\"M\\\"\" ; trailing\n\tbare\n" +
		"[alias]\n\tx = !echo \\\n  continued   # comment\n" +
		"[diff \"Py\"]\n\ttextconv = a\\tb  \n" +
		"[branch.Main]\n\tremote = origin\n" +
		"[includeIf \"gitdir:~/w/\"]\n\tpath = ~/.w.inc\n"
	got, err := ParseGitConfig([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range got {
		names = append(names, e.Name()+"="+e.Value)
	}
	want := []string{
		"core.fsmonitor=touch \"M\"",
		"core.bare=true",
		"alias.x=!echo   continued",
		"diff.Py.textconv=a\tb",
		"branch.Main.remote=origin",
		"includeif.gitdir:~/w/.path=~/.w.inc",
	}
	if d := cmp.Diff(want, names); d != "" {
		t.Errorf("entries (-want +got):\n%s", d)
	}
	if got[2].Line != 6 {
		t.Errorf("alias.x on line %d, want 6", got[2].Line)
	}
	exec := gitConfigExec([]byte(src))
	if len(exec) != 4 {
		t.Errorf("executing entries %q, want fsmonitor, alias, textconv, includeIf", exec)
	}
	if _, err := ParseGitConfig([]byte("[core\nx = \"open\n")); err == nil {
		t.Errorf("a broken file parses without an error")
	}
}
