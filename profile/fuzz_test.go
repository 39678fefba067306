package profile

import (
	"os"
	"testing"
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
