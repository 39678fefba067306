package render

import (
	"fmt"
	"path"
	"strconv"
	"strings"

	"github.com/claude-sandbox/claude-sandbox/profile"
)

func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }

func errorf(format string, args ...any) error { return fmt.Errorf(format, args...) }

// EtcFile is a generated file for the sandbox's /etc.
type EtcFile struct {
	// Name is the path below /etc.
	Name string
	// Content is the file's bytes.
	Content []byte
}

// Hostname returns the sandbox's host name: the policy's, or
// "claude-sandbox".
func Hostname(p *profile.Policy) string {
	if p.Hostname != "" {
		return p.Hostname
	}
	return "claude-sandbox"
}

// LoginShell returns the shell recorded for the user inside the sandbox.
func LoginShell(h *Host) string {
	if h.Is("/bin/bash", Regular) {
		return "/bin/bash"
	}
	return "/bin/sh"
}

// GeneratedEtc returns the /etc files every backend writes for the
// sandbox: passwd and group holding root, the invoking user with the
// host's real uid and gid, and nobody; nsswitch.conf using those files;
// the host name, hosts (when the host's is not forwarded), os-release,
// machine-id, locale.conf and Chromium's flags (see ChromiumFlags).
func GeneratedEtc(p *profile.Policy, h *Host, backend profile.Backend) []EtcFile {
	name := h.User
	if name == "" {
		name = "user"
	}
	shell := LoginShell(h)
	var passwd, group strings.Builder
	passwd.WriteString("root:x:0:0:root:/root:" + shell + "\n")
	group.WriteString("root:x:0:\n")
	if h.UID != 0 {
		fmt.Fprintf(&passwd, "%s:x:%d:%d:%s:%s:%s\n", name, h.UID, h.GID, name, h.Home, shell)
	}
	if h.GID != 0 {
		fmt.Fprintf(&group, "%s:x:%d:\n", name, h.GID)
	}
	passwd.WriteString("nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n")
	group.WriteString("nogroup:x:65534:\n")
	hostname := Hostname(p)
	files := []EtcFile{
		{"passwd", []byte(passwd.String())},
		{"group", []byte(group.String())},
		{"nsswitch.conf", []byte("passwd: files\ngroup: files\nshadow: files\nhosts: files dns\nnetworks: files\nprotocols: files\nservices: files\n")},
		{"hostname", []byte(hostname + "\n")},
		{"os-release", []byte("NAME=\"claude-sandbox\"\nID=claude-sandbox\nPRETTY_NAME=\"claude-sandbox (" + string(backend) + ")\"\n")},
		{"machine-id", []byte(machineID(h.RunID) + "\n")},
	}
	if !(p.Forward.HostConfig && h.Exists("/etc/hosts")) {
		files = append(files, EtcFile{"hosts", []byte("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\t" + hostname + "\n")})
	}
	if p.Forward.Locale {
		if lang := h.Env["LANG"]; lang != "" {
			files = append(files, EtcFile{"locale.conf", []byte("LANG=" + lang + "\n")})
		}
	}
	_, chromium := chromiumEtc(h)
	return append(files, chromium...)
}

// machineID turns a run id into the 32 hex digits of a machine-id.
func machineID(runID string) string {
	const hex = "0123456789abcdef"
	var b strings.Builder
	for i := 0; b.Len() < 32; i++ {
		if len(runID) > 0 {
			c := runID[i%len(runID)]
			b.WriteByte(hex[(int(c)+i)%16])
		} else {
			b.WriteByte('0')
		}
	}
	return b.String()
}

// HostEtc lists the host /etc entries shared read-only for policy p:
// those every program needs, plus DNS, hosts, TLS certificates, fonts and
// time zone with forward.host_config, on NixOS /etc/static and /etc/nix
// (most NixOS /etc entries are links into /etc/static), and Chromium's
// configuration.
func HostEtc(p *profile.Policy, h *Host) []string {
	var out []string
	for _, e := range etcAlways {
		out = append(out, path.Join("/etc", e))
	}
	if p.Forward.HostConfig {
		for _, e := range etcHostConfig {
			out = append(out, path.Join("/etc", e))
		}
	}
	if p.Forward.Nix || h.NixOS {
		out = append(out, "/etc/nix", "/etc/static")
	}
	chromium, _ := chromiumEtc(h)
	out = append(out, chromium...)
	var present []string
	for _, e := range out {
		if h.Exists(e) {
			present = append(present, e)
		}
	}
	return present
}

// itoa is strconv.Itoa, shortened for argv building.
func itoa(i int) string { return strconv.Itoa(i) }
