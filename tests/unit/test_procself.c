/* Unit tests for lib/procself.c: statm parsing on hand-written files (good,
 * short, junk, empty, absent), and the live readers agree with what this
 * test process did (an extra open descriptor is seen, with its target). */
#include <CUnit/CUnit.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "common.h"
#include "procself.h"
#include "testutil.h"

static void test_statm_parsing(void)
{
    char path[4200];
    int64_t bytes = -1;
    long page = sysconf(_SC_PAGESIZE);

    tu_write_file(tu_tmpdir, "statm", "12345 250 30 1 0 400 0\n", 0600, path, sizeof(path));
    CU_ASSERT_EQUAL(procself_statm_rss(path, &bytes), ZEN_OK);
    CU_ASSERT_EQUAL(bytes, 250 * (int64_t)page);

    bytes = -1;
    tu_write_file(tu_tmpdir, "statm-bad", "12345\n", 0600, path, sizeof(path));
    CU_ASSERT_EQUAL(procself_statm_rss(path, &bytes), ZEN_ERR);
    tu_write_file(tu_tmpdir, "statm-junk", "garbage\n", 0600, path, sizeof(path));
    CU_ASSERT_EQUAL(procself_statm_rss(path, &bytes), ZEN_ERR);
    tu_write_file(tu_tmpdir, "statm-empty", "", 0600, path, sizeof(path));
    CU_ASSERT_EQUAL(procself_statm_rss(path, &bytes), ZEN_ERR);
    snprintf(path, sizeof(path), "%s/absent", tu_tmpdir);
    CU_ASSERT_EQUAL(procself_statm_rss(path, &bytes), ZEN_ERR);
    CU_ASSERT_EQUAL(bytes, -1); /* untouched on failure */
}

static void test_live_rss_and_threads(void)
{
    int64_t rss = 0, threads = 0;
    CU_ASSERT_EQUAL(procself_rss(&rss), ZEN_OK);
    CU_ASSERT(rss > 0);
    CU_ASSERT_EQUAL(procself_threads(&threads), ZEN_OK);
    CU_ASSERT_EQUAL(threads, 1); /* the runner starts no threads */
}

struct seen {
    char fd[32];
    char target[256];
    int found;
};

static void look_for(void *ud, const char *fd, const char *target)
{
    struct seen *s = ud;
    if (strcmp(fd, s->fd) == 0) {
        s->found++;
        snprintf(s->target, sizeof(s->target), "%s", target);
    }
}

static void test_fds_counted_and_listed(void)
{
    int64_t before = -1, after = -1;
    CU_ASSERT_EQUAL(procself_fds(&before, NULL, NULL), ZEN_OK);
    CU_ASSERT(before >= 3);

    char path[4200];
    tu_write_file(tu_tmpdir, "held-open", "x", 0600, path, sizeof(path));
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    CU_ASSERT_FATAL(fd >= 0);
    struct seen s = {.found = 0};
    snprintf(s.fd, sizeof(s.fd), "%d", fd);
    CU_ASSERT_EQUAL(procself_fds(&after, look_for, &s), ZEN_OK);
    CU_ASSERT_EQUAL(after, before + 1);
    CU_ASSERT_EQUAL(s.found, 1);
    CU_ASSERT_STRING_EQUAL(s.target, path);
    close(fd);

    CU_ASSERT_EQUAL(procself_fds(&after, NULL, NULL), ZEN_OK);
    CU_ASSERT_EQUAL(after, before);
}

static void count_listed(void *ud, const char *fd, const char *target)
{
    (void)fd;
    (void)target;
    (*(int64_t *)ud)++;
}

/* Linux 6.2 and later report the open descriptors as the size of
 * /proc/self/fd; earlier kernels do not, and the listing stands in. */
static int kernel_has_fd_dir_size(void)
{
    struct utsname u;
    int major = 0, minor = 0;
    if (uname(&u) != 0 || sscanf(u.release, "%d.%d", &major, &minor) != 2)
        return 0;
    return major > 6 || (major == 6 && minor >= 2);
}

/* The count health and metrics use (one stat) agrees with a full listing,
 * with a few hundred descriptors open and after they are closed. */
static void test_fd_count_by_stat_matches_listing(void)
{
    enum { EXTRA = 300 };
    int fds[EXTRA];
    for (int i = 0; i < EXTRA; i++) {
        fds[i] = open("/dev/null", O_RDONLY | O_CLOEXEC);
        CU_ASSERT_FATAL(fds[i] >= 0);
    }
    int64_t by_stat = -1, listed = 0, counted = -1;
    int rc = procself_fd_count_stat(&by_stat);
    if (kernel_has_fd_dir_size())
        CU_ASSERT_EQUAL_FATAL(rc, ZEN_OK);
    CU_ASSERT_EQUAL(procself_fds(&counted, count_listed, &listed), ZEN_OK);
    CU_ASSERT_EQUAL(counted, listed);
    CU_ASSERT(listed >= EXTRA + 3);
    if (rc == ZEN_OK)
        CU_ASSERT_EQUAL(by_stat, listed);
    int64_t fast = -1;
    CU_ASSERT_EQUAL(procself_fds(&fast, NULL, NULL), ZEN_OK);
    CU_ASSERT_EQUAL(fast, listed);
    for (int i = 0; i < EXTRA; i++)
        close(fds[i]);
    CU_ASSERT_EQUAL(procself_fds(&fast, NULL, NULL), ZEN_OK);
    CU_ASSERT_EQUAL(fast, listed - EXTRA);
}

void register_tests(void)
{
    CU_pSuite s = CU_add_suite("procself", tu_suite_init, tu_suite_clean);
    TU_ADD(s, test_statm_parsing);
    TU_ADD(s, test_live_rss_and_threads);
    TU_ADD(s, test_fds_counted_and_listed);
    TU_ADD(s, test_fd_count_by_stat_matches_listing);
}
