#!/bin/sh
# One simulated EC2 instance of deploy/testcloud: a network namespace reached
# over a veth pair, and inside it private mount and PID namespaces holding an
# overlay of the instance's image over the cached fresh Debian 12 root file
# system (deploy/testhost/rootfs.sh). It boots as a cloud image would: its
# user data's boothook runs (with an instance metadata service on
# 169.254.169.254 that answers its launch index), the key pair's public key
# is authorised for the distribution's login user, then sshd starts.
#
#   machine.sh up DIR   -> starts the machine described by DIR/spec; prints "address=A"
#   machine.sh down DIR -> ends it by pid and deletes its namespace; DIR/upper stays
#                          (a stopped instance keeps its disk; the caller removes DIR)
#
# DIR/spec (shell assignments, written by testcloud.py):
#   NETNS HOST_IF NS_IF SUBNET (a.b.c: host .1, machine .2) LOWER (overlay
#   lowerdir list) LOGIN (user) INSTANCE_ID LAUNCH_INDEX
# DIR/user-data is the instance's user data; DIR/authorized_keys the key pair's.
set -eu
cmd=${1:?usage: machine.sh up|down DIR}
dir=${2:?usage: machine.sh up|down DIR}
here=$(cd "$(dirname "$0")" && pwd)

# shellcheck disable=SC1091
. "$dir/spec"

down() {
    if [ -f "$dir/pid" ]; then
        pid=$(cat "$dir/pid")
        # Power off: unshare ignores SIGTERM while it waits for its child, and
        # --kill-child turns its death into SIGKILL for the machine's init,
        # which ends every process of the PID namespace and drops its mounts.
        kill -9 "$pid" 2>/dev/null || true
        i=0
        while kill -0 "$pid" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
        rm -f "$dir/pid"
    fi
    ip netns del "$NETNS" 2>/dev/null || true
    ip link del "$HOST_IF" 2>/dev/null || true
}

case "$cmd" in
down)
    down
    exit 0
    ;;
up) ;;
*)
    echo "usage: machine.sh up|down DIR" >&2
    exit 2
    ;;
esac

mkdir -p "$dir/upper" "$dir/work" "$dir/root"
ip netns add "$NETNS"
ip link add "$HOST_IF" type veth peer name "$NS_IF"
ip link set "$NS_IF" netns "$NETNS"
ip addr add "$SUBNET.1/24" dev "$HOST_IF"
ip link set "$HOST_IF" up
ip -n "$NETNS" addr add "$SUBNET.2/24" dev "$NS_IF"
ip -n "$NETNS" link set "$NS_IF" up
ip -n "$NETNS" link set lo up
# The instance metadata service's address, as on EC2.
ip -n "$NETNS" addr add 169.254.169.254/32 dev lo

# Runs inside the machine's namespaces: builds its tree, boots it, becomes its sshd.
cat > "$dir/init.sh" <<'INIT'
set -eu
dir=$1 here=$2
. "$dir/spec"
root=$dir/root
mount -t overlay overlay -o "lowerdir=$LOWER,upperdir=$dir/upper,workdir=$dir/work" "$root"
mount -t proc proc "$root/proc"
mount --rbind /dev "$root/dev"
mount -t sysfs sysfs "$root/sys"
mount -t tmpfs -o mode=0755 tmpfs "$root/run"
mkdir -p "$root/run/sshd"
# The instance's own host name, as EC2's DHCP and cloud-init give it (private UTS namespace).
name="ip-$(echo "$SUBNET" | tr . -)-2"
hostname "$name"
echo "$name" > "$root/etc/hostname"
grep -q "$name" "$root/etc/hosts" 2>/dev/null || echo "127.0.1.1 $name" >> "$root/etc/hosts"
# The metadata service runs from this machine's python, outside the chroot.
python3 "$here/imds.py" "$LAUNCH_INDEX" "$INSTANCE_ID" >"$dir/imds.log" 2>&1 &
i=0
until grep -q listening "$dir/imds.log" 2>/dev/null; do
    i=$((i + 1)); [ $i -lt 100 ] || { echo "machine: metadata service did not start" >&2; exit 1; }
    sleep 0.05
done
# The image's login user, as cloud-init makes it: passwordless sudo, the key pair authorised.
if ! chroot "$root" getent passwd "$LOGIN" >/dev/null; then
    chroot "$root" useradd -m -s /bin/bash "$LOGIN"
    chroot "$root" usermod -p '*' "$LOGIN"
fi
echo "$LOGIN ALL=(ALL) NOPASSWD:ALL" > "$root/etc/sudoers.d/90-cloud-init-users"
chmod 0440 "$root/etc/sudoers.d/90-cloud-init-users"
home=$(chroot "$root" getent passwd "$LOGIN" | cut -d: -f6)
install -d -m 0700 "$root$home/.ssh"
cp "$dir/authorized_keys" "$root$home/.ssh/authorized_keys"
chroot "$root" chown -R "$LOGIN:" "$home/.ssh"
# sshd without PAM or systemd; everything else stays the image's own config.
mkdir -p "$root/etc/ssh/sshd_config.d"
printf 'UsePAM no\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n' > "$root/etc/ssh/sshd_config.d/01-testcloud.conf"
# cloud-init: the user data's boothooks run before sshd first starts.
python3 "$here/userdata.py" boothooks "$dir/user-data" "$root/var/lib/testcloud"
for hook in "$root"/var/lib/testcloud/boothook-*; do
    [ -e "$hook" ] || continue
    chroot "$root" /bin/sh "/var/lib/testcloud/$(basename "$hook")"
done
exec chroot "$root" /usr/sbin/sshd -D -e
INIT

: > "$dir/boot.log"
ip netns exec "$NETNS" unshare --mount --uts --propagation private --pid --fork --kill-child \
    sh "$dir/init.sh" "$dir" "$here" </dev/null >/dev/null 2>"$dir/boot.log" &
echo $! > "$dir/pid"
i=0
while [ $i -lt 300 ]; do
    if grep -q "Server listening on" "$dir/boot.log"; then
        echo "address=$SUBNET.2"
        exit 0
    fi
    kill -0 "$(cat "$dir/pid")" 2>/dev/null || break
    sleep 0.1
    i=$((i + 1))
done
echo "machine.sh: $INSTANCE_ID did not boot; its log:" >&2
cat "$dir/boot.log" >&2
down
exit 1
