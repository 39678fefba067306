package backends

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/claude-sandbox/claude-sandbox/render"
)

// TestStateDirName checks that a project's state directory is named after
// its base name with every character outside A-Z a-z 0-9 . _ - replaced by
// one "-" (multi-byte and invalid UTF-8 alike), as the expression
// [^A-Za-z0-9._-] replaces them.
func TestStateDirName(t *testing.T) {
	unsafe := regexp.MustCompile(`[^A-Za-z0-9._-]`)
	h := &render.Host{Home: "/home/u", Env: map[string]string{"XDG_STATE_HOME": "/s"}}
	for _, base := range []string{"proj", "my proj", "a.b_c-d", "été", "日本", "x\xffy", "tab\there", "$(x)"} {
		got := filepath.Base(stateDirFor(h, "/p/"+base))
		name := got[:strings.LastIndexByte(got, '-')]
		if want := unsafe.ReplaceAllString(base, "-"); name != want {
			t.Errorf("state dir of %q: name %q, want %q", base, name, want)
		}
	}
}
