package render

import (
	"fmt"
	"path"
	"strings"

	"github.com/claude-sandbox/claude-sandbox/profile"
)

// GuestNix is the vm guest's own Nix store: a writable layer over the
// host's read-only /nix (store and state, the database included) on a
// tmpfs of the guest, and a nix-daemon of the guest that the guest init
// starts as root on the first connection to its socket.
type GuestNix struct {
	// Daemon is the nix-daemon program, a path inside the host's root.
	Daemon string `json:"daemon"`
	// Config is NIX_CONFIG for the daemon: what it changes of the host's
	// nix.conf, which the guest reads at its usual place.
	Config string `json:"config"`
}

// GuestNixConfig is what the guest's daemon changes of the host's Nix
// settings: builds run as the guest's build users without Nix's own
// sandbox (the virtual machine is the sandbox; the build users keep the
// guest's root from the command), on the guest's local store. No client
// is trusted, the guest's root included (a trusted client may build as
// root, with the capabilities the command lacks), and the daemon runs no
// pre-build, post-build or diff hooks, plugins or remote builders,
// whatever the nix.conf it reads (the
// host's, or one the guest's root planted in the guest's /etc) names:
// NIX_CONFIG comes after every configuration file.
const GuestNixConfig = "build-users-group = " + nixBuildGroup + "\nsandbox = false\nstore = local\n" +
	"trusted-users =\npost-build-hook =\npre-build-hook =\ndiff-hook =\nrun-diff-hook = false\n" +
	"builders =\nplugin-files =\n"

// nixBuildGroup is the group of the guest's build users, nixBuildUsers
// their number.
const (
	nixBuildGroup = "nixbld"
	nixBuildUsers = 32
)

// addNixBuildUsers adds the build users and their group to the guest's
// generated passwd and group, with ids clear of the invoking user's.
func addNixBuildUsers(etc map[string]string, h *Host) {
	base := 30000
	for h.UID >= base && h.UID <= base+nixBuildUsers || h.GID == base {
		base += 1000
	}
	var passwd, members strings.Builder
	for i := 1; i <= nixBuildUsers; i++ {
		fmt.Fprintf(&passwd, "%s%d:x:%d:%d:Nix build user %d:/var/empty:/usr/sbin/nologin\n", nixBuildGroup, i, base+i, base, i)
		if i > 1 {
			members.WriteString(",")
		}
		fmt.Fprintf(&members, "%s%d", nixBuildGroup, i)
	}
	etc["passwd"] += passwd.String()
	etc["group"] += fmt.Sprintf("%s:x:%d:%s\n", nixBuildGroup, base, members.String())
}

// nixDaemonPaths are where the Nix installer, NixOS and distribution
// packages (Debian's nix-bin) put nix-daemon.
var nixDaemonPaths = []string{"/nix/var/nix/profiles/default/bin/nix-daemon", "/run/current-system/sw/bin/nix-daemon",
	"/usr/bin/nix-daemon", "/usr/local/bin/nix-daemon"}

// guestNix returns the vm guest's Nix store for policy p on host h, nil
// when forward.nix is off, the host has no Nix store or no nix-daemon or
// the guest is a NixOS of its own (vm.flavour "nix"), and a note for
// explain.
func guestNix(p *profile.Policy, h *Host) (*GuestNix, string) {
	if !p.Forward.Nix || !h.Is("/nix/store", Dir) || p.VM.Flavour == "nix" {
		return nil, ""
	}
	for _, d := range nixDaemonPaths {
		if !h.Is(d, Regular) {
			continue
		}
		config := GuestNixConfig
		if p.Network.Mode == profile.NetworkOff {
			// No binary cache is reachable: asking costs retries.
			config += "substituters =\n"
		}
		// The program's own directory (NixOS's /run/current-system is the
		// host's alone, the store is the guest's too), and the name
		// nix-daemon, which Nix's one program for every command reads from
		// argv[0].
		d = path.Join(path.Dir(h.Real(d)), "nix-daemon")
		return &GuestNix{Daemon: d, Config: config},
			"vm: Nix: the guest has a local store: a writable layer over the host's /nix (its store and database) in guest memory" +
				" (bounded by limits.disk) that nothing reaches the host from; the guest's " + d +
				" starts as root on the first connection to its socket (NIX_REMOTE=daemon), with the host's nix.conf changed by: " +
				strings.ReplaceAll(strings.TrimSpace(config), "\n", "; ")
	}
	return nil, "vm: Nix: the host has /nix/store but no nix-daemon (looked in " + strings.Join(nixDaemonPaths, ", ") + "): the guest's store stays read-only"
}
