#include "pidlock.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common.h"

int pidlock_acquire(const char *lock_path, pid_t *holder, char *err, size_t errlen)
{
    *holder = 0;
    /* O_NOFOLLOW: a symlink planted here must not make us create or lock
     * a file elsewhere. */
    int fd = open(lock_path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, errlen, "cannot open %s: %s", lock_path, strerror(errno));
        return -1;
    }
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
    if (fcntl(fd, F_SETLK, &fl) == 0)
        return fd;
    int saved = errno;
    if (saved == EACCES || saved == EAGAIN) {
        struct flock q = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
        if (fcntl(fd, F_GETLK, &q) == 0 && q.l_type != F_UNLCK)
            *holder = q.l_pid;
        if (*holder > 0)
            snprintf(err, errlen, "zend is already running (pid %d)", (int)*holder);
        else
            snprintf(err, errlen, "zend is already running (lock %s is held)", lock_path);
    } else {
        snprintf(err, errlen, "cannot lock %s: %s", lock_path, strerror(saved));
    }
    close(fd);
    return -1;
}

int pidfile_write(const char *pid_path, pid_t pid, char *err, size_t errlen)
{
    char tmp[PATH_MAX + 16];
    snprintf(tmp, sizeof(tmp), "%s.tmp", pid_path);
    /* We hold the lock, so a leftover temp file is a crashed run's or a
     * plant: unlink it (a symlink goes, never its target) and create ours
     * afresh, O_EXCL | O_NOFOLLOW, so nothing else is ever truncated. */
    if (unlink(tmp) != 0 && errno != ENOENT) {
        snprintf(err, errlen, "cannot remove stale %s: %s", tmp, strerror(errno));
        return ZEN_ERR;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0) {
        snprintf(err, errlen, "cannot create %s: %s", tmp, strerror(errno));
        return ZEN_ERR;
    }
    char line[32];
    int n = snprintf(line, sizeof(line), "%d\n", (int)pid);
    int ok = write(fd, line, (size_t)n) == n;
    ok &= close(fd) == 0;
    if (!ok || rename(tmp, pid_path) != 0) {
        snprintf(err, errlen, "cannot write %s: %s", pid_path, strerror(errno));
        unlink(tmp);
        return ZEN_ERR;
    }
    return ZEN_OK;
}
