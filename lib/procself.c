#include "procself.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"

#define STATM_PATH "/proc/self/statm"
#define STATUS_PATH "/proc/self/status"
#define FD_DIR_PATH "/proc/self/fd"

int procself_statm_rss(const char *path, int64_t *bytes)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return ZEN_ERR;
    char buf[256];
    ssize_t n;
    do
        n = read(fd, buf, sizeof(buf) - 1);
    while (n < 0 && errno == EINTR);
    close(fd);
    if (n <= 0)
        return ZEN_ERR;
    buf[n] = '\0';

    char *end;
    errno = 0;
    (void)strtoull(buf, &end, 10); /* total program size: skipped */
    if (end == buf)
        return ZEN_ERR;
    const char *resident = end;
    unsigned long long pages = strtoull(resident, &end, 10);
    long page_size = sysconf(_SC_PAGESIZE);
    if (end == resident || errno || page_size <= 0 ||
        pages > (unsigned long long)INT64_MAX / (unsigned long long)page_size)
        return ZEN_ERR;
    *bytes = (int64_t)(pages * (unsigned long long)page_size);
    return ZEN_OK;
}

int procself_rss(int64_t *bytes) { return procself_statm_rss(STATM_PATH, bytes); }

int procself_threads(int64_t *threads)
{
    FILE *f = fopen(STATUS_PATH, "re");
    if (!f)
        return ZEN_ERR;
    char line[256];
    long v;
    int found = 0;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "Threads: %ld", &v) == 1) {
            *threads = v;
            found = 1;
        }
    fclose(f);
    return found ? ZEN_OK : ZEN_ERR;
}

int procself_fd_count_stat(int64_t *count)
{
    struct stat st;
    if (stat(FD_DIR_PATH, &st) != 0 || st.st_size <= 0)
        return ZEN_ERR;
    *count = (int64_t)st.st_size;
    return ZEN_OK;
}

int procself_fds(int64_t *count, procself_fd_fn *fn, void *ud)
{
    if (!fn && procself_fd_count_stat(count) == ZEN_OK)
        return ZEN_OK;
    DIR *d = opendir(FD_DIR_PATH);
    if (!d)
        return ZEN_ERR;
    /* The listing holds a descriptor of its own while it runs: not ours. */
    int own = dirfd(d);
    int64_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' || atoi(e->d_name) == own)
            continue;
        n++;
        if (!fn)
            continue;
        char path[300], target[256];
        snprintf(path, sizeof(path), FD_DIR_PATH "/%s", e->d_name);
        ssize_t len = readlink(path, target, sizeof(target) - 1);
        target[len < 0 ? 0 : len] = '\0';
        fn(ud, e->d_name, target);
    }
    closedir(d);
    *count = n;
    return ZEN_OK;
}
