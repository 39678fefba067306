package vmimage

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/cavaliergopher/cpio"
	"github.com/ulikunitz/xz"
)

// WriteInitramfs writes a newc cpio archive holding init as /init, empty
// /dev, /proc, /sys, /newroot and /tmp directories, and the modules as
// /modules/NN-NAME.ko in load order (/modules/GROUP/NN-NAME.ko for a
// module of a group). Compressed modules (.ko.xz) are stored
// uncompressed, and Unsigned ones without their signature. The guest init
// mounts devtmpfs itself and reopens its standard streams on
// /dev/console, so the archive needs no device nodes. Extra files (a dynamically linked init's loader and libraries)
// are stored at their names, with their parent directories. An ELF init
// is stored without its symbols and debug sections (see StripELF).
func WriteInitramfs(w io.Writer, init []byte, modules []Module, extra ...File) error {
	init = StripELF(init)
	cw := cpio.NewWriter(w)
	ino := int64(1)
	add := func(h *cpio.Header, data []byte) error {
		h.Inode = ino
		ino++
		h.ModTime = time.Unix(0, 0)
		if err := cw.WriteHeader(h); err != nil {
			return fmt.Errorf("initramfs %s: %w", h.Name, err)
		}
		if len(data) > 0 {
			if _, err := cw.Write(data); err != nil {
				return fmt.Errorf("initramfs %s: %w", h.Name, err)
			}
		}
		return nil
	}
	for _, d := range []string{"dev", "proc", "sys", "newroot", "tmp", "modules"} {
		if err := add(&cpio.Header{Name: d, Mode: cpio.TypeDir | 0o755, Links: 2}, nil); err != nil {
			return err
		}
	}
	if err := add(&cpio.Header{Name: "init", Mode: cpio.TypeReg | 0o755, Links: 1, Size: int64(len(init))}, init); err != nil {
		return err
	}
	made := map[string]bool{}
	for _, f := range extra {
		name := strings.TrimPrefix(path.Clean(f.Name), "/")
		var parents []string
		for d := path.Dir(name); d != "." && !made[d]; d = path.Dir(d) {
			made[d] = true
			parents = append([]string{d}, parents...)
		}
		for _, d := range parents {
			if err := add(&cpio.Header{Name: d, Mode: cpio.TypeDir | 0o755, Links: 2}, nil); err != nil {
				return err
			}
		}
		data, err := os.ReadFile(f.Source)
		if err != nil {
			return fmt.Errorf("initramfs: %w", err)
		}
		if err := add(&cpio.Header{Name: name, Mode: cpio.TypeReg | 0o755, Links: 1, Size: int64(len(data))}, data); err != nil {
			return err
		}
	}
	groups := map[string]bool{}
	for i, m := range modules {
		data, err := readModule(m.Path, m.Unsigned)
		if err != nil {
			return err
		}
		dir := path.Join("modules", m.Group)
		if m.Group != "" && !groups[m.Group] {
			groups[m.Group] = true
			if err := add(&cpio.Header{Name: dir, Mode: cpio.TypeDir | 0o755, Links: 2}, nil); err != nil {
				return err
			}
		}
		name := fmt.Sprintf("%s/%02d-%s.ko", dir, i, m.Name)
		if err := add(&cpio.Header{Name: name, Mode: cpio.TypeReg | 0o644, Links: 1, Size: int64(len(data))}, data); err != nil {
			return err
		}
	}
	return cw.Close()
}

func readModule(path string, unsigned bool) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading module: %w", err)
	}
	switch {
	case strings.HasSuffix(path, ".ko"):
		if unsigned {
			data = StripModuleSignature(data)
		}
		return data, nil
	case strings.HasSuffix(path, ".ko.xz"):
		r, err := xz.NewReader(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("module %s: %w", path, err)
		}
		data, err := io.ReadAll(r)
		if err != nil {
			return nil, fmt.Errorf("module %s: %w", path, err)
		}
		if unsigned {
			data = StripModuleSignature(data)
		}
		return data, nil
	}
	return nil, fmt.Errorf("module %s: unsupported compression (only .ko and .ko.xz)", path)
}

// Images are the cached boot files for one kernel and launcher.
type Images struct {
	// Kernel is the file QEMU boots: the extracted vmlinux when it has a
	// PVH entry, the compressed image otherwise.
	Kernel string
	// Initramfs is the generated initramfs.
	Initramfs string
	// DisplayInitramfs is the same with the display modules too (see
	// DisplayModules): only a guest with a window carries their 2 MB,
	// which the guest's kernel copies at every boot.
	DisplayInitramfs string
	// Cached is true when both files came from the cache.
	Cached bool
}

// InitramfsFor returns the initramfs for a guest with a window (display)
// or without one.
func (img Images) InitramfsFor(display bool) string {
	if display {
		return img.DisplayInitramfs
	}
	return img.Initramfs
}

// Prepare returns the boot files for kernel k with the launcher at self
// as /init, building them into cacheDir when they are not there yet. The
// cache key covers the path, size and modification time of the kernel
// image, the launcher and (for a dynamically linked launcher) its loader
// and libraries, so an upgrade of any of them rebuilds.
func Prepare(cacheDir string, k Kernel, self string) (Images, error) {
	img, err := Paths(cacheDir, k, self)
	if err != nil {
		return Images{}, err
	}
	if img.Cached {
		return img, nil
	}
	dir := filepath.Dir(img.Initramfs)
	if err := os.MkdirAll(cacheDir, 0o700); err != nil {
		return Images{}, fmt.Errorf("creating the cache: %w", err)
	}
	tmp, err := os.MkdirTemp(cacheDir, ".build-")
	if err != nil {
		return Images{}, fmt.Errorf("creating the cache: %w", err)
	}
	defer os.RemoveAll(tmp)
	bz, err := os.ReadFile(k.Image)
	if err != nil {
		return Images{}, fmt.Errorf("reading the kernel: %w", err)
	}
	pvh := false
	if vmlinux, err := ExtractVmlinux(bz); err == nil && HasPVHEntry(vmlinux) {
		if err := os.WriteFile(filepath.Join(tmp, "vmlinux"), vmlinux, 0o644); err != nil {
			return Images{}, fmt.Errorf("caching vmlinux: %w", err)
		}
		pvh = true
	}
	init, err := os.ReadFile(self)
	if err != nil {
		return Images{}, fmt.Errorf("reading the launcher: %w", err)
	}
	mods, err := ResolveModules(k.Modules, GuestModules)
	if err != nil {
		return Images{}, err
	}
	runtime, err := RuntimeFiles(self)
	if err != nil {
		return Images{}, err
	}
	base := len(mods)
	mods = withDisplayModules(k.Modules, mods, DisplayModules)
	if SignaturesOptional(k) {
		for i := range mods {
			mods[i].Unsigned = true
		}
	}
	for _, f := range []struct {
		path string
		mods []Module
	}{{img.Initramfs, mods[:base]}, {img.DisplayInitramfs, mods}} {
		var buf bytes.Buffer
		if err := WriteInitramfs(&buf, init, f.mods, runtime...); err != nil {
			return Images{}, err
		}
		if err := os.WriteFile(filepath.Join(tmp, filepath.Base(f.path)), buf.Bytes(), 0o644); err != nil {
			return Images{}, fmt.Errorf("caching the initramfs: %w", err)
		}
	}
	if err := os.Rename(tmp, dir); err != nil && !os.IsExist(err) {
		// Another run may have built the same entry meanwhile.
		if _, statErr := os.Stat(img.Initramfs); statErr != nil {
			return Images{}, fmt.Errorf("caching boot files: %w", err)
		}
	}
	if !pvh {
		img.Kernel = k.Image
	}
	return img, nil
}

// Paths returns where Prepare keeps the boot files for kernel k and the
// launcher at self, without building anything. Cached is set when they
// exist; Kernel is then the extracted vmlinux, or the compressed image
// when that kernel had no PVH entry.
func Paths(cacheDir string, k Kernel, self string) (Images, error) {
	files := []string{k.Image, self, filepath.Join(k.Modules, "modules.dep")}
	// A dynamically linked launcher brings its loader and libraries: an
	// upgrade of those rebuilds too.
	runtime, err := RuntimeFiles(self)
	if err != nil {
		return Images{}, err
	}
	for _, f := range runtime {
		files = append(files, f.Source)
	}
	key, err := identity(files...)
	if err != nil {
		return Images{}, err
	}
	dir := filepath.Join(cacheDir, k.Version+"-"+key)
	img := Images{Kernel: filepath.Join(dir, "vmlinux"), Initramfs: filepath.Join(dir, "initramfs.cpio"),
		DisplayInitramfs: filepath.Join(dir, "initramfs-display.cpio")}
	if _, err := os.Stat(img.DisplayInitramfs); err == nil {
		if _, err := os.Stat(img.Kernel); err != nil {
			img.Kernel = k.Image
		}
		img.Cached = true
	}
	return img, nil
}

// identity hashes the path, size and modification time of files.
func identity(paths ...string) (string, error) {
	h := sha256.New()
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return "", fmt.Errorf("boot file: %w", err)
		}
		fmt.Fprintf(h, "%s\x00%d\x00%d\x00", p, st.Size(), st.ModTime().UnixNano())
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

// withDisplayModules appends to mods, in DisplayGroup, each module of
// display found in modulesDir with the dependencies mods lacks. A module
// the kernel does not have is left out alone: the others still load.
func withDisplayModules(modulesDir string, mods []Module, display []string) []Module {
	have := map[string]bool{}
	for _, m := range mods {
		have[m.Name] = true
	}
	for _, want := range display {
		found, err := ResolveModules(modulesDir, []string{want})
		if err != nil {
			continue
		}
		for _, m := range found {
			if !have[m.Name] {
				have[m.Name] = true
				m.Group = DisplayGroup
				mods = append(mods, m)
			}
		}
	}
	return mods
}

// SignaturesOptional reports whether kernel k loads unsigned modules:
// its configuration (/boot/config-VERSION beside the image) is readable
// and neither forces module signatures nor forces lockdown. A kernel
// without a readable configuration keeps its modules' signatures.
func SignaturesOptional(k Kernel) bool {
	data, err := os.ReadFile(filepath.Join(filepath.Dir(k.Image), "config-"+k.Version))
	if err != nil {
		return false
	}
	for _, opt := range []string{"CONFIG_MODULE_SIG_FORCE", "CONFIG_LOCK_DOWN_KERNEL_FORCE_INTEGRITY", "CONFIG_LOCK_DOWN_KERNEL_FORCE_CONFIDENTIALITY"} {
		if bytes.Contains(data, []byte("\n"+opt+"=y\n")) {
			return false
		}
	}
	return true
}

// moduleSigMagic ends a module with an appended signature.
const moduleSigMagic = "~Module signature appended~\n"

// StripModuleSignature returns a kernel module without its appended
// signature. The guest's kernel then loads it without checking the
// signature, which costs about 4 ms per module under emulation and
// proves nothing there: the modules are the host's, copied by the
// launcher into an initramfs that the invoking user owns anyway. A
// kernel that enforces signatures or lockdown refuses such a module (see
// SignaturesOptional); Debian's and Ubuntu's do so only under Secure
// Boot, which the guest has not. Anything that does not end in a
// well-formed signature comes back unchanged.
func StripModuleSignature(data []byte) []byte {
	// struct module_signature: algo, hash, id_type, signer_len,
	// key_id_len, 3 bytes of padding, sig_len (big-endian): 12 bytes.
	const infoLen = 12
	n := len(data) - len(moduleSigMagic)
	if n < infoLen || string(data[n:]) != moduleSigMagic {
		return data
	}
	info := data[n-infoLen : n]
	sigLen := int(binary.BigEndian.Uint32(info[8:]))
	total := sigLen + int(info[3]) + int(info[4]) + infoLen
	if total > n {
		return data
	}
	return data[:n-total]
}
