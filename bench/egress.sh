#!/usr/bin/env bash
# Allowlist network cost against `full`, in one run: a Python client inside
# bubblewrap, as an unprivileged user, opens 300 connections one after
# another (1-byte answers) and downloads 200 MB three times (best kept),
# from a server on the host's loopback. In allowlist mode it reaches the
# allowed name app.localhost:80 through the sandbox's DNS and the bridge
# (the path of clients that ignore the proxy variables); in full mode it
# reaches the same server's second port through pasta (localhost_ports).
# Rounds alternate the modes so that load hits both alike.
#
#   sudo bench/egress.sh [USER] [ROUNDS]   (default: csbx-tester, 4)
#
# Needs root for the server's port 80, python3, bwrap and pasta.
set -euo pipefail

cd "$(dirname "$0")/.."
user=${1:-csbx-tester}
rounds=${2:-4}
work=$(mktemp -d)
server=
cleanup() { [ -n "$server" ] && kill "$server"; rm -rf "$work"; }
trap cleanup EXIT
CGO_ENABLED=0 go build -buildvcs=false -o "$work/claude-sandbox" ./cmd/claude-sandbox
home=$work/home
mkdir -p "$home/.config/claude-sandbox" "$home/proj"
printf '[egress]\nallow = ["app.localhost"]\nlocalhost_ports = [18080]\n' >"$home/.config/claude-sandbox/config.toml"

cat >"$work/server.py" <<'PY'
import socket, threading
BIG, chunk = 200 << 20, b"x" * (1 << 20)
def handle(c):
    try:
        req = b""
        while b"\r\n\r\n" not in req:
            d = c.recv(4096)
            if not d:
                return
            req += d
        if req.startswith(b"GET /big"):
            c.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: %d\r\n\r\n" % BIG)
            for _ in range(BIG // len(chunk)):
                c.sendall(chunk)
        else:
            c.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx")
    finally:
        c.close()
def serve(port):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen(128)
    while True:
        c, _ = s.accept()
        threading.Thread(target=handle, args=(c,), daemon=True).start()
for p in (80, 18080):
    threading.Thread(target=serve, args=(p,), daemon=True).start()
threading.Event().wait()
PY
cat >"$home/proj/client.py" <<'PY'
import socket, sys, time
host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
addr = socket.getaddrinfo(host, port, socket.AF_INET, socket.SOCK_STREAM)[0][4]
def get(path):
    c = socket.create_connection(addr)
    c.sendall(b"GET " + path + b" HTTP/1.0\r\nHost: " + host.encode() + b"\r\n\r\n")
    total = 0
    while True:
        d = c.recv(1 << 20)
        if not d:
            break
        total += len(d)
    c.close()
    return total
get(b"/1")
t = time.perf_counter()
for _ in range(n):
    get(b"/1")
ms = (time.perf_counter() - t) / n * 1000
best = 0
for _ in range(3):
    t = time.perf_counter()
    size = get(b"/big")
    best = max(best, size / (time.perf_counter() - t) / 1e6)
print("%.3f ms/connection  %.0f MB/s" % (ms, best))
PY
chown -R "$user:" "$home"
chmod 755 "$work"
python3 "$work/server.py" &
server=$!
sleep 1

run() { # mode target port
	su "$user" -s /bin/sh -c "cd '$home/proj' && env -i HOME='$home' USER='$user' PATH=/usr/local/bin:/usr/bin:/bin \
		XDG_CONFIG_HOME='$home/.config' XDG_STATE_HOME='$home/.local/state' XDG_CACHE_HOME='$home/.cache' LANG=C.UTF-8 \
		'$work/claude-sandbox' --backend=bubblewrap --network=$1 --shell '$home/proj' -- -c 'python3 client.py $2 $3 300'"
}
for i in $(seq "$rounds"); do
	printf 'allowlist  '; run allowlist app.localhost 80
	printf 'full       '; run full 127.0.0.1 18080
done
