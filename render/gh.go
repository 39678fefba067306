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
	full := path.Join(s.h.Home, GHHostsFile)
	if f, ok := s.present(full); !ok || f.Kind != Regular {
		return
	}
	s.shares = append(s.shares, Share{Source: full, Target: full, Mode: ShareData, Kind: Regular,
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
