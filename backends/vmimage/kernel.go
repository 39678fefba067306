// Package vmimage prepares what the vm backend boots on a host without
// Nix: an installed kernel with its modules, the uncompressed vmlinux
// taken out of it (booted through PVH, which halves boot time under
// software emulation), and an initramfs holding the launcher itself as
// /init plus the modules for virtio, 9p and the network. Results are cached
// under the user's cache directory, keyed by the kernel's and the
// launcher's identity.
package vmimage

import (
	"bufio"
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Kernel is an installed kernel with its modules.
type Kernel struct {
	// Version is the kernel release.
	Version string
	// Image is the compressed boot image (/boot/vmlinuz-VERSION).
	Image string
	// Modules is /lib/modules/VERSION.
	Modules string
}

// FindKernel picks the kernel to boot. With image set it uses that image
// (its version taken from the vmlinuz-VERSION name). Otherwise it picks
// the newest /boot/vmlinuz-VERSION that has a matching /lib/modules
// directory; the running kernel (uname -r) is not used, since the host's
// kernel need not be installed at all.
func FindKernel(boot, modules, image string) (Kernel, error) {
	if image != "" {
		return kernelAt(modules, image)
	}
	matches, _ := filepath.Glob(filepath.Join(boot, "vmlinuz-*"))
	var found []Kernel
	for _, m := range matches {
		ver := strings.TrimPrefix(filepath.Base(m), "vmlinuz-")
		dir := filepath.Join(modules, ver)
		if _, err := os.Stat(filepath.Join(dir, "modules.dep")); err == nil {
			found = append(found, Kernel{Version: ver, Image: m, Modules: dir})
		}
	}
	if len(found) == 0 {
		return Kernel{}, fmt.Errorf("no kernel in %s with modules in %s: install one (Debian: apt install linux-image-amd64) or set vm.kernel", boot, modules)
	}
	sort.Slice(found, func(i, j int) bool { return versionLess(found[i].Version, found[j].Version) })
	return found[len(found)-1], nil
}

// kernelAt describes the kernel image at image: a Debian-style
// /boot/vmlinuz-VERSION with its modules in modules/VERSION, or a Nix
// kernel package's bzImage with its modules in lib/modules/VERSION beside
// it.
func kernelAt(modules, image string) (Kernel, error) {
	if _, err := os.Stat(image); err != nil {
		return Kernel{}, fmt.Errorf("vm.kernel: %w", err)
	}
	if ver, ok := strings.CutPrefix(filepath.Base(image), "vmlinuz-"); ok {
		k := Kernel{Version: ver, Image: image, Modules: filepath.Join(modules, ver)}
		if _, err := os.Stat(filepath.Join(k.Modules, "modules.dep")); err != nil {
			return Kernel{}, fmt.Errorf("vm.kernel %s: no modules for %s: %w", image, ver, err)
		}
		return k, nil
	}
	deps, _ := filepath.Glob(filepath.Join(filepath.Dir(image), "lib", "modules", "*", "modules.dep"))
	if len(deps) != 1 {
		return Kernel{}, fmt.Errorf("vm.kernel %s: want a file named vmlinuz-VERSION with modules in %s/VERSION, or a kernel package with exactly one lib/modules/VERSION beside the image", image, modules)
	}
	dir := filepath.Dir(deps[0])
	return Kernel{Version: filepath.Base(dir), Image: image, Modules: dir}, nil
}

// versionLess compares kernel releases numerically field by field.
func versionLess(a, b string) bool {
	split := func(s string) []string {
		return strings.FieldsFunc(s, func(r rune) bool { return r == '.' || r == '-' })
	}
	x, y := split(a), split(b)
	for i := 0; i < len(x) && i < len(y); i++ {
		var n, m int
		_, e1 := fmt.Sscan(x[i], &n)
		_, e2 := fmt.Sscan(y[i], &m)
		if e1 == nil && e2 == nil && n != m {
			return n < m
		}
		if (e1 != nil || e2 != nil) && x[i] != y[i] {
			return x[i] < y[i]
		}
	}
	return len(x) < len(y)
}

var xzMagic = []byte{0xfd, '7', 'z', 'X', 'Z', 0x00}

// ExtractVmlinux returns the uncompressed ELF kernel inside an
// xz-compressed bzImage.
func ExtractVmlinux(bzImage []byte) ([]byte, error) {
	i := bytes.Index(bzImage, xzMagic)
	if i < 0 {
		return nil, errors.New("no xz-compressed kernel inside the image")
	}
	out, err := decompressKernelXZ(bzImage[i:])
	if err != nil {
		return nil, fmt.Errorf("decompressing the kernel: %w", err)
	}
	if !bytes.HasPrefix(out, []byte("\x7fELF")) {
		return nil, errors.New("the decompressed kernel is not an ELF file")
	}
	return out, nil
}

// xenElfnotePhys32Entry is the ELF note type carrying the PVH entry point.
const xenElfnotePhys32Entry = 18

// HasPVHEntry reports whether an ELF kernel can be booted through PVH.
func HasPVHEntry(vmlinux []byte) bool {
	f, err := elf.NewFile(bytes.NewReader(vmlinux))
	if err != nil {
		return false
	}
	for _, p := range f.Progs {
		if p.Type != elf.PT_NOTE {
			continue
		}
		data, err := io.ReadAll(p.Open())
		if err != nil {
			continue
		}
		for len(data) >= 12 {
			nameSz := binary.LittleEndian.Uint32(data[0:])
			descSz := binary.LittleEndian.Uint32(data[4:])
			typ := binary.LittleEndian.Uint32(data[8:])
			off := 12 + align4(nameSz)
			name := ""
			if uint32(len(data)) >= 12+nameSz {
				name = strings.TrimRight(string(data[12:12+nameSz]), "\x00")
			}
			if name == "Xen" && typ == xenElfnotePhys32Entry {
				return true
			}
			next := off + align4(descSz)
			if next > uint32(len(data)) {
				break
			}
			data = data[next:]
		}
	}
	return false
}

func align4(n uint32) uint32 { return (n + 3) &^ 3 }

// Module is a kernel module to load, in order.
type Module struct {
	// Name is the module's name (file name without .ko).
	Name string
	// Path is the module file.
	Path string
	// Group is the subdirectory of /modules it goes to ("" for /modules
	// itself): the guest loads a group only when it needs it.
	Group string
	// Unsigned stores the module without its appended signature (see
	// StripModuleSignature).
	Unsigned bool
}

// DisplayGroup is the module group of the virtio GPU, loaded only by a
// guest with a window (vm.display).
const DisplayGroup = "display"

// DisplayModules drive the virtio VGA of a guest with a window and its
// virtio keyboard and tablet, with their /dev/input/eventN nodes for the
// X server. A kernel without one of them boots without it.
var DisplayModules = []string{"virtio_gpu", "virtio_input", "evdev"}

// GuestModules are the modules the guest needs: virtio over PCI, 9p,
// the network card, and overlayfs for a writable /etc.
var GuestModules = []string{"virtio_pci", "9pnet_virtio", "9p", "virtio_net", "overlay"}

// ResolveModules returns the modules of wanted in load order (every
// module after its dependencies), read from modulesDir/modules.dep.
// Modules built into the kernel (modules.builtin) are skipped.
func ResolveModules(modulesDir string, wanted []string) ([]Module, error) {
	deps, err := readModulesDep(filepath.Join(modulesDir, "modules.dep"))
	if err != nil {
		return nil, err
	}
	builtin := readBuiltin(filepath.Join(modulesDir, "modules.builtin"))
	byName := map[string]string{}
	for file := range deps {
		byName[moduleName(file)] = file
	}
	var out []Module
	seen := map[string]bool{}
	var visit func(file string)
	visit = func(file string) {
		if seen[file] {
			return
		}
		seen[file] = true
		ds := deps[file]
		// modules.dep lists the deepest dependency last.
		for i := len(ds) - 1; i >= 0; i-- {
			visit(ds[i])
		}
		out = append(out, Module{Name: moduleName(file), Path: filepath.Join(modulesDir, file)})
	}
	for _, name := range wanted {
		file, ok := byName[name]
		if !ok {
			if builtin[name] {
				continue
			}
			return nil, fmt.Errorf("kernel module %s not found in %s", name, modulesDir)
		}
		visit(file)
	}
	return out, nil
}

func moduleName(file string) string {
	base := filepath.Base(file)
	if i := strings.Index(base, ".ko"); i >= 0 {
		base = base[:i]
	}
	return strings.ReplaceAll(base, "-", "_")
}

func readModulesDep(path string) (map[string][]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading module dependencies: %w", err)
	}
	defer f.Close()
	deps := map[string][]string{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		mod, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		deps[mod] = strings.Fields(rest)
	}
	return deps, sc.Err()
}

func readBuiltin(path string) map[string]bool {
	out := map[string]bool{}
	data, err := os.ReadFile(path)
	if err != nil {
		return out
	}
	for _, l := range strings.Split(string(data), "\n") {
		if l != "" {
			out[moduleName(l)] = true
		}
	}
	return out
}
