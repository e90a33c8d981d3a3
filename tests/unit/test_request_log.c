/* Unit tests for zend/forward/request_log.c: request_completed's level says
 * whose problem the request's end was (docs/operations.md, "The record of
 * each request"). */
#include <CUnit/CUnit.h>

#include "error_type.h"
#include "log.h"
#include "request_log.h"
#include "testutil.h"

static int level_of(int status, int success, int error_type, size_t failed, int access_log,
                    int slow)
{
    struct request_outcome o = {status, success, error_type, failed, access_log, slow};
    return request_log_level(&o);
}

static void test_success(void)
{
    CU_ASSERT_EQUAL(level_of(200, 1, ZERR_NONE, 0, 0, 0), ZLOG_DEBUG);
    CU_ASSERT_EQUAL(level_of(200, 1, ZERR_NONE, 0, 1, 0), ZLOG_INFO);
    CU_ASSERT_EQUAL(level_of(200, 1, ZERR_NONE, 0, 0, 1), ZLOG_INFO);
    /* served by the fallback after a failure: still a success */
    CU_ASSERT_EQUAL(level_of(200, 1, ZERR_NONE, 1, 0, 0), ZLOG_DEBUG);
}

static void test_client_errors_are_info(void)
{
    CU_ASSERT_EQUAL(level_of(400, 0, ZERR_NONE, 0, 0, 0), ZLOG_INFO); /* relayed 400 */
    CU_ASSERT_EQUAL(level_of(404, 0, ZERR_NONE, 0, 0, 0), ZLOG_INFO); /* unknown profile */
    CU_ASSERT_EQUAL(level_of(401, 0, ZERR_NONE, 0, 0, 0), ZLOG_INFO); /* passthrough 401 */
    CU_ASSERT_EQUAL(level_of(413, 0, ZERR_NONE, 0, 0, 0), ZLOG_INFO);
    CU_ASSERT_EQUAL(level_of(429, 0, ZERR_NONE, 2, 0, 0), ZLOG_INFO);
    CU_ASSERT_EQUAL(level_of(0, 0, ZERR_CLIENT_CLOSED, 0, 0, 0), ZLOG_INFO);
    CU_ASSERT_EQUAL(level_of(200, 0, ZERR_CLIENT_CLOSED, 0, 0, 0), ZLOG_INFO);
}

static void test_failures_zend_met_are_warn(void)
{
    CU_ASSERT_EQUAL(level_of(502, 0, ZERR_NONE, 2, 0, 0), ZLOG_WARN);
    CU_ASSERT_EQUAL(level_of(504, 0, ZERR_NONE, 1, 0, 0), ZLOG_WARN);
    CU_ASSERT_EQUAL(level_of(500, 0, ZERR_NONE, 1, 0, 0), ZLOG_WARN); /* provider's 500 */
    CU_ASSERT_EQUAL(level_of(503, 0, ZERR_CONCURRENCY, 0, 0, 0), ZLOG_WARN);
    CU_ASSERT_EQUAL(level_of(503, 0, ZERR_NONE, 0, 0, 0), ZLOG_WARN); /* draining, disabled */
    CU_ASSERT_EQUAL(level_of(200, 0, ZERR_STREAM_INTERRUPTED, 0, 0, 0), ZLOG_WARN);
    /* interrupted even though access_log is on and the head said 200 */
    CU_ASSERT_EQUAL(level_of(200, 1, ZERR_STREAM_INTERRUPTED, 0, 1, 1), ZLOG_WARN);
}

static void test_own_faults_are_error(void)
{
    CU_ASSERT_EQUAL(level_of(500, 0, ZERR_NONE, 0, 0, 0), ZLOG_ERROR);
    CU_ASSERT_EQUAL(level_of(500, 0, ZERR_NONE, 0, 1, 1), ZLOG_ERROR);
}

/* Every combination gets a level in range, and only 5xx can be an error. */
static void test_every_combination_in_range(void)
{
    static const int statuses[] = {0, 200, 204, 301, 400, 401, 404, 429, 499, 500, 502, 503,
                                   504, 599};
    for (size_t s = 0; s < sizeof(statuses) / sizeof(statuses[0]); s++)
        for (int et = 0; et < ZERR__COUNT; et++)
            for (int bits = 0; bits < 16; bits++) {
                int lvl = level_of(statuses[s], bits & 1, et, (size_t)((bits >> 1) & 1),
                                   (bits >> 2) & 1, (bits >> 3) & 1);
                CU_ASSERT(lvl >= ZLOG_DEBUG && lvl <= ZLOG_ERROR);
                if (lvl == ZLOG_ERROR)
                    CU_ASSERT(statuses[s] >= 500);
            }
}

void register_tests(void)
{
    CU_pSuite s = CU_add_suite("request_log", NULL, NULL);
    TU_ADD(s, test_success);
    TU_ADD(s, test_client_errors_are_info);
    TU_ADD(s, test_failures_zend_met_are_warn);
    TU_ADD(s, test_own_faults_are_error);
    TU_ADD(s, test_every_combination_in_range);
}
