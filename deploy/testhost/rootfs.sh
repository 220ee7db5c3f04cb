#!/bin/sh
# A cached, fresh Debian root file system (12 by default;
# AUTOMATION_ROOTFS_SUITE=bullseye for Debian 11): "a stock machine" for tests of
# the bootstrap (deploy/linux/). Made once with debootstrap from Debian's
# package registry and kept; later calls print its path at once.
#
#   rootfs.sh ensure   -> prints the path of the cached root file system
#   rootfs.sh path     -> prints where it is (or would be), builds nothing
#
# Cache: $AUTOMATION_ROOTFS_CACHE (default /var/cache/automation). The
# downloaded .deb files are kept in <cache>/apt-archives, which the stock
# host fixture (stockhost.sh) also bind-mounts as the machine's
# /var/cache/apt/archives, so the bootstrap's own apt-get downloads once per
# machine too. Needs root and debootstrap.
set -eu
cmd=${1:?usage: rootfs.sh ensure|path}
cache=${AUTOMATION_ROOTFS_CACHE:-/var/cache/automation}
mirror=${AUTOMATION_DEBIAN_MIRROR:-http://deb.debian.org/debian}
# The name changes whenever what goes in changes, so an old cache is never used.
suite=${AUTOMATION_ROOTFS_SUITE:-bookworm}
case "$suite" in
bookworm) release=debian12 ;;
bullseye) release=debian11 ;;
*) echo "rootfs.sh: AUTOMATION_ROOTFS_SUITE must be bookworm or bullseye" >&2; exit 2 ;;
esac
# curl: cloud images have it, and the EC2 user data boothook (deploy/testcloud) fetches its launch index with it.
include=openssh-server,sudo,python3,curl
name="$release-minbase-$(printf '%s %s' "$include" v1 | sha256sum | cut -c1-12)"
root="$cache/rootfs/$name"

case "$cmd" in
path)
    echo "$root"
    exit 0
    ;;
ensure) ;;
*)
    echo "usage: rootfs.sh ensure|path" >&2
    exit 2
    ;;
esac

if [ -f "$root/.complete" ]; then
    echo "$root"
    exit 0
fi
[ "$(id -u)" = 0 ] || { echo "rootfs.sh: must run as root (debootstrap)" >&2; exit 1; }
command -v debootstrap >/dev/null || { echo "rootfs.sh: debootstrap not found; apt-get install debootstrap" >&2; exit 1; }
command -v flock >/dev/null || { echo "rootfs.sh: flock not found; apt-get install util-linux" >&2; exit 1; }

mkdir -p "$cache/rootfs" "$cache/apt-archives/partial"
# Concurrent test runs wait for one build instead of racing.
exec 9>"$cache/rootfs/.lock"
flock -w 1800 9 || { echo "rootfs.sh: timed out waiting for another build of $root" >&2; exit 1; }
if [ -f "$root/.complete" ]; then
    echo "$root"
    exit 0
fi
tmp="$root.tmp.$$"
rm -rf "$tmp"
echo "rootfs.sh: debootstrap $suite into $root (once per machine)" >&2
if ! debootstrap --variant=minbase --include="$include" --cache-dir="$cache/apt-archives" \
    "$suite" "$tmp" "$mirror" >"$cache/rootfs/debootstrap-$suite.log" 2>&1; then
    echo "rootfs.sh: debootstrap failed; last lines of $cache/rootfs/debootstrap-$suite.log:" >&2
    tail -n 20 "$cache/rootfs/debootstrap-$suite.log" >&2
    rm -rf "$tmp"
    exit 1
fi
# A stock machine has no host keys of its own here: the fixture brings them.
rm -f "$tmp"/etc/ssh/ssh_host_*
touch "$tmp/.complete"
rm -rf "$root"
mv "$tmp" "$root"
echo "$root"
