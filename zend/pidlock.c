#include "pidlock.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common.h"
#include "paths.h"

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
    /* We hold the lock, so a leftover temp file is a crashed run's or a
     * plant: zpaths_write_atomic never follows or reuses it. */
    char line[32];
    int n = snprintf(line, sizeof(line), "%d\n", (int)pid);
    return zpaths_write_atomic(pid_path, line, (size_t)n, 0644, err, errlen);
}
