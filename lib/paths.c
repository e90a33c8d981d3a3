#include "paths.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common.h"

static int write_all(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t w = write(fd, data, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return ZEN_ERR;
        data += w;
        len -= (size_t)w;
    }
    return ZEN_OK;
}

int zpaths_write_atomic(const char *path, const void *data, size_t len, unsigned mode,
                        char *err, size_t errlen)
{
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp)) {
        snprintf(err, errlen, "%s: path too long", path);
        return ZEN_ERR;
    }
    if (unlink(tmp) != 0 && errno != ENOENT) {
        snprintf(err, errlen, "cannot remove stale %s: %s", tmp, strerror(errno));
        return ZEN_ERR;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, (mode_t)mode);
    if (fd < 0) {
        snprintf(err, errlen, "cannot create %s: %s", tmp, strerror(errno));
        return ZEN_ERR;
    }
    if (fchmod(fd, (mode_t)mode) != 0 || write_all(fd, data, len) != ZEN_OK || fsync(fd) != 0) {
        snprintf(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
        close(fd);
        unlink(tmp);
        return ZEN_ERR;
    }
    if (close(fd) != 0 || rename(tmp, path) != 0) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
        unlink(tmp);
        return ZEN_ERR;
    }
    return ZEN_OK;
}

size_t zpaths_max_socket_path(void)
{
    struct sockaddr_un sun;
    return sizeof(sun.sun_path) - 1;
}

int zpaths_join(char *out, size_t outlen, const char *dir, const char *name)
{
    int n = name[0] == '/' ? snprintf(out, outlen, "%s", name)
                           : snprintf(out, outlen, "%s/%s", dir, name);
    return (n < 0 || (size_t)n >= outlen) ? ZEN_ERR : ZEN_OK;
}

/* Makes `in` absolute against the current directory. */
static int make_absolute(char *out, size_t outlen, const char *in)
{
    if (in[0] == '/') {
        int n = snprintf(out, outlen, "%s", in);
        return (n < 0 || (size_t)n >= outlen) ? ZEN_ERR : ZEN_OK;
    }
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof(cwd)))
        return ZEN_ERR;
    return zpaths_join(out, outlen, cwd, in);
}

static const char *nonempty_env(const char *name)
{
    const char *v = getenv(name);
    return (v && *v) ? v : NULL;
}

/* zpaths_home, also saying where the answer came from (*source). */
static int home_from(char *out, size_t outlen, const char *home_flag, const char **source,
                     char *err, size_t errlen)
{
    const char *home = home_flag;
    *source = "flag";
    if (!home && (home = nonempty_env("ZEN_HOME")))
        *source = "env:ZEN_HOME";
    if (!home && (home = nonempty_env("GOZEN_CONFIG_DIR")))
        *source = "env:GOZEN_CONFIG_DIR";
    char fallback[PATH_MAX];
    if (!home) {
        *source = "default";
        const char *user_home = nonempty_env("HOME");
        if (!user_home) {
            struct passwd *pw = getpwuid(getuid());
            user_home = pw ? pw->pw_dir : NULL;
        }
        if (!user_home) {
            snprintf(err, errlen, "cannot find a home directory: set ZEN_HOME or pass --home");
            return ZEN_ERR;
        }
        if (zpaths_join(fallback, sizeof(fallback), user_home, ".zen") != ZEN_OK) {
            snprintf(err, errlen, "home directory path too long");
            return ZEN_ERR;
        }
        home = fallback;
    }
    if (make_absolute(out, outlen, home) != ZEN_OK) {
        snprintf(err, errlen, "cannot make %s absolute: path too long or cwd unknown", home);
        return ZEN_ERR;
    }
    return ZEN_OK;
}

int zpaths_home(char *out, size_t outlen, const char *home_flag, char *err, size_t errlen)
{
    const char *source;
    return home_from(out, outlen, home_flag, &source, err, errlen);
}

int zpaths_resolve(struct zpaths *p, const char *home_flag, const char *config_flag,
                   char *err, size_t errlen)
{
    memset(p, 0, sizeof(*p));
    if (home_from(p->home, sizeof(p->home), home_flag, &p->home_source, err, errlen) != ZEN_OK)
        return ZEN_ERR;
    p->config_source = config_flag ? "flag" : "default";
    int bad = 0;
    if (config_flag)
        bad |= make_absolute(p->config, sizeof(p->config), config_flag);
    else
        bad |= zpaths_join(p->config, sizeof(p->config), p->home, "zen.json");
    bad |= zpaths_join(p->lock, sizeof(p->lock), p->home, "zend.lock");
    bad |= zpaths_join(p->pid, sizeof(p->pid), p->home, "zend.pid");
    bad |= zpaths_join(p->sock, sizeof(p->sock), p->home, "zend.sock");
    if (bad) {
        snprintf(err, errlen, "path too long under %s", p->home);
        return ZEN_ERR;
    }
    if (strlen(p->sock) > zpaths_max_socket_path()) {
        snprintf(err, errlen, "control socket path %s is longer than %zu bytes; use a shorter --home",
                 p->sock, zpaths_max_socket_path());
        return ZEN_ERR;
    }
    return ZEN_OK;
}

int zpaths_mkdir_private(const char *dir, char *err, size_t errlen)
{
    char tmp[PATH_MAX];
    int n = snprintf(tmp, sizeof(tmp), "%s", dir);
    if (n < 0 || (size_t)n >= sizeof(tmp)) {
        snprintf(err, errlen, "path too long: %s", dir);
        return ZEN_ERR;
    }
    /* Walk the components so missing parents are created too (mkdir -p). */
    for (char *s = tmp + 1; ; s++) {
        if (*s == '/' || *s == '\0') {
            char saved = *s;
            *s = '\0';
            if (mkdir(tmp, 0700) != 0 && errno != EEXIST) {
                snprintf(err, errlen, "cannot create %s: %s", tmp, strerror(errno));
                return ZEN_ERR;
            }
            *s = saved;
            if (saved == '\0')
                break;
        }
    }
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "%s is not a directory", dir);
        return ZEN_ERR;
    }
    return ZEN_OK;
}

/* A mode as four octal digits, for messages. */
static void mode_text(mode_t mode, char out[8])
{
    snprintf(out, 8, "%04o", (unsigned)(mode & 07777));
}

int zpaths_check_home(const char *home, char *err, size_t errlen)
{
    struct stat st;
    if (lstat(home, &st) != 0) {
        snprintf(err, errlen, "cannot stat ZEN_HOME %s: %s", home, strerror(errno));
        return ZEN_ERR;
    }
    if (!S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "ZEN_HOME %s is not a directory (a symlink is refused too)", home);
        return ZEN_ERR;
    }
    uid_t me = geteuid();
    if (st.st_uid != me) {
        snprintf(err, errlen,
                 "ZEN_HOME %s is owned by uid %u, not by zend's user (uid %u): another user "
                 "controls it; fix: chown %u %s, or use a home of your own",
                 home, (unsigned)st.st_uid, (unsigned)me, (unsigned)me, home);
        return ZEN_ERR;
    }
    if (st.st_mode & (S_IWGRP | S_IWOTH)) {
        char mode[8];
        mode_text(st.st_mode, mode);
        snprintf(err, errlen,
                 "ZEN_HOME %s is writable by group or others (mode %s): another user could "
                 "plant files there; fix: chmod 700 %s",
                 home, mode, home);
        return ZEN_ERR;
    }
    return ZEN_OK;
}

int zpaths_check_config_file(const char *path, const struct stat *st, char *err, size_t errlen)
{
    uid_t me = geteuid();
    if (st->st_uid != me && st->st_uid != 0) {
        snprintf(err, errlen,
                 "%s: owned by uid %u, not by zend's user (uid %u): another user could change "
                 "it; fix: chown %u %s",
                 path, (unsigned)st->st_uid, (unsigned)me, (unsigned)me, path);
        return ZEN_ERR;
    }
    if (st->st_mode & (S_IWGRP | S_IWOTH)) {
        char mode[8];
        mode_text(st->st_mode, mode);
        snprintf(err, errlen,
                 "%s: writable by group or others (mode %s): another user could change it; "
                 "fix: chmod 600 %s",
                 path, mode, path);
        return ZEN_ERR;
    }
    return ZEN_OK;
}

int zpaths_check_config_dir(const char *config_path, char *err, size_t errlen)
{
    /* A zen.json symlinked into a dotfiles repository is fine, as long as
     * the directory of the real file is safe. */
    char real[PATH_MAX];
    if (!realpath(config_path, real)) {
        snprintf(err, errlen, "%s: cannot resolve: %s", config_path, strerror(errno));
        return ZEN_ERR;
    }
    const char *dir = dirname(real);
    struct stat st;
    if (stat(dir, &st) != 0) {
        snprintf(err, errlen, "cannot stat %s: %s", dir, strerror(errno));
        return ZEN_ERR;
    }
    uid_t me = geteuid();
    if (st.st_uid != me && st.st_uid != 0) {
        snprintf(err, errlen,
                 "%s: its directory %s is owned by uid %u, not by zend's user (uid %u) or "
                 "root: that user could swap the file; fix: move the config to a directory "
                 "of your own",
                 config_path, dir, (unsigned)st.st_uid, (unsigned)me);
        return ZEN_ERR;
    }
    if ((st.st_mode & (S_IWGRP | S_IWOTH)) && !(st.st_mode & S_ISVTX)) {
        char mode[8];
        mode_text(st.st_mode, mode);
        snprintf(err, errlen,
                 "%s: its directory %s is writable by group or others (mode %s): another "
                 "user could swap the file; fix: chmod go-w %s",
                 config_path, dir, mode, dir);
        return ZEN_ERR;
    }
    return ZEN_OK;
}
