#!/usr/bin/env bash
# Start-up cost of each network mode: the median wall time of
# `claude-sandbox --network=MODE ... -- -c true` over RUNS runs (default
# 21) per backend and mode. Run it as root: it measures bubblewrap as root,
# bubblewrap as USER (default csbx-tester, which must exist) and the
# container. Builds the launcher itself.
#
#   bench/network.sh [USER]
set -euo pipefail

cd "$(dirname "$0")/.."
user=${1:-csbx-tester}
runs=${RUNS:-21}
[ "$(id -u)" = 0 ] || { echo "run as root" >&2; exit 1; }
work=$(mktemp -d)
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT
CGO_ENABLED=0 go build -buildvcs=false -o "$work/claude-sandbox" ./cmd/claude-sandbox
mkdir -p "$work/proj" "$work/home"
chown "$user" "$work/proj" "$work/home"

# median RUNS-times of "$@" in milliseconds
median() {
	local times=() i t0 t1
	"$@" >/dev/null 2>&1 </dev/null || { echo "failed: $*" >&2; return 1; }
	for ((i = 0; i < runs; i++)); do
		t0=$(date +%s%N)
		"$@" >/dev/null 2>&1 </dev/null
		t1=$(date +%s%N)
		times+=($(((t1 - t0) / 1000000)))
	done
	printf '%s\n' "${times[@]}" | sort -n | sed -n "$((runs / 2 + 1))p"
}

printf '%-22s %-10s %s\n' launch network "median ms"
for mode in off full host allowlist; do
	printf '%-22s %-10s %s\n' bubblewrap-as-user "$mode" "$(median runuser -u "$user" -- env -i HOME="$work/home" PATH=/usr/bin:/bin \
		"$work/claude-sandbox" --backend=bubblewrap --network="$mode" --shell "$work/proj" -- -c true)"
done
for mode in off full host allowlist; do
	printf '%-22s %-10s %s\n' bubblewrap-as-root "$mode" "$(median env -i HOME=/root PATH=/usr/bin:/bin \
		"$work/claude-sandbox" --backend=bubblewrap --network="$mode" --shell "$work/proj" -- -c true)"
done
for mode in off full host allowlist; do
	printf '%-22s %-10s %s\n' container "$mode" "$(median env -i HOME=/root PATH=/usr/bin:/bin \
		"$work/claude-sandbox" --backend=container --network="$mode" --shell "$work/proj" -- -c true)"
done
