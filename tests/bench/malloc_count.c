/* malloc_count: an LD_PRELOAD shim that counts allocator calls, for the
 * bench's "allocations per request" row (tests/bench/README.md).
 *
 * Counts malloc, calloc, realloc, free and the aligned allocators of every
 * thread of the process (libcurl, OpenSSL and SQLite threads allocate too:
 * the counters are atomics). The counters live in a shared file mapping,
 * MALLOC_COUNT_DIR/malloc-count.<pid>, so the bench reads them at any moment
 * without signalling the process (zend uses its signals itself). A forked
 * child (zend's worker) gets a file of its own.
 *
 * Built by tests/bench/bench.py:
 *   cc -O2 -Wall -Wextra -shared -fPIC malloc_count.c -o malloc_count.so -ldl
 *
 * File layout: MC_NCOUNTERS uint64 little-endian counters in the order of
 * enum mc_counter.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

enum mc_counter { MC_MALLOC, MC_CALLOC, MC_REALLOC, MC_FREE, MC_ALIGNED, MC_BYTES, MC_NCOUNTERS };

static uint64_t boot_counters[MC_NCOUNTERS];
static uint64_t *counters = boot_counters;

static void *(*real_malloc)(size_t);
static void *(*real_calloc)(size_t, size_t);
static void *(*real_realloc)(void *, size_t);
static void (*real_free)(void *);
static int (*real_posix_memalign)(void **, size_t, size_t);
static void *(*real_aligned_alloc)(size_t, size_t);
static void *(*real_memalign)(size_t, size_t);

/* dlsym may allocate (calloc) before the real functions are known: those
 * few early blocks come from here and are never freed. */
static char boot_heap[16384];
static size_t boot_used;

static void *boot_alloc(size_t n)
{
    n = (n + 15) & ~(size_t)15;
    if (boot_used + n > sizeof(boot_heap))
        return NULL;
    void *p = boot_heap + boot_used;
    boot_used += n;
    return p;
}

static int is_boot(const void *p)
{
    return (const char *)p >= boot_heap && (const char *)p < boot_heap + sizeof(boot_heap);
}

static void count(enum mc_counter c, uint64_t bytes)
{
    __atomic_fetch_add(&counters[c], 1, __ATOMIC_RELAXED);
    if (bytes)
        __atomic_fetch_add(&counters[MC_BYTES], bytes, __ATOMIC_RELAXED);
}

static int resolving;

static void resolve(void)
{
    if (real_malloc || resolving)
        return;
    resolving = 1;
    real_calloc = (void *(*)(size_t, size_t))dlsym(RTLD_NEXT, "calloc");
    real_realloc = (void *(*)(void *, size_t))dlsym(RTLD_NEXT, "realloc");
    real_free = (void (*)(void *))dlsym(RTLD_NEXT, "free");
    real_posix_memalign = (int (*)(void **, size_t, size_t))dlsym(RTLD_NEXT, "posix_memalign");
    real_aligned_alloc = (void *(*)(size_t, size_t))dlsym(RTLD_NEXT, "aligned_alloc");
    real_memalign = (void *(*)(size_t, size_t))dlsym(RTLD_NEXT, "memalign");
    real_malloc = (void *(*)(size_t))dlsym(RTLD_NEXT, "malloc");
    resolving = 0;
}

/* Maps this process's counter file; the counts so far are carried over. */
static void map_counters(void)
{
    const char *dir = getenv("MALLOC_COUNT_DIR");
    if (!dir)
        return;
    char path[4096];
    snprintf(path, sizeof(path), "%s/malloc-count.%ld", dir, (long)getpid());
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return;
    size_t size = sizeof(uint64_t) * MC_NCOUNTERS;
    if (ftruncate(fd, (off_t)size) != 0) {
        close(fd);
        return;
    }
    uint64_t *m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (m == MAP_FAILED)
        return;
    memcpy(m, boot_counters, size);
    counters = m;
}

/* After fork the child counts into a file of its own, from zero. Its
 * parent's mapping is shared, so the child must leave it first. */
static void after_fork_child(void)
{
    counters = boot_counters;
    memset(boot_counters, 0, sizeof(boot_counters));
    map_counters();
}

__attribute__((constructor)) static void mc_init(void)
{
    resolve();
    map_counters();
    pthread_atfork(NULL, NULL, after_fork_child);
}

void *malloc(size_t n)
{
    resolve();
    if (!real_malloc)
        return boot_alloc(n);
    count(MC_MALLOC, n);
    return real_malloc(n);
}

void *calloc(size_t k, size_t n)
{
    resolve();
    if (!real_calloc) {
        void *p = boot_alloc(k * n);
        if (p)
            memset(p, 0, k * n);
        return p;
    }
    count(MC_CALLOC, k * n);
    return real_calloc(k, n);
}

void *realloc(void *p, size_t n)
{
    resolve();
    if (is_boot(p)) {
        void *q = malloc(n);
        size_t room = (size_t)(boot_heap + sizeof(boot_heap) - (char *)p);
        if (q)
            memcpy(q, p, n < room ? n : room);
        return q;
    }
    count(MC_REALLOC, n);
    return real_realloc(p, n);
}

void free(void *p)
{
    if (!p || is_boot(p))
        return;
    resolve();
    count(MC_FREE, 0);
    real_free(p);
}

int posix_memalign(void **out, size_t align, size_t n)
{
    resolve();
    count(MC_ALIGNED, n);
    return real_posix_memalign(out, align, n);
}

void *aligned_alloc(size_t align, size_t n)
{
    resolve();
    count(MC_ALIGNED, n);
    return real_aligned_alloc(align, n);
}

void *memalign(size_t align, size_t n)
{
    resolve();
    count(MC_ALIGNED, n);
    return real_memalign(align, n);
}
