#!/bin/bash
# Sync benchmark (docs/benchmarks.md, "Sync"): Mercurial's source tree from the
# 7.2.4 sdist to a private loopback sshd (deploy/testhost/sshd.sh), side by side:
#   - automation sync, one CLI run per sync (fresh SSH connection each time),
#   - automation-sync-bench, syncing on one held connection,
#   - rsync -a --delete over a fresh ssh, and over a reused ControlMaster;
# for a first sync, a no-op, a one-file edit and a 100-file edit; then all of
# it again through delay-proxy.py adding 20 ms of round-trip time.
#
#   Benchmarks/sync/run.sh [REPEATS]
#
# Prints Markdown tables (milliseconds, medians of REPEATS runs, default 3:
# first syncs into an emptied destination, the others each after a fresh edit). Needs root,
# openssh-server, rsync, python3; builds release binaries into .build-bench.
set -eu
cd "$(dirname "$0")/../.."
root=$(pwd)
repeats=${1:-3}
swift build -c release --scratch-path .build-bench --product automation >&2
swift build -c release --scratch-path .build-bench --product automation-sync-bench >&2
bin="$(swift build -c release --scratch-path .build-bench --show-bin-path)"
agent=$(deploy/build-agent.sh | tail -n 1)

work=$(mktemp -d)
chmod 755 "$work"
fixture="$work/sshd"
proxy_pid=""
bench_pid=""
cleanup() {
    [ -n "$bench_pid" ] && kill "$bench_pid" 2>/dev/null || true
    [ -n "$proxy_pid" ] && kill "$proxy_pid" 2>/dev/null || true
    for cm in "$work"/cm-*; do [ -S "$cm" ] && ssh -S "$cm" -O exit x 2>/dev/null || true; done
    "$root/deploy/testhost/sshd.sh" stop "$fixture" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT INT TERM
"$root/deploy/testhost/sshd.sh" start "$fixture" INFO >&2
sshd_port=$(cat "$fixture/port")
user=$(cat "$fixture/user")
home=$(getent passwd "$user" | cut -d: -f6)
key="$fixture/id_ed25519"
fingerprint=$(ssh-keygen -l -E sha256 -f "$fixture/ssh_host_ed25519_key.pub" | cut -d' ' -f2)

cache=${AUTOMATION_TEST_CACHE:-/var/tmp/automation-test-cache}
tarball="$cache/mercurial-7.2.4.tar.gz"
if [ ! -f "$tarball" ]; then
    mkdir -p "$cache"
    python3 -m pip download -q --no-deps --no-binary :all: mercurial==7.2.4 -d "$cache" >&2
fi

now_ms() { date +%s%N | awk '{ printf "%.1f", $1 / 1e6 }'; }
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# One source copy per tool, so that every tool sees the same edits.
tools="cli held rsync rsync-cm"
edit() {  # edit SRC one|hundred N
    if [ "$2" = one ]; then
        printf '# edit %s\n' "$3" >> "$1/mercurial/commands.py"
    else
        find "$1/mercurial" -name '*.py' | LC_ALL=C sort | head -n 100 | while read -r f; do printf '# edit %s\n' "$3" >> "$f"; done
    fi
}

run_link() {  # run_link LABEL PORT
    label=$1
    port=$2
    target="ssh://$user@127.0.0.1:$port"
    sshopts="-F /dev/null -i $key -p $port -o UserKnownHostsFile=$fixture/known_hosts -o StrictHostKeyChecking=no -o BatchMode=yes -o LogLevel=ERROR"
    ssh $sshopts "$user@127.0.0.1" true
    cm="$work/cm-$port"
    ssh $sshopts -o ControlMaster=yes -o ControlPath="$cm" -o ControlPersist=600 -N -f "$user@127.0.0.1"
    state="$work/state-$port"
    for tool in $tools; do
        rm -rf "$work/src-$tool"
        mkdir -p "$work/src-$tool"
        tar xzf "$tarball" -C "$work/src-$tool" --strip-components=1
        rm -rf "$home/bench-$tool-$port"
    done
    connection="--target $target --identity $key --host-key $fingerprint --agent-binary $agent --agent-idle-timeout 60"
    # Deploy the agent once, so that no row pays the upload.
    "$bin/automation" exec $connection --state-path "$state" -- true
    coproc BENCH { "$bin/automation-sync-bench" "$work/src-held" "$home/bench-held-$port" "$state" $connection; }
    bench_pid=$BENCH_PID
    sync_once() {  # sync_once TOOL -> elapsed ms on stdout
        case $1 in
        cli)
            start=$(now_ms)
            "$bin/automation" sync "$work/src-cli" --to "$home/bench-cli-$port" $connection --state-path "$state" >/dev/null
            end=$(now_ms)
            awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f\n", b - a }' ;;
        held)
            echo sync >&"${BENCH[1]}"
            read -r ms _ _ <&"${BENCH[0]}"
            echo "$ms" ;;
        rsync|rsync-cm)
            extra=""
            [ "$1" = rsync-cm ] && extra="-o ControlPath=$cm"
            start=$(now_ms)
            rsync -a --delete -e "ssh $sshopts $extra" "$work/src-$1/" "$user@127.0.0.1:bench-$1-$port/"
            end=$(now_ms)
            awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f\n", b - a }' ;;
        esac
    }
    declare -A result
    # First sync: REPEATS times into emptied destinations (the source side's
    # scan caches stay warm, as they would for a user syncing a new target).
    for tool in $tools; do : > "$work/times-first-$tool"; done
    for r in $(seq 1 "$repeats"); do
        for tool in $tools; do
            rm -rf "$home/bench-$tool-$port"
            sync_once "$tool" >> "$work/times-first-$tool"
        done
    done
    for tool in $tools; do result[first,$tool]=$(median < "$work/times-first-$tool"); done
    for scenario in noop one hundred; do
        for tool in $tools; do : > "$work/times-$scenario-$tool"; done
        for r in $(seq 1 "$repeats"); do
            for tool in $tools; do
                [ "$scenario" != noop ] && edit "$work/src-$tool" "$scenario" "$r"
                sync_once "$tool" >> "$work/times-$scenario-$tool"
            done
        done
        for tool in $tools; do result[$scenario,$tool]=$(median < "$work/times-$scenario-$tool"); done
    done
    eval "exec ${BENCH[1]}>&-"
    wait "$bench_pid" 2>/dev/null || true
    bench_pid=""
    # Every destination must equal its source.
    for tool in $tools; do
        if ! diff -r --no-dereference "$work/src-$tool" "$home/bench-$tool-$port" >/dev/null; then
            echo "run.sh: $tool: destination differs from source" >&2
            exit 1
        fi
    done
    echo "### $label"
    echo
    echo "| scenario | automation sync (CLI, fresh connection) | automation (held connection) | rsync, fresh ssh | rsync, ControlMaster | CLI / rsync fresh | held / rsync fresh | CLI / rsync CM | held / rsync CM |"
    echo "|---|---|---|---|---|---|---|---|---|"
    for scenario in first noop one hundred; do
        c=${result[$scenario,cli]} h=${result[$scenario,held]} r=${result[$scenario,rsync]} m=${result[$scenario,rsync-cm]}
        awk -v s="$scenario" -v c="$c" -v h="$h" -v r="$r" -v m="$m" 'BEGIN {
            printf "| %s | %.0f ms | %.0f ms | %.0f ms | %.0f ms | %.2f× | %.2f× | %.2f× | %.2f× |\n", s, c, h, r, m, c / r, h / r, c / m, h / m }'
    done
    echo
    ssh -S "$cm" -O exit x 2>/dev/null || true
    for tool in $tools; do rm -rf "$home/bench-$tool-$port"; done
}

files=$(tar tzf "$tarball" | grep -vc '/$')
bytes=$(tar tvzf "$tarball" | awk '{ s += $3 } END { print s }')
echo "Tree: mercurial-7.2.4 sdist, $files files, $bytes bytes. Machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg) at start, $(date -u +%Y-%m-%dT%H:%MZ)."
echo
run_link "loopback sshd" "$sshd_port"
# The proxy runs until its stdin (a FIFO this script holds open) closes.
mkfifo "$work/proxy-in"
python3 "$root/Benchmarks/sync/delay-proxy.py" "$sshd_port" 10 < "$work/proxy-in" > "$work/proxy-out" &
proxy_pid=$!
exec 4> "$work/proxy-in"
for _ in $(seq 1 100); do grep -q PORT "$work/proxy-out" 2>/dev/null && break; sleep 0.1; done
proxy_port=$(awk '/PORT/ { print $2 }' "$work/proxy-out")
run_link "loopback sshd + 20 ms RTT (delay-proxy.py, 10 ms each way)" "$proxy_port"
