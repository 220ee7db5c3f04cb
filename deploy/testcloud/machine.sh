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
    if [ -f "$dir/egress.pid" ]; then
        kill "$(cat "$dir/egress.pid")" 2>/dev/null || true
        rm -f "$dir/egress.pid"
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
# The way out, as an instance's internet gateway: an HTTP proxy on the host
# side of the veth pair (egress.py), which the machine's apt, pip, curl and uv use.
python3 "$here/egress.py" "$SUBNET.1" 3128 </dev/null >"$dir/egress.log" 2>&1 &
echo $! > "$dir/egress.pid"

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
# Downloaded .deb files: the shared cache (deploy/testhost/rootfs.sh's) as the
# read-only lower layer, this machine's downloads above it, so machines never
# contend for apt's lock and an image never carries the cache.
archives=/var/cache/automation/apt-archives
if [ -d "$archives" ] && [ -d "$root/var/cache/apt/archives" ]; then
    mkdir -p "$dir/apt-upper" "$dir/apt-work"
    mount -t overlay overlay -o "lowerdir=$archives,upperdir=$dir/apt-upper,workdir=$dir/apt-work" "$root/var/cache/apt/archives"
fi
# The internet gateway (egress.py on the host side): apt, pip, and whatever
# runs in an SSH session (curl, uv) go through it. This machine's extra CA
# certificates come along, so a TLS-inspecting egress works inside as outside.
proxy="http://$SUBNET.1:3128"
printf 'Acquire::http::Proxy "%s/";\nAcquire::https::Proxy "%s/";\n' "$proxy" "$proxy" > "$root/etc/apt/apt.conf.d/01testcloud-egress"
printf '[global]\ncert = /etc/ssl/certs/ca-certificates.crt\nproxy = %s\n' "$proxy" > "$root/etc/pip.conf"
if ls /usr/local/share/ca-certificates/*.crt >/dev/null 2>&1; then
    mkdir -p "$root/usr/local/share/ca-certificates"
    cp /usr/local/share/ca-certificates/*.crt "$root/usr/local/share/ca-certificates/"
fi
# The instance's own host name, as EC2's DHCP and cloud-init give it (private UTS namespace).
name="ip-$(echo "$SUBNET" | tr . -)-2"
hostname "$name"
echo "$name" > "$root/etc/hostname"
grep -q "^127.0.0.1[[:space:]].*localhost" "$root/etc/hosts" 2>/dev/null || echo "127.0.0.1 localhost" >> "$root/etc/hosts"
grep -q "^::1[[:space:]]" "$root/etc/hosts" 2>/dev/null || echo "::1 localhost ip6-localhost ip6-loopback" >> "$root/etc/hosts"
grep -q "$name" "$root/etc/hosts" 2>/dev/null || echo "127.0.1.1 $name" >> "$root/etc/hosts"
# The metadata service runs from this machine's python, outside the chroot.
python3 "$here/imds.py" "$LAUNCH_INDEX" "$INSTANCE_ID" >"$dir/imds.log" 2>&1 &
i=0
until grep -q listening "$dir/imds.log" 2>/dev/null; do
    i=$((i + 1)); [ $i -lt 100 ] || { echo "machine: metadata service did not start" >&2; exit 1; }
    sleep 0.05
done
# Power off as on EC2 (there is no init system here): `poweroff` and
# `shutdown -h` record the request in /var/lib/testcloud/poweroff, which
# testcloud.py sees in DIR/upper and turns into StopInstances or
# TerminateInstances, as the instance's shutdown behaviour says; the machine
# then goes down the way a stopped or terminated instance's does. The shims
# come first in root's PATH and sudo's secure_path. A request left from
# before this boot (a stopped instance, a captured image) is dropped.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
rm -f "$root/var/lib/testcloud/poweroff"
mkdir -p "$root/var/lib/testcloud" "$root/usr/local/sbin"
cat > "$root/usr/local/sbin/poweroff" <<'SHIM'
#!/bin/sh
# deploy/testcloud: record the request; testcloud.py powers the instance off as EC2 would.
name=$(basename "$0")
[ "$(id -u)" = 0 ] || { echo "$name: must be superuser" >&2; exit 1; }
case " $* " in
*" -r "* | *" --reboot "* | *" -c "* | *" reboot "*) echo "$name: only power-off is simulated on the testcloud" >&2; exit 1 ;;
esac
echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) $name $*" >> /var/lib/testcloud/poweroff
SHIM
chmod 0755 "$root/usr/local/sbin/poweroff"
ln -sf poweroff "$root/usr/local/sbin/shutdown"
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
no_proxy=localhost,127.0.0.1,169.254.169.254
{
    printf 'UsePAM no\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n'
    printf 'SetEnv http_proxy=%s https_proxy=%s HTTP_PROXY=%s HTTPS_PROXY=%s no_proxy=%s NO_PROXY=%s' "$proxy" "$proxy" "$proxy" "$proxy" "$no_proxy" "$no_proxy"
    printf ' SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt PIP_CERT=/etc/ssl/certs/ca-certificates.crt\n'
} > "$root/etc/ssh/sshd_config.d/01-testcloud.conf"
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
