/* Unit tests for lib/procself.c: statm parsing on hand-written files (good,
 * short, junk, empty, absent), and the live readers agree with what this
 * test process did (an extra open descriptor is seen, with its target). */
#include <CUnit/CUnit.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
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

void register_tests(void)
{
    CU_pSuite s = CU_add_suite("procself", tu_suite_init, tu_suite_clean);
    TU_ADD(s, test_statm_parsing);
    TU_ADD(s, test_live_rss_and_threads);
    TU_ADD(s, test_fds_counted_and_listed);
}
