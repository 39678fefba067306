package profile

import (
	"os"
	"testing"

	"github.com/BurntSushi/toml"
)

// FuzzDecode: the loader never panics, and returns either a layer that
// resolves or problems that all carry the file name and a line.
func FuzzDecode(f *testing.F) {
	seeds := []string{
		"defaults.toml",
		"../claude-sandbox.example.toml",
		"../testdata/layers/package/defaults.toml",
		"../testdata/layers/etc-xdg/claude-sandbox/config.toml",
		"../testdata/layers/home/.config/claude-sandbox/config.toml",
		"../testdata/layers/home/src/app/.claude-sandbox.toml",
	}
	for _, p := range seeds {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte("network = \"of\"\n[vm]\ncpus = -1\n[mounts]\n\"~\" = \"rw\"\n"))
	addHostileSeeds(f)
	b, err := Builtin(testEnv)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := Decode(LayerProject, "f.toml", data, testEnv)
		if err != nil {
			if l != nil {
				t.Fatal("both a layer and an error")
			}
			ps := Problems(err)
			if len(ps) == 0 {
				t.Fatalf("error without problems: %v", err)
			}
			for _, p := range ps {
				if p.File != "f.toml" || p.Line < 1 {
					t.Fatalf("problem without a position: %+v", p)
				}
			}
			return
		}
		p, _, err := Assess(testEnv, []*Layer{b, l}, Flags{})
		if err != nil {
			for _, pr := range Problems(err) {
				if pr.File == "f.toml" && pr.Line < 1 {
					t.Fatalf("problem without a line: %+v", pr)
				}
			}
			return
		}
		if p == nil || len(p.Command) == 0 || p.Backend == "" {
			t.Fatalf("incomplete policy %+v", p)
		}
	})
}

// addHostileSeeds adds small versions of the hostile inputs and of the
// deepest accepted ones, and the egress and mount values check refuses.
func addHostileSeeds(f *testing.F) {
	for _, in := range []map[string]string{hostileInputs(256), deepestAccepted(512)} {
		for _, src := range in {
			f.Add([]byte(src))
		}
	}
	for _, src := range []string{
		"[egress]\nallow = [\"*.com\", \"not-a-domain\", \"x.com:99999\", \"1.2.3.4\"]\n",
		"[mounts]\n\"*.pem\" = \"hide\"\n\"/d\" = { mode = \"ro\", target = \"/e/[ab]\" }\n",
		"[profiles.a.mounts]\n\"/p\" = { mode = \"ro\" }\n",
		"a = \"\"\"\n[[[\n\"\"\"\nb = [[[1]]]\n",
	} {
		f.Add([]byte(src))
	}
}

// FuzzNestingDepth: the scan that bounds nesting before decoding never
// reports less than the depth of what the decoder builds, so a file it
// lets through is no deeper than its bound.
func FuzzNestingDepth(f *testing.F) {
	addHostileSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		_, scanned := nestingDepth(data, 1<<30)
		if scanned > 4*MaxDepth {
			return // the decoder's cost grows with the square of the depth
		}
		var raw map[string]any
		if _, err := toml.Decode(string(data), &raw); err != nil {
			return
		}
		if got := treeDepth(raw); got > scanned {
			t.Fatalf("decoded depth %d, scan said %d", got, scanned)
		}
	})
}

// treeDepth is the depth of a decoded value: 0 for a scalar or an empty
// table or array, one more than its deepest element for another.
func treeDepth(v any) int {
	d := 0
	switch x := v.(type) {
	case map[string]any:
		for _, e := range x {
			d = max(d, treeDepth(e))
		}
	case []any:
		for _, e := range x {
			d = max(d, treeDepth(e))
		}
	case []map[string]any:
		for _, e := range x {
			d = max(d, treeDepth(e))
		}
	}
	if !isEmpty(v) {
		d++
	}
	return d
}

func isEmpty(v any) bool {
	switch x := v.(type) {
	case map[string]any:
		return len(x) == 0
	case []any:
		return len(x) == 0
	case []map[string]any:
		return len(x) == 0
	}
	return true
}
