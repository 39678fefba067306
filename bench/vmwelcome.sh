#!/usr/bin/env bash
# Claude Code's welcome screen in the vm backend: seconds from launch until
# "Welcome to Claude Code" shows in a 100x40 tmux pane, once with an empty
# boot-file cache (cold) and then RUNS times warm, with the medians, the
# range, QEMU's CPU time until the screen showed, and the same for the
# boot to exit of `--shell -c true` (the part of the welcome that is the
# boot). With an older launcher, both are timed alternately in the same
# rounds and the ratio new/old is printed. Claude Code is installed from
# npm into a temporary home, and each launch is its first run there (no
# ~/.claude.json); the guest has 1 GiB and 1 CPU, as in the tests.
#
#   bench/vmwelcome.sh [runs [older-launcher]]   (default: 5 runs)
set -euo pipefail

cd "$(dirname "$0")/.."
work=$(mktemp -d)
sock=csbx-vmwelcome-$$
trap 'tmux -L "$sock" kill-server 2>/dev/null || true; rm -rf "$work"' EXIT
CGO_ENABLED=0 go build -buildvcs=false -o "$work/claude-sandbox" ./cmd/claude-sandbox
home=$work/home
mkdir -p "$home/.local/lib" "$home/.local/bin" "$work/proj" "$work/config/claude-sandbox"
npm install --silent --no-audit --no-fund --prefix "$work/npm" @anthropic-ai/claude-code >/dev/null
cp -a "$work/npm/node_modules" "$home/.local/lib/"
ln -s ../lib/node_modules/@anthropic-ai/claude-code/bin/claude.exe "$home/.local/bin/claude"
printf '[vm]\nmemory = "1G"\ncpus = 1\n' >"$work/config/claude-sandbox/config.toml"
export HOME=$home XDG_CONFIG_HOME=$work/config PATH=$home/.local/bin:$PATH

now() { date +%s.%N; }

# qemu_cpu prints the CPU seconds (user + system) of the QEMU booting from
# boot-file cache $1.
qemu_cpu() {
	local p
	p=$(pgrep -f "qemu-system-x86_64 .*$1/" | head -1)
	if [ -n "$p" ]; then
		awk '{printf "%.2f", ($14 + $15) / 100}' "/proc/$p/stat"
	else
		echo "?"
	fi
}

# welcome LAUNCHER CACHE: prints "seconds qemu-cpu-seconds".
welcome() {
	rm -f "$home/.claude.json"
	local start end cpu screen
	start=$(now)
	XDG_CACHE_HOME=$2 tmux -L "$sock" new-session -d -s w -x 100 -y 40 \
		"cd '$work/proj' && '$1' --backend=vm --no-network . ; echo LAUNCHER-EXITED; sleep 600"
	while :; do
		screen=$(tmux -L "$sock" capture-pane -p -t w)
		if grep -q "Welcome to Claude Code" <<<"$screen"; then
			end=$(now)
			cpu=$(qemu_cpu "$2")
			break
		fi
		if grep -q LAUNCHER-EXITED <<<"$screen"; then
			echo "no welcome screen:" >&2
			echo "$screen" >&2
			exit 1
		fi
		sleep 0.05
	done
	# Claude Code exits by itself with the network off.
	until tmux -L "$sock" capture-pane -p -t w | grep -q LAUNCHER-EXITED; do sleep 0.1; done
	tmux -L "$sock" kill-server
	echo "$(echo "$end - $start" | bc) $cpu"
}

# boot LAUNCHER CACHE: prints the seconds of a boot to exit.
boot() {
	local start
	start=$(now)
	XDG_CACHE_HOME=$2 "$1" --backend=vm --no-network --shell "$work/proj" -- -c true </dev/null >/dev/null 2>&1
	echo "$(echo "$(now) - $start" | bc)"
}

# stats prints the median, min and max of its arguments.
stats() {
	printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {m = NR % 2 ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2; printf "median %.2f s (min %.2f, max %.2f)", m, v[1], v[NR]}'
}

runs=${1:-5}
launchers=("$work/claude-sandbox")
[ -z "${2:-}" ] || launchers+=("$2")
for i in "${!launchers[@]}"; do
	read -r t c < <(welcome "${launchers[$i]}" "$work/cache$i")
	echo "launcher $i (${launchers[$i]}): cold welcome ${t} s, QEMU CPU ${c} s"
done
declare -A wall cpu bt
for r in $(seq "$runs"); do
	for i in "${!launchers[@]}"; do
		read -r t c < <(welcome "${launchers[$i]}" "$work/cache$i")
		wall[$i]+="$t " cpu[$i]+="$c "
		bt[$i]+="$(boot "${launchers[$i]}" "$work/cache$i") "
	done
done
for i in "${!launchers[@]}"; do
	# shellcheck disable=SC2086
	echo "launcher $i: warm welcome $(stats ${wall[$i]}); QEMU CPU $(stats ${cpu[$i]}); boot to exit $(stats ${bt[$i]}); n=$runs"
done
if [ ${#launchers[@]} = 2 ]; then
	# shellcheck disable=SC2086
	m0=$(printf '%s\n' ${wall[0]} | sort -g | awk '{v[NR]=$1} END {print NR % 2 ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2}')
	# shellcheck disable=SC2086
	m1=$(printf '%s\n' ${wall[1]} | sort -g | awk '{v[NR]=$1} END {print NR % 2 ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2}')
	echo "warm welcome ratio new/old: $(echo "scale=2; $m0 / $m1" | bc)x"
fi
