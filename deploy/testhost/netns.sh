#!/bin/sh
# Multi-host fixture: each "host" is a network namespace joined to the root
# namespace by a veth pair, with its own private sshd (sshd.sh) inside.
#
#   netns.sh up NAME INDEX DIR   -> namespace NAME, host side 10.77.INDEX.1/24,
#                                   namespace side 10.77.INDEX.2/24, sshd on
#                                   10.77.INDEX.2; prints "address=… port=… pid=…"
#   netns.sh down NAME DIR       -> stops that sshd by pid, deletes the namespace
#                                   (which removes the veth pair)
#
# Needs root and iproute2. NAME should be short (interface names are <= 15 bytes).
set -eu
cmd=${1:?usage: netns.sh up NAME INDEX DIR | down NAME DIR}
name=${2:?missing NAME}
here=$(cd "$(dirname "$0")" && pwd)

case "$cmd" in
up)
    index=${3:?missing INDEX}
    dir=${4:?missing DIR}
    command -v ip >/dev/null || { echo "netns.sh: ip not found; apt-get install iproute2" >&2; exit 1; }
    ip netns add "$name"
    ip link add "vh-$name" type veth peer name "vn-$name"
    ip link set "vn-$name" netns "$name"
    ip addr add "10.77.$index.1/24" dev "vh-$name"
    ip link set "vh-$name" up
    ip -n "$name" addr add "10.77.$index.2/24" dev "vn-$name"
    ip -n "$name" link set "vn-$name" up
    ip -n "$name" link set lo up
    out=$(ip netns exec "$name" "$here/sshd.sh" start "$dir" "${LOGLEVEL:-DEBUG1}" "10.77.$index.2")
    echo "address=10.77.$index.2 $out"
    ;;
down)
    dir=${3:?missing DIR}
    "$here/sshd.sh" stop "$dir" || true
    ip netns del "$name" 2>/dev/null || true
    ip link del "vh-$name" 2>/dev/null || true
    ;;
*)
    echo "usage: netns.sh up NAME INDEX DIR | down NAME DIR" >&2
    exit 2
    ;;
esac
