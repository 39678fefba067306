package profile

import (
	"strings"
	"testing"
)

func TestValidateRefusals(t *testing.T) {
	tests := []struct {
		name    string
		project string
		src     string
		want    string // "" = valid
	}{
		{"root project", "/", "", "refusing project dir /"},
		{"home project", "/home/u", "", "refusing project dir /home/u"},
		{"home ancestor", "/home", "", "refusing project dir /home"},
		{"project below home", "/home/u/src/app", "", ""},
		{"config dir project", "/home/u/.config/claude-sandbox", "", "refusing project dir /home/u/.config/claude-sandbox: it is claude-sandbox's configuration dir"},
		{"inside ~/.config", "/home/u/.config/nvim", "", "refusing project dir /home/u/.config/nvim: it lies inside ~/.config"},
		{"contains the trust store", "/home/u/.local/share", "", "it contains claude-sandbox's trust store (/home/u/.local/share/claude-sandbox)"},
		{"state dir", "/home/u/.local/state/claude-sandbox/projects/app-1", "", "lies inside claude-sandbox's state dir"},
		{"inside ~/.ssh", "/home/u/.ssh", "", "refusing project dir /home/u/.ssh: it is ~/.ssh"},
		{"inside ~/.gnupg", "/home/u/.gnupg/x", "", "it lies inside ~/.gnupg"},
		{"~/.claude", "/home/u/.claude", "", "it is ~/.claude, so the sandbox could change Claude Code's settings"},
		{"inside ~/.local", "/home/u/.local/src/app", "", "it lies inside ~/.local"},
		{"system config dir", "/etc/claude-sandbox", "", "it is claude-sandbox's system configuration dir"},
		{"a name that only starts alike", "/home/u/.configs/app", "", ""},
		{"rw ssh", "/home/u/src/app", "[mounts]\n\"~/.ssh\" = \"rw\"\n", `p.toml:2: mounts."/home/u/.ssh": refusing read-write mount of /home/u/.ssh`},
		{"rw inside gnupg", "/home/u/src/app", "[mounts]\n\"~/.gnupg/private\" = \"rw\"\n", "refusing read-write mount of /home/u/.gnupg/private"},
		{"rw home", "/home/u/src/app", "[mounts]\n\"~\" = \"rw\"\n", "refusing read-write mount of /home/u"},
		{"rw /", "/home/u/src/app", "[mounts]\n\"/home\" = \"rw\"\n", "refusing read-write mount of /home"},
		{"ro ssh is fine", "/home/u/src/app", "[mounts]\n\"~/.ssh\" = \"ro\"\n", ""},
		{"rw config dir", "/home/u/src/app", "[mounts]\n\"~/.config\" = \"rw\"\n", "could rewrite claude-sandbox's own configuration"},
		{"rw trust store", "/home/u/src/app", "[mounts]\n\"~/.local/share/claude-sandbox/trust\" = \"rw\"\n", "could rewrite"},
		{"rw /etc", "/home/u/src/app", "[mounts]\n\"/etc\" = \"rw\"\n", "could rewrite"},
		{"ro config dir is fine", "/home/u/src/app", "[mounts]\n\"~/.config\" = \"ro\"\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := testEnv
			env.ProjectDir = tt.project
			env.ConfigHome = "/home/u/.config"
			env.DataHome = "/home/u/.local/share"
			env.StateHome = "/home/u/.local/state"
			b, _ := Builtin(env)
			l, err := Decode(LayerProject, "p.toml", []byte(tt.src), env)
			if err != nil {
				t.Fatal(err)
			}
			for _, force := range []bool{false, true} {
				_, err = Resolve(env, []*Layer{b, l}, Flags{Force: force})
				switch {
				case tt.want == "" || force:
					if err != nil {
						t.Errorf("force=%v: unexpected error %v", force, err)
					}
				case err == nil || !strings.Contains(err.Error(), tt.want):
					t.Errorf("err = %v, want %q", err, tt.want)
				case !strings.Contains(err.Error(), "--force"):
					t.Errorf("err = %v, want a hint naming --force", err)
				}
			}
		})
	}
}

func TestInvalidFileIsNeverReplacedByDefaults(t *testing.T) {
	l, err := Decode(LayerUser, "u.toml", []byte("network = \"of\"\n"), testEnv)
	if l != nil || err == nil {
		t.Fatalf("an invalid file must yield no layer and an error, got %v, %v", l, err)
	}
	ps := Problems(err)
	if len(ps) != 1 || ps[0].File != "u.toml" || ps[0].Line != 1 {
		t.Fatalf("problems = %+v", ps)
	}
}

func TestJoinProblemsSorted(t *testing.T) {
	_, e1 := Decode(LayerUser, "b.toml", []byte("x = 1\n\n\n\n\n\n\n\n\ny = 2\n"), testEnv)
	_, e2 := Decode(LayerUser, "a.toml", []byte("\n\nz = 1\n"), testEnv)
	got := JoinProblems(e1, nil, e2).Error()
	lines := strings.Split(got, "\n")
	want := []string{"a.toml:3:", "b.toml:1:", "b.toml:10:"}
	if len(lines) != len(want) {
		t.Fatalf("got %q", lines)
	}
	for i := range want {
		if !strings.HasPrefix(lines[i], want[i]) {
			t.Errorf("line %d = %q, want prefix %q", i, lines[i], want[i])
		}
	}
}

func TestTwoMountsAtOneTarget(t *testing.T) {
	b, _ := Builtin(testEnv)
	l := mustLayer(t, LayerProject, "[mounts]\n\"/a\" = { mode = \"ro\", target = \"/t\" }\n\"/t\" = \"tmpfs\"\n")
	_, err := Resolve(testEnv, []*Layer{b, l}, Flags{Force: true})
	if err == nil || !strings.Contains(err.Error(), `project.toml:2: mounts."/a": a tmpfs mount and /a are both mounted at /t`) {
		t.Fatalf("err = %v", err)
	}
}
