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
# shellcheck disable=SC2086 # $ssh is several flags
timed() {
    label=$1
    shift
    start=$(now)
    "$@" >"$work/out" 2>&1 || { cat "$work/out" >&2; echo "run-benchmark: $label failed" >&2; exit 1; }
    end=$(now)
    awk -v l="$label" -v s="$start" -v e="$end" 'BEGIN { printf "| %s | %.1f |\n", l, e - s }'
}

echo "| step | seconds |"
echo "|---|---|"
# shellcheck disable=SC2086
timed "bootstrap-linux-dev, first run (fresh Debian 12)" "$automation" bootstrap-linux-dev \
    --target "ssh://admin@127.0.0.1:$port" --authorized-key "$host/id_ed25519.pub" --pythons system --src pypi $ssh
grep -E '^bootstrap: (packages|venv-bootstrap|/hgdev/src):' "$work/out" | sed 's/^/    /' >&2
# shellcheck disable=SC2086
timed "bootstrap-linux-dev, second run (nothing to do)" "$automation" bootstrap-linux-dev \
    --target "ssh://admin@127.0.0.1:$port" --authorized-key "$host/id_ed25519.pub" --pythons system --src pypi $ssh
# shellcheck disable=SC2086
timed "prepare-workdir tmpfs, first run (as hg, through sudo)" "$automation" prepare-workdir \
    --target "ssh://hg@127.0.0.1:$port" --filesystem tmpfs --size 1G $ssh
# shellcheck disable=SC2086
timed "prepare-workdir tmpfs, second run" "$automation" prepare-workdir \
    --target "ssh://hg@127.0.0.1:$port" --filesystem tmpfs --size 1G $ssh
