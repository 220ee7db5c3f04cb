#!/bin/sh
# SSH benchmarks, all against one private loopback sshd (deploy/testhost/sshd.sh):
#   - automation ssh-bench: first deploy, cached redeploy, ping and exec through
#     the agent tunnel, a libssh2 exec channel on the held session, SFTP upload;
#   - OpenSSH baselines with hyperfine: `ssh host true` on a fresh connection
#     and through a reused ControlMaster, and scp of the same 100 MiB file.
#
#   Benchmarks/ssh/run.sh [AUTOMATION_BIN [AGENT_BIN]]
#
# Defaults: release builds from .build-bench (built if missing) and the static
# agent from deploy/build-agent.sh. Needs root, openssh-server, hyperfine.
set -eu
cd "$(dirname "$0")/../.."
root=$(pwd)
automation=${1:-}
agent=${2:-}
if [ -z "$automation" ]; then
    swift build -c release --scratch-path .build-bench --product automation >&2
    automation="$(swift build -c release --scratch-path .build-bench --show-bin-path)/automation"
fi
if [ -z "$agent" ]; then
    agent=$(deploy/build-agent.sh | tail -n 1)
fi

work=$(mktemp -d)
# sshd reads authorized_keys as the test user, who must reach it.
chmod 755 "$work"
fixture="$work/sshd"
cleanup() {
    "$root/deploy/testhost/sshd.sh" stop "$fixture" || true
    [ -S "$work/cm" ] && ssh -S "$work/cm" -O exit x 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT INT TERM
# INFO, not DEBUG: both sides pay the same logging cost, and it is small.
"$root/deploy/testhost/sshd.sh" start "$fixture" INFO >&2
port=$(cat "$fixture/port")
user=$(cat "$fixture/user")
key="$fixture/id_ed25519"
fingerprint=$(ssh-keygen -l -E sha256 -f "$fixture/ssh_host_ed25519_key.pub" | cut -d' ' -f2)
target="ssh://$user@127.0.0.1:$port"
state="$work/state"

echo "## automation (libssh2, agent tunnel)"
echo
echo "| measurement | result |"
echo "|---|---|"
"$automation" ssh-bench --target "$target" --identity "$key" --host-key "$fingerprint" \
    --state-path "$state" --agent-binary "$agent" --agent-idle-timeout 60 --count 2000 > "$work/ours.tsv"
awk -F '\t' '{ printf "| %s | %s |\n", $1, $2 }' "$work/ours.tsv"
echo

common="-F /dev/null -i $key -o UserKnownHostsFile=$fixture/known_hosts -o StrictHostKeyChecking=no -o BatchMode=yes -o LogLevel=ERROR"
sshopts="$common -p $port"
# Record the host key once so that the timed runs do not write it.
ssh $sshopts "$user@127.0.0.1" true
ssh $sshopts -o ControlMaster=yes -o ControlPath="$work/cm" -o ControlPersist=120 -N -f "$user@127.0.0.1"

echo "## OpenSSH baselines (hyperfine)"
echo
hyperfine -N --warmup 5 --runs 100 --export-json "$work/h1.json" \
    -n "ssh host true (fresh connection)" "ssh $sshopts $user@127.0.0.1 true" >&2
hyperfine -N --warmup 20 --runs 500 --export-json "$work/h2.json" \
    -n "ssh host true (ControlMaster reused)" "ssh $sshopts -o ControlMaster=auto -o ControlPath=$work/cm $user@127.0.0.1 true" >&2
head -c 104857600 /dev/urandom > "$work/100m"
hyperfine -N --warmup 1 --runs 5 --export-json "$work/h3.json" \
    -n "scp 100 MiB" "scp $common -P $port -q $work/100m $user@127.0.0.1:scp-bench" >&2
python3 - "$work" <<'PY'
import json, re, sys
work = sys.argv[1]
ours = dict(line.rstrip("\n").split("\t", 1) for line in open(f"{work}/ours.tsv"))
def median_ms(name):
    r = json.load(open(f"{work}/{name}.json"))["results"][0]
    return r["median"] * 1000, r["command"]
fresh, _ = median_ms("h1")
master, _ = median_ms("h2")
scp_s = median_ms("h3")[0] / 1000
exec_p50 = float(re.match(r"([\d.]+) ms", ours["exec /bin/true through the agent, p50 / p99"]).group(1))
sftp = float(re.search(r"([\d.]+) MB/s", [v for k, v in ours.items() if k.startswith("SFTP upload")][0]).group(1))
scp_mbs = 100 * 1.048576 / scp_s
print("| OpenSSH baseline (median) | result |")
print("|---|---|")
print(f"| ssh host true, fresh connection | {fresh:.1f} ms |")
print(f"| ssh host true, ControlMaster reused | {master:.2f} ms |")
print(f"| scp 100 MiB | {scp_s:.2f} s, {scp_mbs:.0f} MB/s |")
print()
print("| ratio | result | target |")
print("|---|---|---|")
print(f"| exec true via agent vs reused master | {master / exec_p50:.1f}x faster | >= 8x |")
print(f"| exec true via agent vs fresh ssh | {fresh / exec_p50:.0f}x faster | >= 150x |")
print(f"| SFTP upload vs scp | {sftp / scp_mbs:.2f}x | >= 0.9x |")
PY
ssh $sshopts "$user@127.0.0.1" rm -f scp-bench
