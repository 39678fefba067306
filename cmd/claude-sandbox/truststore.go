package main

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// trustStore records which project files the user trusts: one record per
// project file path under $XDG_DATA_HOME/claude-sandbox/trust/, named by
// the SHA-256 of the file's path and holding the SHA-256 of the trusted
// bytes. A copy of the trusted bytes is kept next to it so that trust can
// show what a later edit adds.
type trustStore struct {
	dir   string
	owner owner
}

func newTrustStore(env userEnv) trustStore {
	return trustStore{dir: filepath.Join(env.DataHome, "claude-sandbox", "trust"), owner: env.Owner}
}

func digest(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func (t trustStore) recordPath(file string) string {
	return filepath.Join(t.dir, digest([]byte(file)))
}

// trusted reports whether data is the trusted content of file.
func (t trustStore) trusted(file string, data []byte) (bool, error) {
	rec, err := os.ReadFile(t.recordPath(file))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("reading the trust record of %s: %w", file, err)
	}
	fields := strings.Fields(string(rec))
	return len(fields) > 0 && fields[0] == digest(data), nil
}

// previous returns the last trusted bytes of file, or nil.
func (t trustStore) previous(file string) []byte {
	data, err := os.ReadFile(t.recordPath(file) + ".toml")
	if err != nil {
		return nil
	}
	return data
}

// record trusts data as the content of file.
func (t trustStore) record(file string, data []byte) error {
	if err := t.owner.mkdirAll(t.dir, 0o700); err != nil {
		return fmt.Errorf("creating the trust store: %w", err)
	}
	base := t.recordPath(file)
	if err := writeAtomic(base+".toml", data, t.owner); err != nil {
		return err
	}
	return writeAtomic(base, []byte(digest(data)+"  "+file+"\n"), t.owner)
}

// writeAtomic writes data to path through a temporary file (owned by o)
// and a rename.
func writeAtomic(path string, data []byte, o owner) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	_, werr := f.Write(data)
	if werr == nil {
		werr = o.chown(f.Name())
	}
	cerr := f.Close()
	if werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(f.Name(), path)
	}
	if werr != nil {
		os.Remove(f.Name())
		return fmt.Errorf("writing %s: %w", path, werr)
	}
	return nil
}

// revoke removes the trust record of file and reports whether there was one.
func (t trustStore) revoke(file string) (bool, error) {
	base := t.recordPath(file)
	err := os.Remove(base)
	removed := err == nil
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return false, fmt.Errorf("removing the trust record of %s: %w", file, err)
	}
	if err := os.Remove(base + ".toml"); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return removed, fmt.Errorf("removing the trust record of %s: %w", file, err)
	}
	return removed, nil
}
