#ifndef CAGENTSUPPORT_H
#define CAGENTSUPPORT_H

#include <spawn.h>
#include <sys/types.h>

/// GNU extensions that Swift's Glibc module does not import.
int cagent_spawn_file_actions_addchdir(posix_spawn_file_actions_t *actions, const char *path);
int cagent_pipe2_cloexec(int fds[2]);
int cagent_accept_cloexec(int fd);
int cagent_socket_cloexec(int domain, int type, int protocol);

#endif
