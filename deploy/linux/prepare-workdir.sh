#!/bin/sh
# Makes /hgwork: a fresh filesystem of the caller's choice, mounted and owned
# by hg (see docs/bootstrap.md). Run as root (automation prepare-workdir runs
# it through sudo):
#
#   prepare-workdir.sh --filesystem btrfs|ext3|ext4|jfs|tmpfs|xfs|default
#       [--size SIZE] [--device auto|PATH] [--loop-file PATH]
#       [--mount-point /hgwork] [--owner hg]
#
# The device: --device PATH, or with "auto" (the default) an unused
# instance-store NVMe disk, else an unused, empty extra EBS volume, else a
# sparse loop file (--loop-file, default /var/lib/automation/hgwork.img, of
# --size, default 8G). tmpfs takes --size or half of the memory; "default"
# is a plain directory on the root filesystem.
#
# Everything is checked before anything changes: a filesystem the kernel
# cannot mount (not in /proc/filesystems and no module for it) or whose
# mkfs is missing is refused. Idempotent: a mount point that already holds
# the wanted filesystem is left as it is; one holding another is refused.
set -eu

fs=""
size=""
device=auto
loop_file=/var/lib/automation/hgwork.img
mount_point=/hgwork
owner=hg

log() { echo "prepare-workdir: $*"; }
die() { echo "prepare-workdir: error: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
    [ $# -ge 2 ] || die "$1 needs a value"
    case "$1" in
    --filesystem) fs=$2 ;;
    --size) size=$2 ;;
    --device) device=$2 ;;
    --loop-file) loop_file=$2 ;;
    --mount-point) mount_point=$2 ;;
    --owner) owner=$2 ;;
    *) die "unknown argument: $1 (see the header of this script)" ;;
    esac
    shift 2
done

[ "$(id -u)" = 0 ] || die "must run as root (sudo $0 …)"
case "$fs" in
btrfs | ext3 | ext4 | jfs | tmpfs | xfs | default) ;;
"") die "--filesystem is required: btrfs, ext3, ext4, jfs, tmpfs, xfs or default" ;;
*) die "unknown filesystem '$fs': use btrfs, ext3, ext4, jfs, tmpfs, xfs or default" ;;
esac
case "$mount_point" in
/*) ;;
*) die "--mount-point must be an absolute path, got '$mount_point'" ;;
esac
[ "$mount_point" != / ] || die "--mount-point / would hide the root filesystem"
getent passwd "$owner" >/dev/null || die "user '$owner' does not exist (run bootstrap-linux-dev first)"

# SIZE: a whole number with K, M, G or T, from 16M to 64T; printed in bytes.
to_bytes() {
    case "$1" in
    *[!0-9KMGT]* | [KMGT]* | "") return 1 ;;
    *K) n=${1%K} mult=1024 ;;
    *M) n=${1%M} mult=1048576 ;;
    *G) n=${1%G} mult=1073741824 ;;
    *T) n=${1%T} mult=1099511627776 ;;
    *) n=$1 mult=1 ;;
    esac
    case "$n" in *[!0-9]* | "") return 1 ;; esac
    [ ${#n} -le 14 ] || return 1
    bytes=$((n * mult))
    [ "$bytes" -ge 16777216 ] && [ "$bytes" -le 70368744177664 ] || return 1
    echo "$bytes"
}
if [ -n "$size" ]; then
    size_bytes=$(to_bytes "$size") || die "--size '$size' must be a whole number with K, M, G or T, between 16M and 64T"
fi

# --- already there? -----------------------------------------------------------
current=""
if mountpoint -q "$mount_point" 2>/dev/null; then
    current=$(findmnt -n -o FSTYPE --target "$mount_point" | head -n 1)
fi
finish() {
    if [ "$(stat -c %U "$mount_point")" != "$owner" ]; then
        chown "$owner:$(id -gn "$owner")" "$mount_point"
        log "$mount_point: owned by $owner"
    fi
    if [ ! -d "$mount_point/tmp" ]; then
        install -d -o "$owner" -g "$(id -gn "$owner")" "$mount_point/tmp"
        log "$mount_point/tmp: created"
    fi
    log "done: $mount_point is ${1}"
    exit 0
}
if [ "$fs" = default ]; then
    [ -z "$current" ] || die "$mount_point is a $current mount, not a directory on the root filesystem; unmount it first (umount $mount_point)"
    if [ -d "$mount_point" ]; then
        log "$mount_point: ok (a directory)"
    else
        mkdir -p "$mount_point"
        log "$mount_point: created"
    fi
    finish "a directory on the root filesystem"
fi
if [ -n "$current" ]; then
    [ "$current" = "$fs" ] || die "$mount_point is already a $current mount; unmount it first (umount $mount_point) to make a $fs one"
    log "$mount_point: ok (already $fs)"
    finish "$fs"
fi

# --- can this kernel do it? -------------------------------------------------
if ! grep -qw "$fs" /proc/filesystems; then
    command -v modprobe >/dev/null || die "this kernel cannot mount $fs: it is not in /proc/filesystems and modprobe (kmod) is not installed to load a module; choose another --filesystem"
    modprobe -n -q "$fs" 2>/dev/null || die "this kernel cannot mount $fs: it is not in /proc/filesystems and there is no module for it (modprobe -n $fs failed); choose another --filesystem"
    modprobe -q "$fs" || die "loading the $fs module failed (modprobe $fs)"
    log "kernel: loaded module $fs"
fi
if [ "$fs" != tmpfs ]; then
    command -v "mkfs.$fs" >/dev/null || die "mkfs.$fs is not installed (apt-get install $(case $fs in btrfs) echo btrfs-progs ;; xfs) echo xfsprogs ;; jfs) echo jfsutils ;; *) echo e2fsprogs ;; esac))"
fi

# --- the device -------------------------------------------------------------
# Whole disks that hold no partition, no filesystem and no mount.
unused_disk() {
    dev=$1
    [ -b "$dev" ] || return 1
    [ "$(lsblk -n -o NAME "$dev" | wc -l)" = 1 ] || return 1
    [ -z "$(lsblk -n -o MOUNTPOINT "$dev" | tr -d ' \n')" ] || return 1
    [ -z "$(blkid -p -o value -s TYPE "$dev" 2>/dev/null || true)" ] || return 1
}
pick_device() {
    for model in "Amazon EC2 NVMe Instance Storage" "Amazon Elastic Block Store"; do
        for sys in /sys/block/nvme*n*; do
            [ -e "$sys/device/model" ] || continue
            [ "$(sed 's/ *$//' "$sys/device/model")" = "$model" ] || continue
            if unused_disk "/dev/$(basename "$sys")"; then
                echo "/dev/$(basename "$sys")"
                return 0
            fi
        done
    done
    for dev in /dev/xvdf /dev/sdf /dev/xvdb /dev/sdb; do
        unused_disk "$dev" && { echo "$dev"; return 0; }
    done
    return 1
}
mount_options=""
if [ "$fs" = tmpfs ]; then
    if [ -z "$size" ]; then
        mem_kb=$(awk '/^MemTotal:/ { print $2 }' /proc/meminfo)
        size_bytes=$((mem_kb * 1024 / 2))
    fi
    source=tmpfs
elif [ "$device" != auto ]; then
    [ -b "$device" ] || die "--device $device is not a block device"
    unused_disk "$device" || die "--device $device has partitions, a filesystem or a mount; give an empty disk"
    source=$device
elif source=$(pick_device); then
    log "device: $source (unused disk)"
else
    [ -n "$size" ] || size_bytes=8589934592
    dir=$(dirname "$loop_file")
    mkdir -p "$dir"
    avail=$(($(df -P -k "$dir" | awk 'NR == 2 { print $4 }') * 1024))
    if [ -f "$loop_file" ]; then
        avail=$((avail + $(stat -c %s "$loop_file")))
    fi
    [ "$avail" -ge "$size_bytes" ] || die "no spare disk and $dir has $((avail / 1048576)) MiB free, less than the $((size_bytes / 1048576)) MiB loop file; pass a smaller --size or --loop-file elsewhere"
    rm -f "$loop_file"
    truncate -s "$size_bytes" "$loop_file"
    source=$loop_file
    mount_options="-o loop"
    log "device: loop file $loop_file ($((size_bytes / 1048576)) MiB, sparse)"
fi

# --- make and mount ---------------------------------------------------------
mkdir -p "$mount_point"
case "$fs" in
tmpfs)
    mount -t tmpfs -o "size=$size_bytes,mode=0755" tmpfs "$mount_point"
    log "mounted tmpfs of $((size_bytes / 1048576)) MiB on $mount_point"
    ;;
*)
    case "$fs" in
    ext3 | ext4) "mkfs.$fs" -F -q -E lazy_itable_init=1,lazy_journal_init=1 "$source" ;;
    xfs | btrfs) "mkfs.$fs" -f -q "$source" >/dev/null ;;
    jfs) "mkfs.$fs" -q "$source" ;;
    esac
    log "made $fs on $source"
    # shellcheck disable=SC2086 # empty or "-o loop"
    mount -t "$fs" $mount_options "$source" "$mount_point"
    log "mounted $source on $mount_point"
    ;;
esac
finish "$fs"
