package render

import (
	"path"
	"sort"
)

// UserDirs lists the directories a backend creates inside the sandbox as
// parents of share targets (such as ~/.config for ~/.config/gh, ~/.local
// for ~/.local/bin, or $XDG_RUNTIME_DIR/pulse for the PulseAudio socket)
// that must belong to the invoking user, as they would on the host:
// every missing parent strictly below the home directory or the runtime
// directory. A directory that is a share's target or lies inside one is
// never listed, so giving these to the user never touches a host file.
func UserDirs(h *Host, shares []Share) []string {
	roots := []string{h.Home, Runtime(h)}
	set := map[string]bool{}
	for _, s := range shares {
		for d := path.Dir(s.Target); d != "/" && d != "."; d = path.Dir(d) {
			below := false
			for _, r := range roots {
				below = below || (d != r && within(d, r))
			}
			if !below {
				break
			}
			set[d] = true
		}
	}
	var out []string
	for d := range set {
		inside := false
		for _, s := range shares {
			if s.Mode != ShareSymlink && within(d, s.Target) {
				inside = true
				break
			}
		}
		if !inside {
			out = append(out, d)
		}
	}
	sort.Strings(out)
	return out
}
