package profile

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
)

// hostileInputs returns files an attacker could commit, each about size
// bytes: deep nesting of every kind TOML allows, and long flat files.
func hostileInputs(size int) map[string]string {
	rep := func(unit string) string { return strings.Repeat(unit, max(size/len(unit), 1)) }
	n := size / 4
	in := map[string]string{
		"deep inline tables": "a = " + strings.Repeat("{b=", n) + "1" + strings.Repeat("}", n) + "\n",
		"deep arrays":        "a = " + strings.Repeat("[", size/2) + strings.Repeat("]", size/2) + "\n",
		"deep dotted key":    rep("a.") + "a = 1\n",
		"deep header":        "[" + rep("a.") + "a]\n",
		"deep array header":  "[[" + rep("a.") + "a]]\n",
		"deep mixed":         "[profiles.x]\nmounts = " + rep("{a.b=[") + "\n",
		"comments":           rep("# a comment line\n"),
		"long list":          "[egress]\nallow = [" + rep(`"a.example.com", `) + "]\n",
	}
	var keys, tables, env strings.Builder
	for i := 0; keys.Len() < size; i++ {
		fmt.Fprintf(&keys, "k%d = %d\n", i, i)
	}
	for i := 0; tables.Len() < size; i++ {
		fmt.Fprintf(&tables, "[t%d]\n", i)
	}
	env.WriteString("[env.set]\n")
	for i := 0; env.Len() < size; i++ {
		fmt.Fprintf(&env, "V%d = \"x\"\n", i)
	}
	in["flat keys"], in["many tables"], in["many env vars"] = keys.String(), tables.String(), env.String()
	return in
}

// deepestAccepted returns files nested exactly MaxDepth deep, repeated to
// fill about size bytes: the costliest files the loader decodes.
func deepestAccepted(size int) map[string]string {
	parts := make([]string, MaxDepth)
	for i := range parts {
		parts[i] = fmt.Sprintf("k%d", i)
	}
	in := map[string]string{}
	var dotted, inline strings.Builder
	for i := 0; dotted.Len() < size-200; i++ {
		fmt.Fprintf(&dotted, "x%d.%s = 1\n", i, strings.Join(parts[1:], "."))
	}
	for i := 0; inline.Len() < size-200; i++ {
		fmt.Fprintf(&inline, "x%d = %s1%s\n", i, strings.Repeat("{a=", MaxDepth-1), strings.Repeat("}", MaxDepth-1))
	}
	in["dotted keys at the depth limit"] = dotted.String()
	in["inline tables at the depth limit"] = inline.String()
	return in
}

func TestHostileInputsRefusedBeforeDecoding(t *testing.T) {
	for _, size := range []int{4 << 10, MaxFileSize - 100} {
		for name, src := range hostileInputs(size) {
			if !strings.HasPrefix(name, "deep") {
				continue
			}
			t.Run(fmt.Sprintf("%s/%d", name, size), func(t *testing.T) {
				got := problemsOf(src)
				if len(got) != 1 || !strings.Contains(got[0], "p.toml:") || !strings.Contains(got[0], fmt.Sprintf("nested more than %d levels", MaxDepth)) {
					t.Fatalf("problems = %q, want one nesting problem", got)
				}
				// Refused by the scan alone: a handful of allocations
				// (the problem and its message), whatever the size.
				allocs := testing.AllocsPerRun(3, func() {
					_, _ = Decode(LayerProject, "p.toml", []byte(src), testEnv)
				})
				if allocs > 20 {
					t.Errorf("refusing took %v allocations, want a handful", allocs)
				}
			})
		}
	}
}

func TestFileSizeBound(t *testing.T) {
	src := strings.Repeat("# padding\n", MaxFileSize/10+1)
	got := problemsOf(src)
	if len(got) != 1 || !strings.HasPrefix(got[0], "p.toml:1: file is ") || !strings.Contains(got[0], fmt.Sprintf("more than the %d", MaxFileSize)) {
		t.Fatalf("problems = %q, want the size problem", got)
	}
	if got := problemsOf(src[:MaxFileSize]); got != nil {
		t.Fatalf("a file of exactly MaxFileSize bytes: %q", got)
	}
}

func TestNestingProblemLine(t *testing.T) {
	deep := strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth)
	src := "notice = true\n\n[env]\npass = [\"A\"]\nx = " + deep + "\n"
	got := problemsOf(src)
	if len(got) != 1 || !strings.HasPrefix(got[0], "p.toml:5: keys nested more than") {
		t.Fatalf("problems = %q", got)
	}
}

func TestNestingDepth(t *testing.T) {
	tests := []struct {
		src   string
		depth int
		line  int
	}{
		{"", 0, 1},
		{"a = 1\n", 1, 1},
		{"a.b.c = 1\n", 3, 1},
		{"\n[a.b]\nc = 1\n", 3, 3},
		{"[[a.b]]\nc = 1\n", 4, 2},
		{"[a]\nb = { c = { d = 1 } }\n", 4, 2},
		{"[a]\nb = [[1], [2, [3]]]\n", 5, 2},
		{"a = [\n  { b.c = 1 },\n  2,\n]\n", 4, 2},
		{"a = { b = [1, 2], c.d.e = 1 }\n", 4, 1},
		{"a = 1.5\nb = 1979-05-27T07:32:00.999Z\n", 1, 1},
		{"\"a.b.c\" = 1\n'd.e' = 2\n", 1, 1},
		{"a = \"[[[{{{\"\nb = '[[[['\n", 1, 1},
		{"a = \"\"\"\n[[[\n\"\"\"\nb.c = 1\n", 2, 4},
		{"a = '''x''''\nb.c = 1\n", 2, 2},
		{"a = \"\\\"[[[\"\nb.c = 1\n", 2, 2},
		{"# [[[[ {{{{\na = 1 # [[[[\n", 1, 2},
		{"[\"a.b\".c]\nd = 1\n", 3, 2},
		{"[a] # [[[[\nb = 1\n", 2, 2},
	}
	for _, tt := range tests {
		line, depth := nestingDepth([]byte(tt.src), 100)
		if depth != tt.depth || line != tt.line {
			t.Errorf("nestingDepth(%q) = line %d, depth %d; want line %d, depth %d", tt.src, line, depth, tt.line, tt.depth)
		}
	}
}

// TestRealFilesWithinBounds: the shipped defaults and example stay well
// inside the bounds.
func TestRealFilesWithinBounds(t *testing.T) {
	for _, p := range []string{"defaults.toml", "../claude-sandbox.example.toml"} {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		_, depth := nestingDepth(data, MaxDepth)
		if depth > MaxDepth-3 || len(data) > MaxFileSize/4 {
			t.Errorf("%s: depth %d, %d bytes: the bounds leave too little room", p, depth, len(data))
		}
	}
}

// TestAcceptedInputsCostBounded decodes the costliest files within the
// bounds and the long flat ones and checks the memory they take stays
// within a fixed multiple of the file size.
func TestAcceptedInputsCostBounded(t *testing.T) {
	in := deepestAccepted(MaxFileSize)
	for name, src := range hostileInputs(MaxFileSize - 100) {
		if !strings.HasPrefix(name, "deep") {
			in[name] = src
		}
	}
	for name, src := range in {
		t.Run(name, func(t *testing.T) {
			if len(src) > MaxFileSize {
				t.Fatalf("input is %d bytes", len(src))
			}
			_, err := Decode(LayerProject, "p.toml", []byte(src), testEnv)
			for _, p := range Problems(err) {
				if strings.Contains(p.Message, "nested") || strings.Contains(p.Message, "bytes, more than") {
					t.Fatalf("refused by the bounds: %v", p)
				}
			}
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, _ = Decode(LayerProject, "p.toml", []byte(src), testEnv)
			runtime.ReadMemStats(&after)
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 1000*uint64(len(src)) {
				t.Errorf("decoding %d bytes allocated %d bytes", len(src), alloc)
			}
		})
	}
}

// BenchmarkDecodeHostile prints the cost of every hostile input at the
// size bound: the refused ones and the costliest accepted ones.
func BenchmarkDecodeHostile(b *testing.B) {
	in := deepestAccepted(MaxFileSize)
	for name, src := range hostileInputs(MaxFileSize - 100) {
		in[name] = src
	}
	for name, src := range in {
		data := []byte(src)
		b.Run(strings.ReplaceAll(name, " ", "-"), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				_, _ = Decode(LayerProject, "p.toml", data, testEnv)
			}
		})
	}
}
