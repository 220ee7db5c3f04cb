#define _GNU_SOURCE
#include "CAgentSupport.h"
#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

int cagent_spawn_file_actions_addchdir(posix_spawn_file_actions_t *actions, const char *path) {
    return posix_spawn_file_actions_addchdir_np(actions, path);
}

int cagent_spawn_file_actions_addclosefrom(posix_spawn_file_actions_t *actions, int lowfd) {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
    return posix_spawn_file_actions_addclosefrom_np(actions, lowfd);
#else
    (void)actions; (void)lowfd;
    return ENOSYS;
#endif
}

int cagent_pipe2_cloexec(int fds[2]) {
    return pipe2(fds, O_CLOEXEC);
}

int cagent_accept_cloexec(int fd) {
    return accept4(fd, NULL, NULL, SOCK_CLOEXEC);
}

int cagent_socket_cloexec(int domain, int type, int protocol) {
    return socket(domain, type | SOCK_CLOEXEC, protocol);
}

#include <sys/stat.h>

int cagent_mount_id(int dirfd, const char *name, unsigned long long *mount_id) {
    struct statx stx;
    int flags = AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | (name[0] == '\0' ? AT_EMPTY_PATH : 0);
    if (statx(dirfd, name, flags, STATX_MNT_ID, &stx) != 0) return -1;
    if (!(stx.stx_mask & STATX_MNT_ID)) { errno = ENOSYS; return -1; }
    *mount_id = stx.stx_mnt_id;
    return 0;
}

#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>

int cagent_keeper_main(int fd) {
    // Signals aimed at the agent's group or terminal are for the agent: the
    // keeper outlives it to clean up after it.
    signal(SIGINT, SIG_IGN);
    signal(SIGTERM, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    signal(SIGQUIT, SIG_IGN);
    signal(SIGPIPE, SIG_IGN);
    prctl(PR_SET_NAME, "agent-keeper", 0, 0, 0);
    int32_t *groups = NULL;
    size_t count = 0, capacity = 0;
    unsigned char buffer[4096];
    size_t have = 0;
    for (;;) {
        ssize_t n = read(fd, buffer + have, sizeof buffer - have);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        have += (size_t)n;
        size_t used = 0;
        while (have - used >= 4) {
            int32_t value;
            memcpy(&value, buffer + used, 4);
            used += 4;
            if (value > 0) {
                if (count == capacity) {
                    size_t wanted = capacity ? capacity * 2 : 256;
                    int32_t *grown = realloc(groups, wanted * sizeof *groups);
                    if (!grown) continue; // that group goes unguarded rather than the keeper dying
                    groups = grown;
                    capacity = wanted;
                }
                groups[count++] = value;
            } else if (value < 0) {
                for (size_t i = 0; i < count; i++) {
                    if (groups[i] == -value) {
                        groups[i] = groups[--count];
                        break;
                    }
                }
            }
        }
        memmove(buffer, buffer + used, have - used);
        have -= used;
    }
    // EOF: every copy of the write end is closed, which means the agent has
    // exited, however it died (SIGKILL included).
    for (size_t i = 0; i < count; i++) kill(-groups[i], SIGKILL);
    free(groups);
    return 0;
}
