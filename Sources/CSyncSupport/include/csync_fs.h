#ifndef CSYNC_FS_H
#define CSYNC_FS_H

/// The mount id of `name` under `dirfd` (the directory itself when `name` is
/// empty), never following a link: 0 with `*mount_id` set, or -1 with errno
/// (ENOSYS where the kernel has no mount ids: before Linux 5.8).
int csync_mount_id(int dirfd, const char *name, unsigned long long *mount_id);

#endif
