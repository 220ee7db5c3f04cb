// File-system queries Swift's Glibc module does not offer (statx).
#define _GNU_SOURCE
#include "csync_fs.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>

int csync_mount_id(int dirfd, const char *name, unsigned long long *mount_id) {
#ifdef STATX_MNT_ID
    struct statx stx;
    int flags = AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | (name[0] == '\0' ? AT_EMPTY_PATH : 0);
    if (statx(dirfd, name, flags, STATX_MNT_ID, &stx) != 0) return -1;
    if (!(stx.stx_mask & STATX_MNT_ID)) { errno = ENOSYS; return -1; }
    *mount_id = stx.stx_mnt_id;
    return 0;
#else
    (void)dirfd; (void)name; (void)mount_id;
    errno = ENOSYS;
    return -1;
#endif
}
