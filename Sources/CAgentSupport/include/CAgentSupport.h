#ifndef CAGENTSUPPORT_H
#define CAGENTSUPPORT_H

#include <spawn.h>
#include <sys/types.h>

/// GNU extensions that Swift's Glibc module does not import.
int cagent_spawn_file_actions_addchdir(posix_spawn_file_actions_t *actions, const char *path);
int cagent_pipe2_cloexec(int fds[2]);
/// Closes every descriptor >= lowfd in the child (glibc >= 2.34); 0 or an errno.
int cagent_spawn_file_actions_addclosefrom(posix_spawn_file_actions_t *actions, int lowfd);
int cagent_accept_cloexec(int fd);
int cagent_socket_cloexec(int domain, int type, int protocol);

/// The mount id of `name` under `dirfd` (the directory itself when `name` is
/// empty), without following a final symlink: 0, or -1 with errno (ENOSYS
/// before Linux 5.8).
int cagent_mount_id(int dirfd, const char *name, unsigned long long *mount_id);

/// The agent's keeper process (`automation-agent --keeper`): reads 32-bit
/// process group ids from `fd` (positive: guard it, negative: its leader was
/// reaped, forget it) until EOF, which comes when the agent has exited however
/// it died, then sends SIGKILL to every group still guarded. Returns 0.
int cagent_keeper_main(int fd);

#endif
