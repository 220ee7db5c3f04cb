#!/bin/sh
# Bootstrap benchmark: `automation bootstrap-linux-dev --pythons system --src
# pypi` on a fresh stock Debian 12 (deploy/testhost/stockhost.sh), first run
# and second (idempotent) run, then prepare-workdir (tmpfs) twice. Prints a
# table; results go to docs/benchmarks.md ("Bootstrap").
#
#   Benchmarks/bootstrap/run.sh [AUTOMATION_BIN [AGENT_BIN]]
#
# Defaults: .build/debug/automation (the controller's speed does not matter
# here; the host's apt, pip and hg do) and the static agent from
# deploy/build-agent.sh. The first run's time depends on whether the .deb
# files are already in /var/cache/automation/apt-archives (set
# AUTOMATION_BENCH_COLD_APT=1 to empty that cache first). Needs root,
# debootstrap, and Debian's registry and PyPI.
set -eu
cd "$(dirname "$0")/../.."
root=$(pwd)
automation=${1:-$root/.build/debug/automation}
agent=${2:-}
[ -n "$agent" ] || agent=$(deploy/build-agent.sh | tail -n 1)
export AUTOMATION_AGENT_BINARY="$agent"

cache=${AUTOMATION_ROOTFS_CACHE:-/var/cache/automation}
if [ "${AUTOMATION_BENCH_COLD_APT:-0}" = 1 ]; then
    find "$cache/apt-archives" -maxdepth 1 -name '*.deb' -delete
fi
"$root/deploy/testhost/rootfs.sh" ensure >/dev/null

work=$(mktemp -d)
host="$work/host"
cleanup() {
    "$root/deploy/testhost/stockhost.sh" down "$host" || true
    rm -rf "$work"
}
trap cleanup EXIT INT TERM
up=$("$root/deploy/testhost/stockhost.sh" up "$host")
port=$(echo "$up" | sed 's/.*port=\([0-9]*\).*/\1/')
fingerprint=$(ssh-keygen -l -E sha256 -f "$host/ssh_host_ed25519_key.pub" | cut -d' ' -f2)
ssh="--identity $host/id_ed25519 --host-key $fingerprint"
export AUTOMATION_STATE="$work/state"

now() { date +%s.%N; }
# Runs a command, stamping each output line with the time it arrived (the
# output is live, so the stamps time the script's steps), and prints a row.
timed() {
    label=$1
    shift
    start=$(now)
    { "$@" 2>&1 || echo "run-benchmark: failed with status $?"; } | while IFS= read -r line; do
        echo "$(now) $line"
    done >"$work/out"
    end=$(now)
    if grep -q "run-benchmark: failed" "$work/out"; then
        cat "$work/out" >&2
        echo "run-benchmark: $label failed" >&2
        exit 1
    fi
    awk -v l="$label" -v s="$start" -v e="$end" 'BEGIN { printf "| %s | %.1f |\n", l, e - s }'
}
# Seconds from each step's first log line to the next step's (the step's own time).
steps() {
    awk '$2 == "bootstrap:" { split($3, a, ":"); step = a[1]; if (step != last) { if (last != "") printf "|   %s | %.1f |\n", last, $1 - t; last = step; t = $1 } }
         END { }' "$work/out"
}

echo "| step | seconds |"
echo "|---|---|"
# shellcheck disable=SC2086
timed "bootstrap-linux-dev, first run (fresh Debian 12)" "$automation" bootstrap-linux-dev \
    --target "ssh://admin@127.0.0.1:$port" --authorized-key "$host/id_ed25519.pub" --pythons system --src pypi $ssh
steps
# shellcheck disable=SC2086
timed "bootstrap-linux-dev, second run (nothing to do)" "$automation" bootstrap-linux-dev \
    --target "ssh://admin@127.0.0.1:$port" --authorized-key "$host/id_ed25519.pub" --pythons system --src pypi $ssh
# shellcheck disable=SC2086
timed "prepare-workdir tmpfs, first run (as hg, through sudo)" "$automation" prepare-workdir \
    --target "ssh://hg@127.0.0.1:$port" --filesystem tmpfs --size 1G $ssh
# shellcheck disable=SC2086
timed "prepare-workdir tmpfs, second run" "$automation" prepare-workdir \
    --target "ssh://hg@127.0.0.1:$port" --filesystem tmpfs --size 1G $ssh
