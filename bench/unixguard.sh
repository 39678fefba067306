#!/usr/bin/env bash
# Cost of the Unix socket guard per connect: a Python client inside
# bubblewrap (as USER, default csbx-tester) connects N times (default
# 2000) to a socket bound inside in /tmp, to one bound inside in the
# project (a shared directory: the guard asks the kernel who listens on
# it), and over TCP to a listener on the sandbox's loopback; once with
# unix_sockets = "granted" (the default) and once with "all". Prints
# connects per second. NETWORK (default off) is the network mode. Run it
# as root; builds the launcher itself.
#
#   bench/unixguard.sh [USER]
set -euo pipefail

cd "$(dirname "$0")/.."
user=${1:-csbx-tester}
n=${N:-2000}
network=${NETWORK:-off}
[ "$(id -u)" = 0 ] || { echo "run as root" >&2; exit 1; }
work=$(mktemp -d)
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT
CGO_ENABLED=0 go build -buildvcs=false -o "$work/claude-sandbox" ./cmd/claude-sandbox
mkdir -p "$work/proj" "$work/home/.config/claude-sandbox"
cat >"$work/proj/bench.py" <<'PY'
import os, socket, sys, threading, time
n = int(sys.argv[1])
def serve(l):
    while True:
        c, _ = l.accept()
        c.close()
def rate(family, addr):
    l = socket.socket(family, socket.SOCK_STREAM)
    l.bind(addr); l.listen(1024)
    threading.Thread(target=serve, args=(l,), daemon=True).start()
    addr = l.getsockname()
    t0 = time.perf_counter()
    for _ in range(n):
        s = socket.socket(family, socket.SOCK_STREAM)
        s.connect(addr)
        s.close()
    return n / (time.perf_counter() - t0)
print("unix-tmp %.0f" % rate(socket.AF_UNIX, "/tmp/b.sock"))
print("unix-project %.0f" % rate(socket.AF_UNIX, os.path.join(os.getcwd(), "b.sock")))
print("tcp-loopback %.0f" % rate(socket.AF_INET, ("127.0.0.1", 0)))
os.unlink("b.sock")
PY
chown -R "$user" "$work/proj" "$work/home"
for mode in granted all; do
	echo "unix_sockets = \"$mode\"" >"$work/home/.config/claude-sandbox/config.toml"
	runuser -u "$user" -- env -i HOME="$work/home" PATH=/usr/bin:/bin \
		"$work/claude-sandbox" --backend=bubblewrap --network="$network" --shell "$work/proj" -- -c "python3 bench.py $n" |
		sed "s/^/$mode /"
done
