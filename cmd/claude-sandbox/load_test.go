package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadLayerFileLimits(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big.toml")
	if err := os.WriteFile(big, []byte(strings.Repeat("#", maxLayerSize+1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := readLayerFile(big); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("err = %v, want a size error", err)
	}
	ok := filepath.Join(dir, "ok.toml")
	if err := os.WriteFile(ok, []byte("notice = true\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if data, err := readLayerFile(ok); err != nil || string(data) != "notice = true\n" {
		t.Errorf("read %q, %v", data, err)
	}
	if _, err := readLayerFile(dir); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("err = %v, want a not-regular error", err)
	}
}
