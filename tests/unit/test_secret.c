/* Unit tests for lib/secret.c's request ids: 16 lowercase hex chars, no
 * repeat over many, none shared between a process and its forked child
 * (the child draws its own key), nor between two threads. */
#include <CUnit/CUnit.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "secret.h"
#include "testutil.h"

#define MANY 200000
#define FEW 2000

static int cmp_id(const void *a, const void *b) { return memcmp(a, b, ZSEC_REQUEST_ID_LEN); }

/* Sorts n ids and tells whether two are equal. */
static int has_repeat(char (*ids)[ZSEC_REQUEST_ID_LEN], size_t n)
{
    qsort(ids, n, ZSEC_REQUEST_ID_LEN, cmp_id);
    for (size_t i = 1; i < n; i++)
        if (memcmp(ids[i - 1], ids[i], ZSEC_REQUEST_ID_LEN) == 0)
            return 1;
    return 0;
}

static void test_format(void)
{
    for (int k = 0; k < 100; k++) {
        char id[ZSEC_REQUEST_ID_LEN];
        memset(id, 'x', sizeof(id));
        zsec_request_id(id);
        CU_ASSERT_EQUAL(strlen(id), ZSEC_REQUEST_ID_LEN - 1);
        CU_ASSERT_EQUAL(strspn(id, "0123456789abcdef"), ZSEC_REQUEST_ID_LEN - 1);
    }
}

static void test_unique_over_many(void)
{
    char(*ids)[ZSEC_REQUEST_ID_LEN] = malloc((size_t)MANY * ZSEC_REQUEST_ID_LEN);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ids);
    for (size_t i = 0; i < MANY; i++)
        zsec_request_id(ids[i]);
    CU_ASSERT_FALSE(has_repeat(ids, MANY));
    free(ids);
}

/* A forked child must not go on with its parent's key and counter: the ids
 * the child makes and the ones the parent makes next share none. */
static void test_fork_draws_a_new_key(void)
{
    static char ids[2 * FEW][ZSEC_REQUEST_ID_LEN];
    char warm[ZSEC_REQUEST_ID_LEN];
    zsec_request_id(warm); /* the parent has a key before it forks */
    int fds[2];
    CU_ASSERT_EQUAL_FATAL(pipe(fds), 0);
    pid_t pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        for (int i = 0; i < FEW; i++) {
            char id[ZSEC_REQUEST_ID_LEN];
            zsec_request_id(id);
            if (write(fds[1], id, sizeof(id)) != (ssize_t)sizeof(id))
                _exit(1);
        }
        _exit(0);
    }
    close(fds[1]);
    size_t got = 0;
    char *p = (char *)ids[FEW];
    while (got < (size_t)FEW * ZSEC_REQUEST_ID_LEN) {
        ssize_t r = read(fds[0], p + got, (size_t)FEW * ZSEC_REQUEST_ID_LEN - got);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fds[0]);
    int status = 0;
    CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
    CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CU_ASSERT_EQUAL_FATAL(got, (size_t)FEW * ZSEC_REQUEST_ID_LEN);
    for (int i = 0; i < FEW; i++)
        zsec_request_id(ids[i]);
    CU_ASSERT_FALSE(has_repeat(ids, 2 * FEW));
}

static void *thread_ids(void *arg)
{
    char(*ids)[ZSEC_REQUEST_ID_LEN] = arg;
    for (int i = 0; i < FEW; i++)
        zsec_request_id(ids[i]);
    return NULL;
}

static void test_threads_do_not_share(void)
{
    static char ids[2 * FEW][ZSEC_REQUEST_ID_LEN];
    pthread_t t;
    CU_ASSERT_EQUAL_FATAL(pthread_create(&t, NULL, thread_ids, ids[FEW]), 0);
    thread_ids(ids);
    CU_ASSERT_EQUAL(pthread_join(t, NULL), 0);
    CU_ASSERT_FALSE(has_repeat(ids, 2 * FEW));
}

static int suite_init(void) { return zsec_init(); }

void register_tests(void)
{
    CU_pSuite s = CU_add_suite("secret", suite_init, NULL);
    TU_ADD(s, test_format);
    TU_ADD(s, test_unique_over_many);
    TU_ADD(s, test_fork_draws_a_new_key);
    TU_ADD(s, test_threads_do_not_share);
}
