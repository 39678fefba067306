package vmimage

import (
	"debug/elf"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// File is a host file copied into the initramfs.
type File struct {
	// Name is the absolute path inside the initramfs.
	Name string
	// Source is the file on the host (symbolic links are followed).
	Source string
}

// LibraryDirs are the directories the dynamic loader searches when no
// ld.so.cache exists, as the initramfs has none: the multiarch
// directories of Debian and Ubuntu, then the classic ones.
var LibraryDirs = []string{"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/usr/lib64", "/lib", "/usr/lib"}

// RuntimeFiles returns what program needs to start as the guest's /init
// when it is dynamically linked (a launcher built with cgo): its ELF
// interpreter at the path the program names, and every shared library it
// needs, directly or through another library, at the path where the
// loader finds it on the host. A static program needs nothing.
func RuntimeFiles(program string) ([]File, error) {
	f, err := elf.Open(program)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", program, err)
	}
	defer f.Close()
	var out []File
	for _, p := range f.Progs {
		if p.Type != elf.PT_INTERP {
			continue
		}
		data := make([]byte, p.Filesz)
		if _, err := p.ReadAt(data, 0); err != nil {
			return nil, fmt.Errorf("reading %s's interpreter: %w", program, err)
		}
		interp := strings.TrimRight(string(data), "\x00")
		if !path.IsAbs(interp) {
			return nil, fmt.Errorf("%s: interpreter %q is not an absolute path", program, interp)
		}
		out = append(out, File{Name: interp, Source: interp})
	}
	if len(out) == 0 {
		return nil, nil
	}
	seen := map[string]bool{}
	var visit func(obj string, f *elf.File) error
	visit = func(obj string, f *elf.File) error {
		needed, err := f.ImportedLibraries()
		if err != nil {
			return fmt.Errorf("reading %s's libraries: %w", obj, err)
		}
		dirs := searchDirs(obj, f)
		for _, lib := range needed {
			if seen[lib] {
				continue
			}
			seen[lib] = true
			found := ""
			for _, d := range dirs {
				p := filepath.Join(d, lib)
				if strings.Contains(lib, "/") {
					p = lib
				}
				if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
					found = p
					break
				}
			}
			if found == "" {
				return fmt.Errorf("%s needs %s, which is in none of %s", obj, lib, strings.Join(dirs, ", "))
			}
			out = append(out, File{Name: found, Source: found})
			lf, err := elf.Open(found)
			if err != nil {
				return fmt.Errorf("reading %s: %w", found, err)
			}
			err = visit(found, lf)
			lf.Close()
			if err != nil {
				return err
			}
		}
		return nil
	}
	if err := visit(program, f); err != nil {
		return nil, err
	}
	return out, nil
}

// searchDirs are the directories searched for obj's libraries: its
// RUNPATH (or RPATH), with $ORIGIN expanded, then LibraryDirs.
func searchDirs(obj string, f *elf.File) []string {
	var dirs []string
	for _, tag := range []elf.DynTag{elf.DT_RUNPATH, elf.DT_RPATH} {
		vals, _ := f.DynString(tag)
		for _, v := range vals {
			for _, d := range strings.Split(v, ":") {
				d = strings.ReplaceAll(strings.ReplaceAll(d, "${ORIGIN}", "$ORIGIN"), "$ORIGIN", filepath.Dir(obj))
				if path.IsAbs(d) {
					dirs = append(dirs, d)
				}
			}
		}
	}
	return append(dirs, LibraryDirs...)
}
