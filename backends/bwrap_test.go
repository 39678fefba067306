package backends

import (
	"testing"

	"github.com/claude-sandbox/claude-sandbox/render"
)

// TestUsesRunDir checks which plans need the run directory: any that
// names a path in it, wherever.
func TestUsesRunDir(t *testing.T) {
	dir := "/run/user/1000/claude-sandbox-1000-0123456789abcdef"
	plain := func() *render.Plan {
		return &render.Plan{Argv: []string{"/usr/bin/bwrap", "--ro-bind", "/usr", "/usr", "--", "/bin/sh"}, Env: []string{"HOME=/home/u"}}
	}
	if usesRunDir(plain(), dir) {
		t.Error("a plan naming nothing in the run directory needs it")
	}
	for name, change := range map[string]func(p *render.Plan){
		"argv":     func(p *render.Plan) { p.Argv = append([]string{dir + "/bin/claude-sandbox-netns", "--"}, p.Argv...) },
		"env":      func(p *render.Plan) { p.Env = append(p.Env, "DBUS_SESSION_BUS_ADDRESS=unix:path="+dir+"/dbus/bus") },
		"network":  func(p *render.Plan) { p.Network = []string{"/usr/bin/slirp4netns", dir + "/x"} },
		"host dir": func(p *render.Plan) { p.HostDirs = []string{dir + "/xdg"} },
		"file":     func(p *render.Plan) { p.Files = []render.GeneratedFile{{Path: dir + "/f"}} },
		"dir":      func(p *render.Plan) { p.Dirs = []render.RootDir{{Path: dir + "/d"}} },
		"symlink":  func(p *render.Plan) { p.Symlinks = []render.Symlink{{Path: dir + "/bin/claude-sandbox-connect"}} },
		"seed":     func(p *render.Plan) { p.Seed = []render.SeedFile{{To: dir + "/s"}} },
	} {
		p := plain()
		change(p)
		if !usesRunDir(p, dir) {
			t.Errorf("a plan naming the run directory in its %s does not need it", name)
		}
	}
}
