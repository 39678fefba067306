package main

import (
	"io"
	"testing"

	"github.com/claude-sandbox/claude-sandbox/profile"
)

// BenchmarkParse measures building the grammar of a plain run and parsing
// its command line, which every launch pays.
func BenchmarkParse(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		var grammar runOnly
		parser, err := newParser(&grammar, stdio{out: io.Discard, err: io.Discard})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := parser.Parse([]string{"--backend=vm", "--no-network", "/tmp", "--", "--resume"}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseFull is BenchmarkParse over the full grammar, for comparison.
func BenchmarkParseFull(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		var grammar cli
		parser, err := newParser(&grammar, stdio{out: io.Discard, err: io.Discard})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := parser.Parse([]string{"--backend=vm", "--no-network", "/tmp", "--", "--resume"}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSession measures what a plain run does before handing the
// policy to the backend: find, read and decode every layer of the
// realistic tree, resolve it and assess the project file.
func BenchmarkSession(b *testing.B) {
	env, project := realisticEnv(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := resolveSessionEnv(env, project, profile.Flags{}); err != nil {
			b.Fatal(err)
		}
	}
}
