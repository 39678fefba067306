package vmimage

import (
	"bytes"
	"debug/elf"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cavaliergopher/cpio"
)

// installedKernel returns the host's newest installed kernel. Under CI a
// missing kernel fails the test; elsewhere it skips with the install
// command.
func installedKernel(t *testing.T) Kernel {
	t.Helper()
	k, err := FindKernel("/boot", "/lib/modules", "")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%v", err)
		}
		t.Skipf("%v (install one with: apt install linux-image-amd64)", err)
	}
	return k
}

func TestResolveModulesOrder(t *testing.T) {
	k := installedKernel(t)
	mods, err := ResolveModules(k.Modules, GuestModules)
	if err != nil {
		t.Fatal(err)
	}
	pos := map[string]int{}
	for i, m := range mods {
		pos[m.Name] = i
	}
	before := func(a, b string) {
		pa, okA := pos[a]
		pb, okB := pos[b]
		if okA && okB && pa > pb {
			t.Errorf("%s loads after %s", a, b)
		}
	}
	before("virtio", "virtio_pci")
	before("virtio_ring", "virtio_pci")
	before("9pnet", "9pnet_virtio")
	before("9pnet", "9p")
	before("netfs", "9p")
	if _, ok := pos["9p"]; !ok {
		t.Errorf("9p missing from %v", mods)
	}
}

func TestResolveModulesSynthetic(t *testing.T) {
	dir := t.TempDir()
	dep := "kernel/a.ko: kernel/b.ko kernel/c.ko\nkernel/b.ko: kernel/c.ko\nkernel/c.ko:\n"
	os.WriteFile(filepath.Join(dir, "modules.dep"), []byte(dep), 0o644)
	os.WriteFile(filepath.Join(dir, "modules.builtin"), []byte("kernel/d.ko\n"), 0o644)
	mods, err := ResolveModules(dir, []string{"a", "d"})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range mods {
		names = append(names, m.Name)
	}
	if strings.Join(names, ",") != "c,b,a" {
		t.Fatalf("order %v, want c,b,a", names)
	}
	if _, err := ResolveModules(dir, []string{"missing"}); err == nil {
		t.Fatal("a missing module was accepted")
	}
}

// TestDisplayModules checks that the display group holds each display
// module with the dependencies the guest's modules lack, once, and that a
// kernel lacking one of them still gets the others.
func TestDisplayModules(t *testing.T) {
	dir := t.TempDir()
	dep := "kernel/gpu.ko: kernel/virtio.ko kernel/drm.ko\nkernel/drm.ko:\nkernel/virtio.ko:\nkernel/input.ko: kernel/virtio.ko\n"
	os.WriteFile(filepath.Join(dir, "modules.dep"), []byte(dep), 0o644)
	base := []Module{{Name: "virtio", Path: filepath.Join(dir, "kernel/virtio.ko")}}
	mods := withDisplayModules(dir, base, []string{"gpu", "evdev", "input"})
	var got []string
	for _, m := range mods {
		got = append(got, m.Group+"/"+m.Name)
	}
	if strings.Join(got, ",") != "/virtio,display/drm,display/gpu,display/input" {
		t.Fatalf("modules %v, want virtio, then drm, gpu and input in the display group", got)
	}
	k := installedKernel(t)
	mods = withDisplayModules(k.Modules, nil, DisplayModules)
	names := map[string]bool{}
	for _, m := range mods {
		names[m.Name] = true
	}
	for _, want := range []string{"virtio_input", "evdev"} {
		if !names[want] && !readBuiltin(filepath.Join(k.Modules, "modules.builtin"))[want] {
			t.Errorf("%s (the window's keyboard and tablet) missing from %v", want, mods)
		}
	}
}

func TestExtractVmlinuxPVH(t *testing.T) {
	k := installedKernel(t)
	bz, err := os.ReadFile(k.Image)
	if err != nil {
		t.Fatal(err)
	}
	vm, err := ExtractVmlinux(bz)
	if err != nil {
		t.Fatal(err)
	}
	if len(vm) < 4*len(bz) {
		t.Errorf("vmlinux is %d bytes, bzImage %d: not decompressed?", len(vm), len(bz))
	}
	if !HasPVHEntry(vm) {
		t.Errorf("no PVH entry note in %s", k.Image)
	}
	if _, err := ExtractVmlinux([]byte("not a kernel")); err == nil {
		t.Error("garbage accepted")
	}
}

func TestInitramfsReadsBack(t *testing.T) {
	dir := t.TempDir()
	mod := filepath.Join(dir, "m.ko")
	os.WriteFile(mod, []byte("module bytes"), 0o644)
	var buf bytes.Buffer
	if err := WriteInitramfs(&buf, []byte("init binary"), []Module{{Name: "m", Path: mod}}); err != nil {
		t.Fatal(err)
	}
	r := cpio.NewReader(&buf)
	got := map[string]string{}
	for {
		h, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(r)
		got[h.Name] = string(data)
		if h.Name == "init" && h.Mode.Perm() != 0o755 {
			t.Errorf("init mode %v", h.Mode)
		}
	}
	if got["init"] != "init binary" || got["modules/00-m.ko"] != "module bytes" {
		t.Fatalf("archive holds %v", got)
	}
	if _, ok := got["newroot"]; !ok {
		t.Fatal("no /newroot")
	}
}

func TestVersionLess(t *testing.T) {
	if !versionLess("6.1.0-9-amd64", "6.1.0-56-amd64") || versionLess("6.10.0", "6.9.0") {
		t.Fatal("kernel versions compared as text")
	}
}

func TestKernelAtNixLayout(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "bzImage"), []byte("k"), 0o644)
	mods := filepath.Join(dir, "lib", "modules", "6.6.1")
	os.MkdirAll(mods, 0o755)
	os.WriteFile(filepath.Join(mods, "modules.dep"), nil, 0o644)
	k, err := FindKernel("/boot", "/lib/modules", filepath.Join(dir, "bzImage"))
	if err != nil || k.Version != "6.6.1" || k.Modules != mods {
		t.Fatalf("FindKernel = %+v, %v", k, err)
	}
	if _, err := FindKernel("/boot", "/lib/modules", filepath.Join(dir, "missing")); err == nil {
		t.Fatal("a missing image was accepted")
	}
}

// TestRuntimeFiles finds a dynamically linked program's loader and libc,
// and stores them in the initramfs at those paths with their directories.
func TestRuntimeFiles(t *testing.T) {
	files, err := RuntimeFiles("/bin/sh")
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, f := range files {
		names[f.Name] = true
	}
	if len(files) < 2 || !strings.HasPrefix(files[0].Name, "/lib") || !strings.Contains(files[0].Name, "ld-linux") {
		t.Fatalf("runtime files of /bin/sh: %v, want the loader first", files)
	}
	libc := ""
	for n := range names {
		if filepath.Base(n) == "libc.so.6" {
			libc = n
		}
	}
	if libc == "" {
		t.Fatalf("runtime files of /bin/sh without libc.so.6: %v", files)
	}
	var buf bytes.Buffer
	if err := WriteInitramfs(&buf, []byte("init"), nil, files...); err != nil {
		t.Fatal(err)
	}
	r := cpio.NewReader(&buf)
	got := map[string]bool{}
	for {
		h, err := r.Next()
		if err != nil {
			break
		}
		got["/"+h.Name] = true
	}
	for _, want := range []string{files[0].Name, libc, filepath.Dir(libc)} {
		if !got[want] {
			t.Errorf("initramfs lacks %s: %v", want, got)
		}
	}
	static, err := RuntimeFiles(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	if f, _ := elf.Open(os.Args[0]); f != nil {
		defer f.Close()
		interp := false
		for _, p := range f.Progs {
			interp = interp || p.Type == elf.PT_INTERP
		}
		if !interp && len(static) != 0 {
			t.Errorf("a static program needs %v", static)
		}
	}
}

// TestStripELFRuns strips this test binary as the initramfs stores the
// launcher: it loses its debug sections and section headers, keeps its
// program headers, and still runs.
func TestStripELFRuns(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	stripped := StripELF(data)
	if len(stripped) >= len(data) {
		t.Fatalf("stripped %d bytes, want fewer than %d", len(stripped), len(data))
	}
	orig, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	f, err := elf.NewFile(bytes.NewReader(stripped))
	if err != nil {
		t.Fatalf("stripped file does not parse: %v", err)
	}
	if len(f.Sections) != 0 {
		t.Errorf("stripped file keeps %d section headers", len(f.Sections))
	}
	if len(f.Progs) != len(orig.Progs) {
		t.Fatalf("program headers: %d, want %d", len(f.Progs), len(orig.Progs))
	}
	for i, p := range f.Progs {
		if p.ProgHeader != orig.Progs[i].ProgHeader {
			t.Errorf("program header %d: %+v, want %+v", i, p.ProgHeader, orig.Progs[i].ProgHeader)
		}
	}
	bin := filepath.Join(t.TempDir(), "stripped")
	if err := os.WriteFile(bin, stripped, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "-test.run=^$").CombinedOutput(); err != nil {
		t.Fatalf("stripped binary does not run: %v\n%s", err, out)
	}
	for _, in := range [][]byte{[]byte("init binary"), data[:64]} {
		if got := StripELF(in); !bytes.Equal(got, in) {
			t.Errorf("StripELF changed %d bytes that are no complete ELF file", len(in))
		}
	}
}

func TestStripModuleSignature(t *testing.T) {
	body := []byte("\x7fELF module body")
	sig := []byte("PKCS#7 signature bytes")
	info := []byte{0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, byte(len(sig))}
	signed := append(append(append(append([]byte{}, body...), sig...), info...), moduleSigMagic...)
	if got := StripModuleSignature(signed); !bytes.Equal(got, body) {
		t.Fatalf("stripped to %q, want %q", got, body)
	}
	tooLong := append([]byte{}, signed...)
	tooLong[len(body)+len(sig)+11] = 200
	for _, in := range [][]byte{body, tooLong, []byte(moduleSigMagic)} {
		if got := StripModuleSignature(in); !bytes.Equal(got, in) {
			t.Errorf("changed %q to %q", in, got)
		}
	}
	// A real module of the installed kernel, when there is one.
	k, err := FindKernel("/boot", "/lib/modules", "")
	if err != nil {
		return
	}
	mods, err := ResolveModules(k.Modules, []string{"9p"})
	if err != nil || len(mods) == 0 {
		return
	}
	data, err := readModule(mods[len(mods)-1].Path, false)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasSuffix(data, []byte(moduleSigMagic)) {
		return
	}
	stripped := StripModuleSignature(data)
	if len(stripped) >= len(data) || bytes.Contains(stripped, []byte(moduleSigMagic)) {
		t.Fatalf("signature of %s not removed (%d of %d bytes)", mods[len(mods)-1].Path, len(stripped), len(data))
	}
	if _, err := elf.NewFile(bytes.NewReader(stripped)); err != nil {
		t.Fatalf("%s without its signature is no ELF file: %v", mods[len(mods)-1].Path, err)
	}
}

func TestSignaturesOptional(t *testing.T) {
	dir := t.TempDir()
	k := Kernel{Version: "6.1.0-1-amd64", Image: filepath.Join(dir, "vmlinuz-6.1.0-1-amd64")}
	if SignaturesOptional(k) {
		t.Error("a kernel without a configuration file loads unsigned modules")
	}
	config := filepath.Join(dir, "config-6.1.0-1-amd64")
	os.WriteFile(config, []byte("CONFIG_MODULES=y\nCONFIG_MODULE_SIG=y\n# CONFIG_MODULE_SIG_FORCE is not set\n"), 0o644)
	if !SignaturesOptional(k) {
		t.Error("a kernel that does not force signatures keeps them")
	}
	os.WriteFile(config, []byte("CONFIG_MODULES=y\nCONFIG_MODULE_SIG=y\nCONFIG_MODULE_SIG_FORCE=y\n"), 0o644)
	if SignaturesOptional(k) {
		t.Error("a kernel that forces signatures gets unsigned modules")
	}
	os.WriteFile(config, []byte("CONFIG_MODULES=y\nCONFIG_LOCK_DOWN_KERNEL_FORCE_INTEGRITY=y\nCONFIG_MODULE_SIG=y\n"), 0o644)
	if SignaturesOptional(k) {
		t.Error("a kernel that forces lockdown gets unsigned modules")
	}
}

// TestPrepareDisplayInitramfs checks that only the initramfs for a guest
// with a window carries the display modules, and that both carry the
// guest's own modules and /init.
func TestPrepareDisplayInitramfs(t *testing.T) {
	k := installedKernel(t)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	img, err := Prepare(t.TempDir(), k, self)
	if err != nil {
		t.Fatal(err)
	}
	if img.InitramfsFor(false) != img.Initramfs || img.InitramfsFor(true) != img.DisplayInitramfs || img.Initramfs == img.DisplayInitramfs {
		t.Fatalf("initramfs choice: %+v", img)
	}
	names := func(path string) map[string]bool {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		out := map[string]bool{}
		r := cpio.NewReader(f)
		for {
			h, err := r.Next()
			if err == io.EOF {
				return out
			}
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			out[h.Name] = true
		}
	}
	plain, display := names(img.Initramfs), names(img.DisplayInitramfs)
	for _, n := range []map[string]bool{plain, display} {
		if !n["init"] || !n["modules"] {
			t.Errorf("no /init or /modules in %v", n)
		}
	}
	if plain["modules/"+DisplayGroup] {
		t.Errorf("the initramfs without a window has the display modules: %v", plain)
	}
	if !display["modules/"+DisplayGroup] {
		t.Errorf("the initramfs with a window has no display modules: %v", display)
	}
	var nine bool
	for n := range plain {
		nine = nine || strings.HasSuffix(n, "-9p.ko")
	}
	if !nine {
		t.Errorf("no 9p module in %v", plain)
	}
}
