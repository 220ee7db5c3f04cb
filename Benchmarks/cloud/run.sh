#!/bin/sh
# Cloud benchmark (issue 11): `run-tests --target aws:N` on the simulated cloud
# (deploy/testcloud: moto + one network-namespace machine per instance) with
# the sample suite. Prints, as Markdown tables for docs/benchmarks.md ("Cloud
# runs"):
#   1. per-phase wall time (medians of REPS runs) and AWS calls for N = 1, 2, 4,
#      from the phases.json each run writes into its run directory;
#   2. makespan of 4 hosts x 1 slot against 1 host x 4 slots on the same suite,
#      with the lower bound each run prints.
# The very first run (empty account: key pair, security group, IAM) is
# reported on its own line; every other run finds the account state recorded.
#
#   Benchmarks/cloud/run.sh [REPS [AUTOMATION_BIN [AGENT_BIN]]]
#
# Defaults: 3 repetitions, .build/debug/automation, the static agent from
# deploy/build-agent.sh. Needs root (network namespaces), iproute2,
# util-linux, python3 with moto[server], and the cached Debian root file
# system (deploy/testhost/rootfs.sh makes it on first use). Leaves nothing
# behind: deploy/testcloud/down runs however the script ends.
set -eu
cd "$(dirname "$0")/../.."
root=$(pwd)
reps=${1:-3}
automation=${2:-$root/.build/debug/automation}
agent=${3:-}
[ -n "$agent" ] || agent=$(deploy/build-agent.sh | tail -n 1)
export AUTOMATION_AGENT_BINARY="$agent"
[ "$(id -u)" = 0 ] || { echo "cloud benchmark: must run as root (deploy/testcloud)" >&2; exit 1; }

work=$(mktemp -d /tmp/automation-cloud-bench.XXXXXX)
cloud="$work/cloud"
cleanup() {
    "$root/deploy/testcloud/down" "$cloud" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
exports=$("$root/deploy/testcloud/up" "$cloud")
eval "$exports"
export AUTOMATION_STATE="$work/state"
results="$work/results.tsv"
: > "$results"

# The cloud removes a terminated instance's machine a few seconds after the run
# has ended (its daemon works one machine at a time), and boots the next run's
# machines only after that: each run starts from an idle cloud, so that one
# run's teardown is not measured as the next one's boot.
idle() {
    i=0
    while [ -n "$(ls "$cloud/machines" 2>/dev/null)" ]; do
        [ $i -lt 1200 ] || { echo "cloud benchmark: machines still up after 120 s: $(ls "$cloud/machines")" >&2; exit 1; }
        sleep 0.1
        i=$((i + 1))
    done
}

# run LABEL ARGS...: one run-tests; appends LABEL<TAB>phases.json<TAB>makespan<TAB>lower bound<TAB>exit.
run() {
    label=$1
    shift
    idle
    status=0
    "$automation" run-tests --runner command --list-command examples/sample-suite/list-tests \
        --test-command 'examples/sample-suite/run-test {test}' "$@" > "$work/out" 2> "$work/err" || status=$?
    dir=$(sed -n 's/^reports: \(.*\) (junit.xml.*/\1/p' "$work/out")
    span=$(sed -n 's/^makespan \([0-9.]*\)s, lower bound \([0-9.]*\)s$/\1\t\2/p' "$work/out")
    if [ -z "$dir" ] || [ ! -f "$dir/phases.json" ]; then
        echo "cloud benchmark: $label: no phases.json (exit $status):" >&2
        cat "$work/err" >&2
        exit 1
    fi
    printf '%s\t%s\t%s\t%s\n' "$label" "$dir/phases.json" "${span:-	}" "$status" >> "$results"
    printf '%s: exit %s, %s\n' "$label" "$status" "$(grep 'automation: phases:' "$work/err" | sed 's/^automation: //')" >&2
}

load() { cut -d' ' -f1-3 /proc/loadavg; }
echo "start $(date -u '+%Y-%m-%d %H:%M UTC'), load average $(load)" >&2

# The first run creates the account state and records the suite's durations.
run "empty account" --target aws:1:t3.micro
for i in $(seq "$reps"); do
    for n in 1 2 4; do run "aws:$n" --target "aws:$n:t3.micro"; done
done
for i in $(seq "$reps"); do
    run "4 hosts x 1 slot" --target aws:4:t3.micro --jobs 1
    run "1 host x 4 slots" --target aws:1:t3.micro --jobs 4
done
idle
echo "end $(date -u '+%Y-%m-%d %H:%M UTC'), load average $(load)" >&2

python3 - "$results" <<'EOF'
import json, statistics, sys

rows = [line.rstrip("\n").split("\t") for line in open(sys.argv[1])]
runs = {}
for label, path, makespan, bound, status in rows:
    data = json.load(open(path))
    runs.setdefault(label, []).append((data, float(makespan or "nan"), float(bound or "nan"), status))

order = ["image", "launch", "connect", "deploy", "prepare", "sync", "build", "list", "run", "collect", "teardown"]
def phase(data, name):
    for p in data["phases"]:
        if p["name"] == name:
            return p["seconds"]
    return None

def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None

def fmt(value):
    return "absent" if value is None else f"{value:.2f}"

labels = ["empty account", "aws:1", "aws:2", "aws:4"]
print("| run | runs | " + " | ".join(order) + " | total s | AWS calls | exits |")
print("|---|---|" + "---|" * len(order) + "---|---|---|")
for label in labels:
    group = runs.get(label, [])
    if not group:
        continue
    cells = [fmt(med([phase(d, name) for d, *_ in group])) for name in order]
    total = med([d["total"] for d, *_ in group])
    calls = sorted({d["awsCallsTotal"] for d, *_ in group})
    exits = ",".join(sorted({s for *_, s in group}))
    print(f"| {label} | {len(group)} | " + " | ".join(cells) + f" | {total:.2f} | {'/'.join(map(str, calls))} | {exits} |")

print()
print("| run | AWS calls by operation (first run of the kind) |")
print("|---|---|")
for label in labels:
    group = runs.get(label, [])
    if group:
        calls = group[0][0]["awsCalls"]
        detail = ", ".join(f"{k} {v}" for k, v in sorted(calls.items(), key=lambda kv: (-kv[1], kv[0])))
        print(f"| {label} | {group[0][0]['awsCallsTotal']}: {detail} |")

print()
print("| layout | runs | makespan s (median) | makespans | lower bound s | makespan / LB | run phase s | total s |")
print("|---|---|---|---|---|---|---|---|")
medians = {}
for label in ["4 hosts x 1 slot", "1 host x 4 slots"]:
    group = runs.get(label, [])
    if not group:
        continue
    spans = [m for _, m, _, _ in group]
    medians[label] = med(spans)
    bound = med([b for _, _, b, _ in group])
    print(f"| {label} | {len(group)} | {medians[label]:.2f} | {', '.join(f'{m:.2f}' for m in spans)} | {bound:.2f} | "
          f"{medians[label] / bound:.3f} | {med([phase(d, 'run') for d, *_ in group]):.2f} | {med([d['total'] for d, *_ in group]):.2f} |")
if len(medians) == 2:
    print()
    print(f"makespan ratio, 4 hosts x 1 slot / 1 host x 4 slots: {medians['4 hosts x 1 slot'] / medians['1 host x 4 slots']:.3f}")
EOF
