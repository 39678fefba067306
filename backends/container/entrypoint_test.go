package container

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"golang.org/x/sys/unix"
)

func TestParseArgs(t *testing.T) {
	o, err := ParseArgs([]string{"--uid=1001", "--gid=1002", "--groups=27,100", "--chdir=/p q", "--runtime-dir=/run/user/1001", "--", "sh", "-c", "exit 3"})
	if err != nil {
		t.Fatal(err)
	}
	if o.UID != 1001 || o.GID != 1002 || !slices.Equal(o.Groups, []int{27, 100}) || o.Chdir != "/p q" || !slices.Equal(o.Argv, []string{"sh", "-c", "exit 3"}) {
		t.Fatalf("parsed %+v", o)
	}
	for _, bad := range [][]string{{"--gid=1", "--", "x"}, {"--uid=1", "--gid=1"}, {"--uid=1", "--gid=1", "--groups=a", "--", "x"}} {
		if _, err := ParseArgs(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestParseEnv(t *testing.T) {
	got := ParseEnv([]byte("A=1\x00B=two words\x00\x00junk\x00"))
	if !slices.Equal(got, []string{"A=1", "B=two words"}) {
		t.Fatalf("ParseEnv = %q", got)
	}
}

func TestParseArgsUserDirs(t *testing.T) {
	o, err := ParseArgs([]string{"--uid=1", "--gid=1", "--user-dir=/home/u/.config", "--user-dir=/run/user/1/pulse/", "--", "x"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(o.UserDirs, []string{"/home/u/.config", "/run/user/1/pulse"}) {
		t.Fatalf("user dirs %q", o.UserDirs)
	}
	if _, err := ParseArgs([]string{"--uid=1", "--gid=1", "--user-dir=rel", "--", "x"}); err == nil {
		t.Fatal("a relative --user-dir was accepted")
	}
}

// TestGiveDirs gives directories away and leaves links, their targets and
// files alone.
func TestGiveDirs(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("changing owners needs root")
	}
	base := t.TempDir()
	dir := filepath.Join(base, "dir")
	target := filepath.Join(base, "target")
	link := filepath.Join(base, "link")
	file := filepath.Join(base, "file")
	os.Mkdir(dir, 0o755)
	os.Mkdir(target, 0o755)
	os.Symlink(target, link)
	os.WriteFile(file, nil, 0o644)
	if err := GiveDirs([]string{dir, link, file, filepath.Join(base, "absent")}, 4242, 4343); err != nil {
		t.Fatal(err)
	}
	owner := func(p string) (uint32, uint32) {
		var st unix.Stat_t
		unix.Lstat(p, &st)
		return st.Uid, st.Gid
	}
	if u, g := owner(dir); u != 4242 || g != 4343 {
		t.Errorf("dir owned by %d:%d, want 4242:4343", u, g)
	}
	for _, p := range []string{target, link, file} {
		if u, _ := owner(p); u != 0 {
			t.Errorf("%s changed owner to %d", p, u)
		}
	}
}

func TestRunChildStatus(t *testing.T) {
	for script, want := range map[string]int{"exit 0": 0, "exit 42": 42, "kill -TERM $$": 128 + 15, "kill -KILL $$": 128 + 9} {
		got, err := runChild("/bin/sh", []string{"sh", "-c", script}, []string{"PATH=/usr/bin:/bin"})
		if err != nil || got != want {
			t.Errorf("%s: status %d, %v; want %d", script, got, err, want)
		}
	}
	if _, err := runChild("/nonexistent", []string{"x"}, nil); err == nil {
		t.Errorf("a command that cannot start is no error")
	}
}
