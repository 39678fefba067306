package render

import (
	"slices"
	"testing"
)

func TestUserDirs(t *testing.T) {
	h := debianHost()
	shares := []Share{
		{Source: "/home/alice/src/proj", Target: "/home/alice/src/proj", Mode: ShareRW, Kind: Dir},
		{Source: "/home/alice/src/proj/.git/hooks", Target: "/home/alice/src/proj/.git/hooks", Mode: ShareRO, Kind: Dir},
		{Source: "/home/alice/.config/gh", Target: "/home/alice/.config/gh", Mode: ShareRO, Kind: Dir},
		{Source: "/home/alice/.config/git", Target: "/home/alice/.config/git", Mode: ShareRO, Kind: Dir},
		{Source: "/s/.local/bin", Target: "/home/alice/.local/bin", Mode: ShareRW, Kind: Dir},
		{Source: "/run/user/1000/pulse/native", Target: "/run/user/1000/pulse/native", Mode: ShareRW, Kind: Socket},
		{Source: "/run/user/1000/bus", Target: "/run/user/1000/bus", Mode: ShareRW, Kind: Socket},
		{Source: "/tmp/.X11-unix/X0", Target: "/tmp/.X11-unix/X0", Mode: ShareRW, Kind: Socket},
		{Source: "/srv/data", Target: "/data/x", Mode: ShareRO, Kind: Dir},
		{Source: ".claude/.claude.json", Target: "/home/alice/.claude.json", Mode: ShareSymlink},
	}
	got := UserDirs(h, shares)
	want := []string{"/home/alice/.config", "/home/alice/.local", "/home/alice/src", "/run/user/1000/pulse"}
	if !slices.Equal(got, want) {
		t.Fatalf("UserDirs = %q, want %q (never the home itself, the runtime dir, a directory inside a share, or one outside both)", got, want)
	}
}
