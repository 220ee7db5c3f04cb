#!/bin/sh
# "A stock machine" for bootstrap tests: a fresh Debian 12 (rootfs.sh)
# under a private overlay, with its own sshd chrooted into it, in private
# mount and PID namespaces. Everything the machine does (the bootstrap's
# apt-get, useradd, mkfs and mount) lands in the overlay's upper layer or
# its own mount namespace, so the cached root file system stays fresh and
# nothing outlives `down`: ending the namespace's first process ends every
# process in it and drops every mount.
#
#   stockhost.sh up DIR    -> prints "address=127.0.0.1 port=N pid=P user=admin"
#   stockhost.sh down DIR  -> ends the namespace (by pid) and removes DIR
#
# DIR holds the overlay's upper and work layers, the host keys and the
# client key (id_ed25519) of the machine's one user, "admin" (passwordless
# sudo, as on cloud images). sshd listens on a random loopback port of this
# machine's network, because the bootstrap needs Debian's package registry
# and PyPI and a namespace host has no route out. apt's downloads go to
# <cache>/apt-archives (rootfs.sh), bind-mounted as the machine's
# /var/cache/apt/archives, so they are fetched once per machine.
set -eu
cmd=${1:?usage: stockhost.sh up|down DIR}
dir=${2:?usage: stockhost.sh up|down DIR}
here=$(cd "$(dirname "$0")" && pwd)
cache=${AUTOMATION_ROOTFS_CACHE:-/var/cache/automation}

stop_machine() {
    if [ -f "$dir/pid" ]; then
        pid=$(cat "$dir/pid")
        # unshare --kill-child: its death SIGKILLs the namespace's init, and
        # with it every process of the machine and every mount. unshare
        # ignores SIGTERM while it waits, hence SIGKILL.
        kill -9 "$pid" 2>/dev/null || true
        i=0
        while kill -0 "$pid" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
        rm -f "$dir/pid"
    fi
}
down() {
    stop_machine
    rm -rf "$dir"
}

case "$cmd" in
down)
    down
    exit 0
    ;;
up) ;;
*)
    echo "usage: stockhost.sh up|down DIR" >&2
    exit 2
    ;;
esac

[ "$(id -u)" = 0 ] || { echo "stockhost.sh: must run as root" >&2; exit 1; }
command -v unshare >/dev/null || { echo "stockhost.sh: unshare not found; apt-get install util-linux" >&2; exit 1; }
grep -qw overlay /proc/filesystems || modprobe overlay 2>/dev/null \
    || { echo "stockhost.sh: the kernel has no overlay filesystem" >&2; exit 1; }
lower=$("$here/rootfs.sh" ensure)

mkdir -p "$dir/upper" "$dir/work" "$dir/root" "$cache/apt-archives/partial"
# apt in the machine downloads as its _apt user.
apt_uid=$(awk -F: '$1 == "_apt" { print $3 }' "$lower/etc/passwd")
[ -n "$apt_uid" ] && chown "$apt_uid" "$cache/apt-archives/partial"

[ -f "$dir/ssh_host_ed25519_key" ] || ssh-keygen -q -t ed25519 -N '' -C stockhost -f "$dir/ssh_host_ed25519_key"
[ -f "$dir/id_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C stockhost-client -f "$dir/id_ed25519"
write_config() {
cat > "$dir/sshd_config" <<CONFIG
Port $port
ListenAddress 127.0.0.1
HostKey /etc/ssh/ssh_host_ed25519_key
PidFile none
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
PermitRootLogin no
AllowTcpForwarding yes
X11Forwarding no
PrintMotd no
UseDNS no
MaxSessions 100
MaxStartups 100:30:200
LogLevel INFO
# What this machine's own sessions get: tools that bring their own CA list
# (uv) then trust a TLS-inspecting proxy's CA too.
SetEnv SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt PIP_CERT=/etc/ssl/certs/ca-certificates.crt
Subsystem sftp internal-sftp
CONFIG
}

# Runs inside the new namespaces: builds the machine's tree, then becomes its sshd.
cat > "$dir/init.sh" <<'INIT'
set -eu
lower=$1 dir=$2 cache=$3
root=$dir/root
mount -t overlay overlay -o "lowerdir=$lower,upperdir=$dir/upper,workdir=$dir/work" "$root"
mount -t proc proc "$root/proc"
mount --rbind /dev "$root/dev"
mount -t sysfs sysfs "$root/sys"
mount -t tmpfs -o mode=0755 tmpfs "$root/run"
mount --bind "$cache/apt-archives" "$root/var/cache/apt/archives"
mkdir -p "$root/run/sshd"
cp "$dir/sshd_config" "$root/etc/ssh/sshd_config.stockhost"
cp "$dir/ssh_host_ed25519_key" "$dir/ssh_host_ed25519_key.pub" "$root/etc/ssh/"
chmod 600 "$root/etc/ssh/ssh_host_ed25519_key"
# A machine behind this one's egress trusts the same extra CAs: installed the
# usual way, so the bootstrap's ca-certificates package picks them up, and
# pip is told to use the system store (as this machine's pip is).
if ls /usr/local/share/ca-certificates/*.crt >/dev/null 2>&1; then
    mkdir -p "$root/usr/local/share/ca-certificates"
    cp /usr/local/share/ca-certificates/*.crt "$root/usr/local/share/ca-certificates/"
fi
printf '[global]\ncert = /etc/ssl/certs/ca-certificates.crt\n' > "$root/etc/pip.conf"
hostname stockhost
echo stockhost > "$root/etc/hostname"
# debootstrap writes no /etc/hosts; a stock machine resolves localhost.
grep -qw localhost "$root/etc/hosts" 2>/dev/null || printf '127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n' >> "$root/etc/hosts"
grep -qw stockhost "$root/etc/hosts" || echo "127.0.1.1 stockhost" >> "$root/etc/hosts"
if ! chroot "$root" getent passwd admin >/dev/null; then
    chroot "$root" useradd -m -s /bin/bash -G sudo admin
    chroot "$root" usermod -p '*' admin
fi
echo "admin ALL=(ALL) NOPASSWD:ALL" > "$root/etc/sudoers.d/90-admin"
chmod 0440 "$root/etc/sudoers.d/90-admin"
install -d -m 0700 "$root/home/admin/.ssh"
cp "$dir/id_ed25519.pub" "$root/home/admin/.ssh/authorized_keys"
chroot "$root" chown -R admin:admin /home/admin/.ssh
exec chroot "$root" /usr/sbin/sshd -D -e -f /etc/ssh/sshd_config.stockhost
INIT

# The machine keeps only descriptors 0-2: a parent that watches a descriptor
# it passed down (Foundation's Process does) would otherwise wait for the
# machine to end instead of for this script.
closefds() {
    exec python3 -c 'import os, sys; os.closerange(3, os.sysconf("SC_OPEN_MAX")); os.execvp(sys.argv[1], sys.argv[1:])' "$@"
}
command -v python3 >/dev/null || { echo "stockhost.sh: python3 not found; apt-get install python3" >&2; exit 1; }
attempt=0
while :; do
    attempt=$((attempt + 1))
    # Below the kernel's ephemeral range (32768-60999), where outgoing connections live.
    port=$((20000 + $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 12000))
    write_config
    : > "$dir/sshd.log"
    closefds unshare --mount --uts --propagation private --pid --fork --kill-child \
        sh "$dir/init.sh" "$lower" "$dir" "$cache" </dev/null >/dev/null 2>"$dir/sshd.log" &
    echo $! > "$dir/pid"
    i=0
    while [ $i -lt 300 ]; do
        if grep -q "Server listening on" "$dir/sshd.log"; then
            echo "address=127.0.0.1 port=$port pid=$(cat "$dir/pid") user=admin"
            exit 0
        fi
        kill -0 "$(cat "$dir/pid")" 2>/dev/null || break
        sleep 0.1
        i=$((i + 1))
    done
    stop_machine
    grep -q "Address already in use" "$dir/sshd.log" && [ $attempt -lt 5 ] && continue
    echo "stockhost.sh: the machine's sshd did not start; log:" >&2
    cat "$dir/sshd.log" >&2
    down
    exit 1
done
