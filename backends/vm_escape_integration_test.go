package backends_test

import (
	"strings"
	"testing"

	bt "github.com/claude-sandbox/claude-sandbox/backends/backendtest"
)

// TestVMCommandCannotReachHiddenHostFiles attacks the guest from the
// command, as the unprivileged test user and as the guest's root (no
// capabilities): it mounts every 9p tag of the machine again (the host
// root export among them), directly and from a new user namespace, and
// looks for the init's view of the host root and for the roots of the
// init and of the nix-daemon through /proc, each to read the home's
// secret that the policy hides. None of it works.
func TestVMCommandCannotReachHiddenHostFiles(t *testing.T) {
	t.Parallel()
	requireVM(t)
	for _, tc := range []struct {
		name string
		user func(t *testing.T) bt.User
	}{
		{"user", func(t *testing.T) bt.User { return bt.TestUser(t) }},
		{"root", func(t *testing.T) bt.User { bt.RequireRoot(t); return rootUser() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := bt.NewFixture(t, tc.user(t))
			f.WriteUserConfig(t, vmConfig)
			secret := f.Secret
			script := `leak() { echo "LEAK: $*"; }
cat ` + secret + ` >/dev/null 2>&1 && leak direct
mkdir -p /tmp/m
tags=0
for t in /sys/bus/virtio/drivers/9pnet_virtio/*/mount_tag; do
  tag=$(tr -d '\0' < "$t"); tags=$((tags+1))
  mount -t 9p -o trans=virtio,version=9p2000.L "$tag" /tmp/m 2>/dev/null && leak "mount $tag"
  unshare -Urm sh -c "mount -t 9p -o trans=virtio,version=9p2000.L $tag /tmp/m && cat /tmp/m` + secret + `" >/dev/null 2>&1 && leak "userns mount $tag"
done
echo "TAGS=$tags"
for d in /hostroot /nixdaemon /proc/1/root /proc/1/cwd; do
  ls "$d/" >/dev/null 2>&1 && leak "$d"
  cat "$d` + secret + `" >/dev/null 2>&1 && leak "$d secret"
done
command -v nix-store >/dev/null && nix-store --version >/dev/null 2>&1
for p in /proc/[0-9]*; do
  [ "$(cat $p/comm 2>/dev/null)" = nix-daemon ] || continue
  ls "$p/root/" >/dev/null 2>&1 && leak "$p/root"
done
awk '$5 ~ /^\/(hostroot|nixdaemon)/ { found = 1 } END { exit !found }' /proc/self/mountinfo && leak mountinfo
exit 0`
			res := f.Run(t, f.Env(), "--backend=vm", "--no-network", "--shell", f.Project, "--", "-c", script)
			if res.Status != 0 {
				t.Fatalf("status %d\nstdout: %s\nstderr: %s", res.Status, res.Stdout, res.Stderr)
			}
			if strings.Contains(res.Stdout, "LEAK") || !strings.Contains(res.Stdout, "TAGS=") || strings.Contains(res.Stdout, "TAGS=0") {
				t.Errorf("the command reached what the guest hides (or found no 9p tags to attack)\nstdout: %s\nstderr: %s", res.Stdout, res.Stderr)
			}
			f.AssertNoRunDirs(t)
		})
	}
}
