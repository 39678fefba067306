package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
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

// TestTrustStoreOwnedByInvokingUser: as root on a user's behalf, the trust
// store's directories and records belong to that user.
func TestTrustStoreOwnedByInvokingUser(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root (the test hands files to another uid)")
	}
	data := t.TempDir()
	env := userEnv{Owner: owner{set: true, uid: 65534, gid: 65534}}
	env.DataHome = filepath.Join(data, "share")
	store := newTrustStore(env)
	if err := store.record("/p/.claude-sandbox.toml", []byte("x = 1\n")); err != nil {
		t.Fatal(err)
	}
	err := filepath.Walk(env.DataHome, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		st := info.Sys().(*syscall.Stat_t)
		if st.Uid != 65534 || st.Gid != 65534 {
			t.Errorf("%s is owned by %d:%d, want 65534:65534", p, st.Uid, st.Gid)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	ok, err := store.trusted("/p/.claude-sandbox.toml", []byte("x = 1\n"))
	if err != nil || !ok {
		t.Fatalf("trusted = %v, %v", ok, err)
	}
}
