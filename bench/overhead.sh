#!/usr/bin/env bash
# Launcher overhead: times `claude-sandbox ... -- -c true` against the raw
# command its --dry-run prints, in one run, and prints the ratio and the
# added milliseconds. Builds the launcher itself.
#
#   bench/overhead.sh [bubblewrap|container|vm ...]   (default: bubblewrap)
#
# The bubblewrap row runs bench/launchcost: a bare static Go program's
# start, a minimal bwrap, the raw command (its descriptors fed), the dry
# run and the launcher, interleaved, with medians, 10th-90th percentile
# ranges, CPU times, peak RSS, the launcher's own cost (launcher - raw -
# bare Go start) and the Unix socket guard's (granted - all); BISECT=1 also times the raw command without each group of
# its options. The container and vm rows need hyperfine and jq.
#
# The container row needs root; run the script as root for it. The vm row
# uses a small guest (1 GiB, 1 cpu) and fewer runs.
set -euo pipefail

cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Installed the way a package installs it: a launcher file written by the
# Go linker starts measurably slower (0.4-0.6 ms more CPU time here) than
# the same bytes copied into a new file.
CGO_ENABLED=0 go build -buildvcs=false -o "$work/claude-sandbox.built" ./cmd/claude-sandbox
install -m 755 "$work/claude-sandbox.built" "$work/claude-sandbox"
go run -buildvcs=false ./bench/seccompdump >"$work/seccomp.bpf"
launcher=$work/claude-sandbox
proj=$work/proj
mkdir -p "$proj" "$work/config/claude-sandbox"
# The raw command cannot serve the Unix socket guard: the rows compare
# launches without it, and the bubblewrap row times a launch with it (the
# default, unix_sockets = "granted") beside them, as its own cost.
printf 'unix_sockets = "all"\n[vm]\nmemory = "1G"\ncpus = 1\n' >"$work/config/claude-sandbox/config.toml"
mkdir -p "$work/guarded/claude-sandbox"
printf '[vm]\nmemory = "1G"\ncpus = 1\n' >"$work/guarded/claude-sandbox/config.toml"
export XDG_CONFIG_HOME=$work/config

backends=("$@")
[ ${#backends[@]} -gt 0 ] || backends=(bubblewrap)

for backend in "${backends[@]}"; do
	args=(--backend="$backend" --no-network --shell "$proj" -- -c true)
	if [ "$backend" = bubblewrap ]; then
		printf 'package main\n\nimport "os"\n\nfunc main() { os.Stdout.WriteString("hello\\n") }\n' >"$work/hello.go"
		CGO_ENABLED=0 go build -o "$work/hello" "$work/hello.go"
		go build -buildvcs=false -o "$work/launchcost" ./bench/launchcost
		bisect=()
		[ -z "${BISECT:-}" ] || bisect=(-bisect)
		echo "bubblewrap (times in ms):"
		"$work/launchcost" -launcher "$launcher" -hello "$work/hello" -seccomp "$work/seccomp.bpf" -guarded "$work/guarded" -runs "${RUNS:-60}" "${bisect[@]}" -- "${args[@]}" </dev/null
		continue
	fi
	for tool in hyperfine jq; do
		command -v "$tool" >/dev/null || { echo "needs $tool (apt install $tool)" >&2; exit 1; }
	done
	# One launch first makes the project's state directories, which stay.
	"$launcher" "${args[@]}" </dev/null >/dev/null 2>&1 || true
	dry=$("$launcher" --dry-run "${args[@]}" </dev/null)
	raw=$(printf '%s\n' "$dry" | tail -n 1)
	# The raw command binds the placeholders the launcher creates for
	# missing protected paths: it creates and removes them too, as the
	# launcher does.
	make='' remove=''
	while read -r kind path; do
		if [ "$kind" = dir ]; then make+="mkdir $path && "; else make+=": >$path && "; fi
		remove+=" $path"
	done < <(printf '%s\n' "$dry" | sed -n 's/^# placeholder, created at launch and removed at exit: //p')
	[ -z "$remove" ] || raw="$make$raw; s=\$?; rm -rf$remove; exit \$s"
	runs=60 warmup=5
	if [ "$backend" = vm ]; then
		# The raw QEMU command needs the run directory the launcher prepares
		# and removes, so the vm row reports the launcher's own times: cold
		# (boot files built into an empty cache) and warm.
		export XDG_CACHE_HOME=$work/cache
		/usr/bin/time -o "$work/cold" -f %e "$launcher" "${args[@]}" </dev/null >/dev/null 2>&1
		cold=$(cat "$work/cold")
		hyperfine -N --warmup 1 --runs 5 --export-json "$work/vm.json" -n launcher "$launcher ${args[*]}" >/dev/null 2>&1 </dev/null
		jq -r --arg cold "$cold" '.results[0] | "vm: boot to exit, warm cache: median \(.median * 100 | round / 100) s (min \(.min * 100 | round / 100), max \(.max * 100 | round / 100)); cold cache: \($cold) s"' "$work/vm.json"
		continue
	fi
	if [ "$backend" = container ]; then
		# The raw nspawn command needs the root the launcher would prepare:
		# keep one prepared copy for the whole benchmark.
		# The launcher's entrypoint inside reads files the launcher writes
		# into that root; the raw command runs the command directly, so the
		# entrypoint's work (seccomp, the socket guard, dropping privileges)
		# counts as the launcher's.
		root=$(printf '%s\n' "$raw" | grep -o -- '--directory=[^ ]*' | cut -d= -f2)
		raw=$(printf '%s\n' "$raw" | sed 's| -- /.claude-sandbox/claude-sandbox-entrypoint .* -- bash | -- /usr/bin/bash |')
		raw="mkdir -p $root/usr $root/etc $root/.claude-sandbox && touch $root/.claude-sandbox/claude-sandbox-entrypoint && for d in bin sbin lib lib64; do ln -s usr/\$d $root/\$d; done && ($raw); s=\$?; rm -rf $(dirname "$root"); exit \$s"
	fi
	hyperfine ${HYPERFINE_OPTS:-} --shell=bash --warmup "$warmup" --runs "$runs" --export-json "$work/$backend.json" \
		-n launcher "$launcher ${args[*]@Q}" -n raw "$raw" >"$work/$backend.log" 2>&1 || { echo "$backend: hyperfine failed:"; tail -n 5 "$work/$backend.log"; continue; }
	jq -r --arg b "$backend" '
		(.results[] | select(.command == "launcher") | .median) as $l |
		(.results[] | select(.command == "raw") | .median) as $r |
		"\($b): launcher \($l * 1000 | . * 100 | round / 100) ms, raw \($r * 1000 | . * 100 | round / 100) ms, ratio \($l / $r | . * 100 | round / 100)x, added \(($l - $r) * 1000 | . * 100 | round / 100) ms"' \
		"$work/$backend.json"
done
# Peak memory of the launcher itself, in a dry run (everything but the exec).
/usr/bin/time -f "launcher peak RSS (dry run): %M KiB" "$launcher" --dry-run --backend=bubblewrap --no-network --shell "$proj" >/dev/null
