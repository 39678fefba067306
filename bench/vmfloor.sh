#!/usr/bin/env bash
# vm boot to exit against the floor: the launcher's `--shell -c true` in
# the vm backend and a bare static /init on the same kernel, machine type,
# memory and CPU count, timed alternately in one run (see bench/vmfloor).
#
#   bench/vmfloor.sh [runs [older-launcher]]   (default: 5 runs)
set -euo pipefail

cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
CGO_ENABLED=0 go build -buildvcs=false -o "$work/claude-sandbox" ./cmd/claude-sandbox
CGO_ENABLED=0 go build -buildvcs=false -o "$work/vmfloor" ./bench/vmfloor
mkdir -p "$work/config/claude-sandbox"
printf '[vm]\nmemory = "1G"\ncpus = 1\n' >"$work/config/claude-sandbox/config.toml"
XDG_CONFIG_HOME=$work/config XDG_CACHE_HOME=$work/cache \
	"$work/vmfloor" -launcher "$work/claude-sandbox" ${2:+-compare "$2"} -runs "${1:-5}" -memory 1024 -cpus 1 </dev/null
