package render

import (
	"strings"
	"testing"
)

// shareAt returns the share with target t.
func shareAt(shares []Share, t string) (Share, bool) {
	for _, s := range shares {
		if s.Target == t {
			return s, true
		}
	}
	return Share{}, false
}

func holdsFor(us *UserSet, p string) string {
	for _, pr := range us.Protected {
		if pr.Path == p {
			return pr.Holds
		}
	}
	return ""
}

func TestProtectPinsEveryRepository(t *testing.T) {
	p := defaultPolicy(t, "/home/alice/proj")
	us, err := UserShares(p, debianHost())
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		target string
		mode   ShareMode
		holds  string
	}{
		{"/home/alice/proj/.git", SharePin, holdsPinned},
		{"/home/alice/proj/.git/config", ShareRO, holdsRO},
		{"/home/alice/proj/.git/hooks", ShareRO, holdsRO},
		{"/home/alice/proj/.git/modules/lib/config", ShareRO, holdsRO},
		{"/home/alice/proj/.git/commondir", ShareRO, holdsPlaceholder},
		{"/home/alice/proj/vendor/dep/.git", SharePin, holdsPinned},
		{"/home/alice/proj/vendor/dep/.git/hooks", ShareRO, holdsPlaceholder},
		{"/home/alice/proj/wt/.git", ShareRO, holdsGitfile},
		{"/home/alice/.claude/settings.json", ShareRO, holdsRO},
		{"/home/alice/.claude/commands", ShareRO, holdsPlaceholder},
	} {
		s, ok := shareAt(us.Shares, tt.target)
		if !ok || s.Mode != tt.mode {
			t.Errorf("%s: share %+v (found %v), want mode %d", tt.target, s, ok, tt.mode)
		}
		if h := holdsFor(us, tt.target); h != tt.holds {
			t.Errorf("%s holds %q, want %q", tt.target, h, tt.holds)
		}
	}
	// A gitfile's repository lives elsewhere: no hooks under the file.
	if _, ok := shareAt(us.Shares, "/home/alice/proj/wt/.git/hooks"); ok {
		t.Errorf("a share below a gitfile")
	}
	// A link leading out of the project is not bound.
	if _, ok := shareAt(us.Shares, "/home/alice/dotfiles/vscode"); ok {
		t.Errorf("the target of a link out of the project is shared")
	}
	// The pin comes after the project and before what it holds.
	idx := map[string]int{}
	for i, s := range us.Shares {
		idx[s.Target] = i
	}
	if !(idx["/home/alice/proj"] < idx["/home/alice/proj/.git"] && idx["/home/alice/proj/.git"] < idx["/home/alice/proj/.git/config"]) {
		t.Errorf("share order: project %d, .git %d, .git/config %d", idx["/home/alice/proj"], idx["/home/alice/proj/.git"], idx["/home/alice/proj/.git/config"])
	}
}

func TestProtectMissingRepository(t *testing.T) {
	h := debianHost()
	h.Repos = nil
	for p := range h.Files {
		if strings.HasPrefix(p, "/home/alice/proj/.git") {
			delete(h.Files, p)
		}
	}
	us, err := UserShares(defaultPolicy(t, "/home/alice/proj"), h)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range us.Shares {
		if strings.HasPrefix(s.Target, "/home/alice/proj/.git") {
			t.Errorf("share %+v without a repository", s)
		}
	}
	for _, ph := range us.Placeholders {
		if strings.HasPrefix(ph.Path, "/home/alice/proj/.git") {
			t.Errorf("placeholder %+v without a repository", ph)
		}
	}
	if got := holdsFor(us, "/home/alice/proj/.gitmodules"); got != holdsAudit {
		t.Errorf(".gitmodules holds %q, want the audit", got)
	}
}

func TestProtectOffInPolicy(t *testing.T) {
	p := defaultPolicy(t, "/home/alice/proj")
	var keep []string
	for _, rel := range p.Protect {
		if rel != ".git/config" && rel != "~/.claude/settings.json" {
			keep = append(keep, rel)
		}
	}
	p.Protect = keep
	us, err := UserShares(p, debianHost())
	if err != nil {
		t.Fatal(err)
	}
	for _, target := range []string{"/home/alice/proj/.git/config", "/home/alice/.claude/settings.json"} {
		if _, ok := shareAt(us.Shares, target); ok {
			t.Errorf("%s is protected although the policy unprotects it", target)
		}
	}
	// The pin holds whatever the policy says.
	if s, ok := shareAt(us.Shares, "/home/alice/proj/.git"); !ok || s.Mode != SharePin {
		t.Errorf(".git is not pinned")
	}
	// Without ~/.claude shared, its entries protect nothing.
	p.Forward.Claude = false
	us, _ = UserShares(p, debianHost())
	if got := holdsFor(us, "/home/alice/.claude/commands"); got != holdsNotShared {
		t.Errorf("~/.claude/commands holds %q without forward.claude", got)
	}
	for _, ph := range us.Placeholders {
		if strings.HasPrefix(ph.Path, "/home/alice/.claude") {
			t.Errorf("placeholder %+v in an unshared ~/.claude", ph)
		}
	}
}

func TestGHHostsToken(t *testing.T) {
	in := "github.com:\n    users:\n        alice:\n            oauth_token: gho_secret\n    oauth_token: gho_secret\n    user: alice\n    git_protocol: https\n"
	out := string(SanitizeGHHosts([]byte(in)))
	if strings.Contains(out, "gho_secret") || !strings.Contains(out, "user: alice") || !strings.Contains(out, "git_protocol: https") {
		t.Errorf("sanitized:\n%s", out)
	}
	p := defaultPolicy(t, "/home/alice/proj")
	us, _ := UserShares(p, debianHost())
	s, ok := shareAt(us.Shares, "/home/alice/.config/gh/hosts.yml")
	if !ok || s.Mode != ShareData || strings.Contains(string(s.Data), "gho_secret") {
		t.Errorf("hosts.yml share %+v", s)
	}
	p.Forward.GHToken = true
	us, _ = UserShares(p, debianHost())
	if _, ok := shareAt(us.Shares, "/home/alice/.config/gh/hosts.yml"); ok {
		t.Errorf("hosts.yml covered although the token is forwarded")
	}
}

func TestProtectLinkInsideProject(t *testing.T) {
	h := debianHost()
	h.Files["/home/alice/proj/.git/hooks"] = File{Kind: Dir, Real: "/home/alice/proj/.githooks"}
	us, err := UserShares(defaultPolicy(t, "/home/alice/proj"), h)
	if err != nil {
		t.Fatal(err)
	}
	if s, ok := shareAt(us.Shares, "/home/alice/proj/.githooks"); !ok || s.Mode != ShareRO {
		t.Errorf("the link's target is not read-only: %+v", s)
	}
	if got := holdsFor(us, "/home/alice/proj/.git/hooks"); got != holdsLink {
		t.Errorf(".git/hooks holds %q, want %q", got, holdsLink)
	}
}

func TestGitConfigPaths(t *testing.T) {
	config := `[core]
	repositoryformatversion = 0
	hooksPath = .husky/_
	fsmonitor = true
[core "x"]
	fsmonitor = tools/monitor
[include]
	path = extra.conf
[includeIf "gitdir:~/work/"]
	path = ~/work.conf
[Core]
	FSMonitor = "scripts/watch"
`
	got := GitConfigPaths([]byte(config), "/p/.git", "/home/a")
	want := []string{"/p/.husky/_", "/p/tools/monitor", "/p/.git/extra.conf", "/home/a/work.conf", "/p/scripts/watch"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("GitConfigPaths = %q, want %q", got, want)
	}
}

func TestProtectConfiguredHooksPath(t *testing.T) {
	h := debianHost()
	h.Repos[0].ConfigPaths = []string{"/home/alice/proj/.husky", "/home/alice/proj/missing-monitor", "/etc/elsewhere"}
	h.Files["/home/alice/proj/.husky"] = File{Kind: Dir, Real: "/home/alice/proj/.husky"}
	us, err := UserShares(defaultPolicy(t, "/home/alice/proj"), h)
	if err != nil {
		t.Fatal(err)
	}
	if s, ok := shareAt(us.Shares, "/home/alice/proj/.husky"); !ok || s.Mode != ShareRO {
		t.Errorf("the configured hooks path is not read-only: %+v", s)
	}
	if got := holdsFor(us, "/home/alice/proj/missing-monitor"); got != holdsAudit {
		t.Errorf("a missing configured path holds %q", got)
	}
	if _, ok := shareAt(us.Shares, "/etc/elsewhere"); ok {
		t.Errorf("a configured path outside the project is shared")
	}
}
