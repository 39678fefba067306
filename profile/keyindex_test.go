package profile

import (
	"os"
	"testing"

	"github.com/BurntSushi/toml"
)

func TestKeyIndexLines(t *testing.T) {
	src := `# comment
a = 1
"quoted.key" = "x" # trailing
b.c = [
  "multi", # with comment
  "line",
]
s = """
fake = 1
"""
t = '''
also = 2'''
[tbl]
x = { y = 1, z = { w = 2 } }
[tbl.sub]
'lit' = true
[[arr]]
k = 1
`
	ix := indexKeys(src)
	want := map[string]int{
		"a": 2, "quoted.key": 3, "b": 4, "b.c": 4, "s": 8, "t": 11,
		"tbl": 13, "tbl.x": 14, "tbl.x.y": 14, "tbl.x.z.w": 14, "tbl.sub": 15, "tbl.sub.lit": 16,
		"arr": 17, "arr.k": 18,
	}
	for k, l := range want {
		if ix[k] != l {
			t.Errorf("line of %s = %d, want %d", k, ix[k], l)
		}
	}
	for _, k := range []string{"fake", "also"} {
		if _, ok := ix[k]; ok {
			t.Errorf("string content %q indexed as a key", k)
		}
	}
}

// FuzzKeyIndex checks the index against the library: every key the
// library reports is found by the scanner.
func FuzzKeyIndex(f *testing.F) {
	for _, p := range []string{"defaults.toml", "../claude-sandbox.example.toml", "../testdata/layers/home/.config/claude-sandbox/config.toml"} {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(string(data))
		}
	}
	f.Add("a.\"b.c\".d = 1\n[x . 'y']\nz = {q = [1, {r = 2}]}\n")
	f.Fuzz(func(t *testing.T, src string) {
		var v map[string]any
		md, err := toml.Decode(src, &v)
		if err != nil {
			return
		}
		ix := indexKeys(src)
		for _, k := range md.Keys() {
			if ix.line(k...) == 0 && !hasControl(k) {
				// Keys inside arrays of inline tables have no stable
				// path; everything else must be found.
				if md.Type(k[:1]...) == "Array" {
					continue
				}
				t.Errorf("key %q not indexed", k)
			}
		}
	})
}

// hasControl reports whether a key holds a control character, which the
// library accepts unescaped in quoted keys (and reports in a raw form).
func hasControl(parts []string) bool {
	for _, p := range parts {
		for _, r := range p {
			if r < 0x20 || r == 0x7f {
				return true
			}
		}
	}
	return false
}

func TestKeyIndexElementLines(t *testing.T) {
	src := "[egress]\nallow = [\"a.com\",\n  # comment\n  \"b.com\", \"c.com\",\n\n  \"d.com\"]\nx = { l = [1,\n 2] }\n"
	ix := indexKeys(src)
	path := []string{"egress", "allow"}
	for i, want := range []int{2, 4, 4, 6, 2 /* no such element: the key's line */} {
		if got := ix.elemLine(path, i); got != want {
			t.Errorf("line of element %d = %d, want %d", i, got, want)
		}
	}
	if got := ix.elemLine([]string{"egress", "x", "l"}, 1); got != 8 {
		t.Errorf("line of an element in an inline table = %d, want 8", got)
	}
}
