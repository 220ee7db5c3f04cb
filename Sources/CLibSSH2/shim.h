#ifndef CLIBSSH2_SHIM_H
#define CLIBSSH2_SHIM_H
#include <libssh2.h>
#include <libssh2_sftp.h>
#include <string.h>

// Swift cannot import libssh2's function-like macros; these static inline
// wrappers give them names and fixed types. Only what the SSH module uses.

static inline LIBSSH2_SESSION *cssh2_session_init(void) {
    return libssh2_session_init_ex(NULL, NULL, NULL, NULL);
}

static inline int cssh2_session_disconnect(LIBSSH2_SESSION *session, const char *description) {
    return libssh2_session_disconnect_ex(session, SSH_DISCONNECT_BY_APPLICATION, description, "");
}

static inline LIBSSH2_CHANNEL *cssh2_channel_open_session(LIBSSH2_SESSION *session) {
    return libssh2_channel_open_ex(session, "session", sizeof("session") - 1,
                                   LIBSSH2_CHANNEL_WINDOW_DEFAULT, LIBSSH2_CHANNEL_PACKET_DEFAULT,
                                   NULL, 0);
}

static inline LIBSSH2_CHANNEL *cssh2_channel_direct_tcpip(LIBSSH2_SESSION *session, const char *host, int port) {
    return libssh2_channel_direct_tcpip_ex(session, host, port, "127.0.0.1", 22);
}

static inline int cssh2_channel_exec(LIBSSH2_CHANNEL *channel, const char *command) {
    return libssh2_channel_process_startup(channel, "exec", sizeof("exec") - 1,
                                           command, (unsigned int)strlen(command));
}

static inline int cssh2_channel_subsystem(LIBSSH2_CHANNEL *channel, const char *name) {
    return libssh2_channel_process_startup(channel, "subsystem", sizeof("subsystem") - 1,
                                           name, (unsigned int)strlen(name));
}

static inline int cssh2_userauth_publickey_fromfile(LIBSSH2_SESSION *session, const char *user,
                                                    const char *publickey, const char *privatekey,
                                                    const char *passphrase) {
    return libssh2_userauth_publickey_fromfile_ex(session, user, (unsigned int)strlen(user),
                                                  publickey, privatekey, passphrase);
}

static inline char *cssh2_userauth_list(LIBSSH2_SESSION *session, const char *user) {
    return libssh2_userauth_list(session, user, (unsigned int)strlen(user));
}

static inline LIBSSH2_SFTP_HANDLE *cssh2_sftp_open(LIBSSH2_SFTP *sftp, const char *path,
                                                   unsigned long flags, long mode, int type) {
    return libssh2_sftp_open_ex(sftp, path, (unsigned int)strlen(path), flags, mode, type);
}

static inline int cssh2_sftp_rename(LIBSSH2_SFTP *sftp, const char *from, const char *to) {
    return libssh2_sftp_rename_ex(sftp, from, (unsigned int)strlen(from), to, (unsigned int)strlen(to),
                                  LIBSSH2_SFTP_RENAME_OVERWRITE | LIBSSH2_SFTP_RENAME_ATOMIC |
                                  LIBSSH2_SFTP_RENAME_NATIVE);
}

static inline int cssh2_sftp_unlink(LIBSSH2_SFTP *sftp, const char *path) {
    return libssh2_sftp_unlink_ex(sftp, path, (unsigned int)strlen(path));
}

static inline int cssh2_sftp_mkdir(LIBSSH2_SFTP *sftp, const char *path, long mode) {
    return libssh2_sftp_mkdir_ex(sftp, path, (unsigned int)strlen(path), mode);
}

/// kind: LIBSSH2_SFTP_STAT, LIBSSH2_SFTP_LSTAT or LIBSSH2_SFTP_SETSTAT.
static inline int cssh2_sftp_stat(LIBSSH2_SFTP *sftp, const char *path, int kind,
                                  LIBSSH2_SFTP_ATTRIBUTES *attrs) {
    return libssh2_sftp_stat_ex(sftp, path, (unsigned int)strlen(path), kind, attrs);
}

static inline int cssh2_sftp_realpath(LIBSSH2_SFTP *sftp, const char *path, char *target, unsigned int maxlen) {
    return libssh2_sftp_symlink_ex(sftp, path, (unsigned int)strlen(path), target, maxlen,
                                   LIBSSH2_SFTP_REALPATH);
}

static inline int cssh2_sftp_fstat(LIBSSH2_SFTP_HANDLE *handle, LIBSSH2_SFTP_ATTRIBUTES *attrs, int set) {
    return libssh2_sftp_fstat_ex(handle, attrs, set);
}

static inline int cssh2_channel_window_default(void) { return LIBSSH2_CHANNEL_WINDOW_DEFAULT; }
#endif
