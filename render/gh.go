package render

import (
	"path"
	"strings"

	"github.com/claude-sandbox/claude-sandbox/profile"
)

// GHHostsFile is the GitHub CLI's file of hosts, users and their OAuth
// tokens, relative to the home dir.
const GHHostsFile = ".config/gh/hosts.yml"

// ghHosts covers gh's hosts.yml inside the read-only ~/.config/gh share
// with a copy whose token lines are removed, unless the policy forwards
// GitHub tokens.
func (s *shareSet) ghHosts(p *profile.Policy) {
	if p.Forward.GHToken {
		return
	}
	dir := path.Join(s.h.Home, path.Dir(GHHostsFile))
	full := path.Join(s.h.Home, GHHostsFile)
	f, ok := s.present(full)
	if !ok || f.Kind != Regular {
		return
	}
	// A link is covered where it leads inside the shared directory; a
	// target outside it is not shared at all.
	real, realDir := orDefault(f.Real, full), s.h.Real(dir)
	if !within(real, realDir) {
		return
	}
	target := path.Join(dir, strings.TrimPrefix(real, realDir))
	s.shares = append(s.shares, Share{Source: real, Target: target, Mode: ShareData, Kind: Regular,
		Data: SanitizeGHHosts(s.h.GHHosts), Why: "forward.gh_token"})
}

// SanitizeGHHosts returns gh's hosts.yml without the lines that hold a
// token (oauth_token and any other key naming a token); hosts, users and
// protocols stay, so gh still knows who the user is.
func SanitizeGHHosts(data []byte) []byte {
	var b strings.Builder
	for _, line := range strings.SplitAfter(string(data), "\n") {
		key, _, ok := strings.Cut(strings.TrimSpace(line), ":")
		if ok && strings.Contains(strings.ToLower(key), "token") {
			continue
		}
		b.WriteString(line)
	}
	return []byte(b.String())
}
