package main

import (
	"io"
	"testing"
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
