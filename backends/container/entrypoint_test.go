package container

import (
	"slices"
	"testing"
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
