#include "testutil.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void tu_mkdtemp(char *out, size_t outlen)
{
    const char *base = getenv("TMPDIR");
    snprintf(out, outlen, "%s/zen-unit-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(out)) {
        perror("mkdtemp");
        abort();
    }
}

void tu_rmtree(const char *path)
{
    char cmd[4200];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
    if (system(cmd) != 0)
        fprintf(stderr, "warning: could not remove %s\n", path);
}

void tu_write_file(const char *dir, const char *name, const char *data, int mode, char *out,
                   size_t outlen)
{
    snprintf(out, outlen, "%s/%s", dir, name);
    int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, mode);
    if (fd < 0 || write(fd, data, strlen(data)) != (ssize_t)strlen(data)) {
        perror(out);
        abort();
    }
    fchmod(fd, (mode_t)mode);
    close(fd);
}

char *tu_read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    size_t got = fread(s, 1, (size_t)n, f);
    s[got] = '\0';
    fclose(f);
    return s;
}

char tu_tmpdir[4096];

int tu_suite_init(void)
{
    tu_mkdtemp(tu_tmpdir, sizeof(tu_tmpdir));
    return 0;
}

int tu_suite_clean(void)
{
    tu_rmtree(tu_tmpdir);
    return 0;
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

void tu_rng_seed(uint64_t seed) { rng_state = seed ? seed : 0x9E3779B97F4A7C15ull; }

uint64_t tu_rng_next(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717ull;
}

size_t tu_rng_below(size_t n) { return n ? (size_t)(tu_rng_next() % n) : 0; }

void tu_feed_plan(const char *in, size_t n, const struct tu_plan *p, tu_feed_fn feed, void *ctx)
{
    size_t i = 0, piece;
    switch (p->mode) {
    case TU_PLAN_WHOLE:
        feed(ctx, in, n);
        return;
    case TU_PLAN_SPLIT:
        feed(ctx, in, p->arg);
        feed(ctx, in + p->arg, n - p->arg);
        return;
    case TU_PLAN_FIXED:
    case TU_PLAN_RANDOM:
        if (p->mode == TU_PLAN_RANDOM)
            tu_rng_seed(p->arg);
        while (i < n) {
            piece = p->mode == TU_PLAN_FIXED ? p->arg : 1 + tu_rng_below(3);
            if (piece > n - i)
                piece = n - i;
            feed(ctx, in + i, piece);
            i += piece;
        }
        return;
    }
}

char *tu_q(const char *s)
{
    static char *ring[8];
    static int at;
    at = (at + 1) % 8;
    free(ring[at]);
    ring[at] = strdup(s);
    for (char *p = ring[at]; *p; p++)
        if (*p == '\'')
            *p = '"';
    return ring[at];
}
