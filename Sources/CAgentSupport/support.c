#define _GNU_SOURCE
#include "CAgentSupport.h"
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

int cagent_spawn_file_actions_addchdir(posix_spawn_file_actions_t *actions, const char *path) {
    return posix_spawn_file_actions_addchdir_np(actions, path);
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
