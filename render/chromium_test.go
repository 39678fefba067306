package render

import (
	"strings"
	"testing"
)

// chromiumHost is a Debian host with the chromium package's /etc entries.
func chromiumHost() *Host {
	h := qemuHost(debianHost)()
	h.Tools["systemd-nspawn"] = "/usr/bin/systemd-nspawn"
	h.Files["/etc/chromium"] = File{Kind: Dir, Real: "/etc/chromium"}
	h.Files[ChromiumConfDir] = File{Kind: Dir, Real: ChromiumConfDir}
	h.DirEntries = map[string][]string{ChromiumConfDir: {"default-flags", "apikeys"}}
	for _, n := range h.DirEntries[ChromiumConfDir] {
		h.Files[ChromiumConfDir+"/"+n] = File{Kind: Regular, Real: ChromiumConfDir + "/" + n}
	}
	return h
}

// TestChromiumEtc checks that every backend gives Chromium the host's
// /etc/chromium and /etc/chromium.d plus the snippet adding --no-sandbox,
// and that a host without Chromium gets none of it.
func TestChromiumEtc(t *testing.T) {
	p := defaultPolicy(t, "/home/alice/proj")
	snippet := "export CHROMIUM_FLAGS=\"$CHROMIUM_FLAGS --no-sandbox\""
	b, err := Bwrap(p, chromiumHost())
	if err != nil {
		t.Fatal(err)
	}
	args := strings.Join(b.Argv, " ")
	for _, want := range []string{"--dir /etc/chromium.d", "--ro-bind /etc/chromium.d/apikeys /etc/chromium.d/apikeys",
		"--ro-bind /etc/chromium.d/default-flags /etc/chromium.d/default-flags", "--ro-bind /etc/chromium /etc/chromium",
		"/etc/chromium.d/claude-sandbox"} {
		if !strings.Contains(args, want) {
			t.Errorf("bwrap: no %q in %s", want, args)
		}
	}
	if !hasFile(b.Files, "", snippet) {
		t.Errorf("bwrap: no file adding --no-sandbox")
	}
	n, err := Nspawn(p, chromiumHost())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(n.Argv, " "), "--bind-ro=/etc/chromium.d/default-flags:/etc/chromium.d/default-flags") ||
		!hasFile(n.Files, "/root/etc/chromium.d/claude-sandbox", snippet) {
		t.Errorf("nspawn: Chromium's /etc is missing: %q", n.Argv)
	}
	q, err := QEMU(p, chromiumHost())
	if err != nil {
		t.Fatal(err)
	}
	if cfg := guestConfig(t, q); !strings.Contains(cfg.Etc[ChromiumFlagsName], snippet) {
		t.Errorf("vm: /etc/%s = %q", ChromiumFlagsName, cfg.Etc[ChromiumFlagsName])
	}
	plain, err := Bwrap(p, qemuHost(debianHost)())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(strings.Join(plain.Argv, " "), "chromium") {
		t.Errorf("a host without Chromium gets its /etc: %q", plain.Argv)
	}
}

func hasFile(files []GeneratedFile, suffix, content string) bool {
	for _, f := range files {
		if strings.HasSuffix(f.Path, suffix) && strings.Contains(string(f.Content), content) {
			return true
		}
	}
	return false
}
