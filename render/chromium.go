package render

import (
	"path"
	"sort"
)

// Chromium inside a sandbox.
//
// Chromium's own sandbox needs new user namespaces (or a set-user-id
// helper), which every claude-sandbox backend refuses inside: Chromium
// then aborts with "No usable sandbox!". Inside claude-sandbox it runs
// with --no-sandbox, behind the sandbox around it. Debian's
// /usr/bin/chromium is a shell wrapper that sources every file in
// /etc/chromium.d and ignores CHROMIUM_FLAGS from the environment, so the
// sandbox's /etc/chromium.d holds the host's files plus one more that
// adds the flag. /etc/chromium (master preferences, managed policies) is
// shared read-only.

// ChromiumConfDir is the directory of shell snippets Debian's chromium
// wrapper sources.
const ChromiumConfDir = "/etc/chromium.d"

// ChromiumFlagsName is the generated snippet in ChromiumConfDir, below
// /etc.
const ChromiumFlagsName = "chromium.d/claude-sandbox"

// ChromiumFlags are the flags Chromium gets inside every sandbox.
const ChromiumFlags = "--no-sandbox"

// ListedDirs are the host directories the probe lists into
// Host.DirEntries: the sandbox rebuilds them entry by entry beside
// generated files.
var ListedDirs = []string{ChromiumConfDir}

// chromiumEtc returns the host entries of /etc that Chromium needs
// (/etc/chromium and every file of /etc/chromium.d) and the generated
// snippet, when the host has Debian's wrapper directory.
func chromiumEtc(h *Host) (host []string, gen []EtcFile) {
	if !h.Is(ChromiumConfDir, Dir) {
		return nil, nil
	}
	host = append(host, "/etc/chromium")
	names := append([]string{}, h.DirEntries[ChromiumConfDir]...)
	sort.Strings(names)
	for _, n := range names {
		if n != path.Base(ChromiumFlagsName) {
			host = append(host, path.Join(ChromiumConfDir, n))
		}
	}
	gen = append(gen, EtcFile{ChromiumFlagsName, []byte("# Written by claude-sandbox. Chromium's own sandbox needs new user\n" +
		"# namespaces, which the sandbox refuses inside: Chromium runs without it,\n" +
		"# inside the sandbox around it.\n" +
		"export CHROMIUM_FLAGS=\"$CHROMIUM_FLAGS " + ChromiumFlags + "\"\n")})
	return host, gen
}
