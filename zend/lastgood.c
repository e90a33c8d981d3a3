#include "lastgood.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"
#include "paths.h"
#include "secret.h"

/* The config loader's own limit: a bigger file never loaded, so never saved. */
#define LASTGOOD_MAX_BYTES (16u * 1024 * 1024)

/* Reads all of fd (at most LASTGOOD_MAX_BYTES) into a new buffer. */
static char *read_all(int fd, const char *path, size_t *len, char *err, size_t errlen)
{
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > LASTGOOD_MAX_BYTES) {
        snprintf(err, errlen, "%s: not a regular file of at most %u bytes", path,
                 LASTGOOD_MAX_BYTES);
        return NULL;
    }
    size_t want = (size_t)st.st_size;
    char *data = malloc(want + 1);
    if (!data) {
        snprintf(err, errlen, "%s: out of memory", path);
        return NULL;
    }
    size_t got = 0;
    while (got < want) {
        ssize_t r = read(fd, data + got, want - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            snprintf(err, errlen, "%s: read: %s", path, strerror(errno));
            zsec_wipe(data, got);
            free(data);
            data = NULL;
            return NULL;
        }
        if (r == 0)
            break;
        got += (size_t)r;
    }
    *len = got;
    return data;
}

int lastgood_save(const char *home, const char *config_path, const char *hash, char *err,
                  size_t errlen)
{
    char path[PATH_MAX];
    if (zpaths_join(path, sizeof(path), home, LASTGOOD_FILE) != ZEN_OK) {
        snprintf(err, errlen, "%s/%s: path too long", home, LASTGOOD_FILE);
        return ZEN_ERR;
    }
    int fd = open(config_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "%s: cannot open: %s", config_path, strerror(errno));
        return ZEN_ERR;
    }
    size_t len = 0;
    char *data = read_all(fd, config_path, &len, err, errlen);
    close(fd);
    if (!data)
        return ZEN_ERR;
    char now_hash[ZSEC_FINGERPRINT_LEN];
    zsec_fingerprint(data, len, now_hash);
    int rc = ZEN_OK;
    if (strcmp(now_hash, hash) == 0)
        rc = zpaths_write_atomic(path, data, len, 0600, err, errlen);
    zsec_wipe(data, len);
    free(data);
    data = NULL;
    return rc;
}

struct zcfg *lastgood_load(const char *home, const char *name, int64_t *saved_wall_ms,
                           char *err, size_t errlen)
{
    char path[PATH_MAX];
    if (zpaths_join(path, sizeof(path), home, LASTGOOD_FILE) != ZEN_OK) {
        snprintf(err, errlen, "%s/%s: path too long", home, LASTGOOD_FILE);
        return NULL;
    }
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", path,
                 errno == ELOOP ? "is a symlink: refused" : strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || st.st_uid != geteuid() || (st.st_mode & (S_IRWXG | S_IRWXO))) {
        snprintf(err, errlen, "%s: not ours, or open to group or others: refused", path);
        close(fd);
        return NULL;
    }
    size_t len = 0;
    char *data = read_all(fd, path, &len, err, errlen);
    close(fd);
    if (!data)
        return NULL;
    struct zcfg *cfg = zcfg_load_buffer(name, data, len, err, errlen);
    zsec_wipe(data, len);
    free(data);
    data = NULL;
    if (cfg)
        *saved_wall_ms = (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
    return cfg;
}
