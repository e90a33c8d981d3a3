/* Unit tests for zend/ops/logbus.c: the ring of recent log records keeps the
 * newest log_ring records, and their text packed in blocks that are freed as
 * the ring moves on (so a busy hour does not leave the heap pinned). */
#include <CUnit/CUnit.h>

#include "../../zend/ops/logbus.c"
#include "testutil.h"

static size_t block_count(const struct logbus *b)
{
    size_t n = 0;
    const struct line_block *blk;
    TAILQ_FOREACH(blk, &b->blocks, link)
        n++;
    return n;
}

static const struct ring_record *newest(const struct logbus *b, size_t back)
{
    return &b->ring[zring_slot(&b->idx, b->cap, b->idx.len - 1 - back)];
}

/* A record of len bytes whose text says which one it is. */
static void push_numbered(struct logbus *b, unsigned i, size_t len, char *buf)
{
    memset(buf, 'x', len);
    int n = snprintf(buf, len, "{\"i\":%u}", i);
    buf[n] = ' ';
    char event[32];
    snprintf(event, sizeof(event), "ev%u", i);
    ring_push(b, buf, len, ZLOG_INFO, event);
}

static void test_keeps_the_newest(void)
{
    struct logbus *b = logbus_new(3);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    char buf[1000];
    for (unsigned i = 0; i < 500; i++) {
        push_numbered(b, i, sizeof(buf), buf);
        /* 3 records of 1 KB: never more than the block being filled and
         * the one before it */
        CU_ASSERT(block_count(b) <= 2);
    }
    CU_ASSERT_EQUAL(b->idx.len, 3);
    for (unsigned k = 0; k < 3; k++) {
        const struct ring_record *r = newest(b, k);
        char want[32];
        int n = snprintf(want, sizeof(want), "{\"i\":%u}", 499 - k);
        CU_ASSERT_EQUAL(r->len, sizeof(buf));
        CU_ASSERT_EQUAL(strncmp(r->line, want, (size_t)n), 0);
        CU_ASSERT_EQUAL(r->line[r->len], '\0');
        snprintf(want, sizeof(want), "ev%u", 499 - k);
        CU_ASSERT_STRING_EQUAL(r->event, want);
        CU_ASSERT_EQUAL(r->level, ZLOG_INFO);
    }
    logbus_free(b);
}

/* A record longer than a block gets a block of its own, freed with it. */
static void test_long_record(void)
{
    struct logbus *b = logbus_new(2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    size_t big = LOGBUS_BLOCK_BYTES * 2;
    char *buf = malloc(big);
    CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
    push_numbered(b, 1, 100, buf);
    push_numbered(b, 2, big, buf);
    CU_ASSERT_EQUAL(newest(b, 0)->len, big);
    CU_ASSERT_EQUAL(strncmp(newest(b, 0)->line, "{\"i\":2}", 7), 0);
    CU_ASSERT_EQUAL(strncmp(newest(b, 1)->line, "{\"i\":1}", 7), 0);
    for (unsigned i = 3; i < 10; i++)
        push_numbered(b, i, 100, buf);
    CU_ASSERT_EQUAL(block_count(b), 1); /* the big one went with its record */
    CU_ASSERT_EQUAL(strncmp(newest(b, 0)->line, "{\"i\":9}", 7), 0);
    free(buf);
    logbus_free(b);
}

/* With room for one record, the one block is emptied and reused. */
static void test_one_record_reuses_its_block(void)
{
    struct logbus *b = logbus_new(1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    char buf[200];
    for (unsigned i = 0; i < 1000; i++)
        push_numbered(b, i, sizeof(buf), buf);
    CU_ASSERT_EQUAL(block_count(b), 1);
    CU_ASSERT_EQUAL(TAILQ_FIRST(&b->blocks)->used, sizeof(buf) + 1 + strlen("ev999") + 1);
    CU_ASSERT_STRING_EQUAL(newest(b, 0)->event, "ev999");
    logbus_free(b);
}

/* No event: an empty one; a ring of size 0 keeps nothing. */
static void test_no_event_and_no_ring(void)
{
    struct logbus *b = logbus_new(4);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    ring_push(b, "{}", 2, ZLOG_WARN, NULL);
    CU_ASSERT_STRING_EQUAL(newest(b, 0)->event, "");
    CU_ASSERT_STRING_EQUAL(newest(b, 0)->line, "{}");
    logbus_free(b);
    b = logbus_new(0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    ring_push(b, "{}", 2, ZLOG_WARN, "x");
    CU_ASSERT_EQUAL(b->idx.len, 0);
    CU_ASSERT_EQUAL(block_count(b), 0);
    logbus_free(b);
}

void register_tests(void)
{
    CU_pSuite s = CU_add_suite("logbus", NULL, NULL);
    TU_ADD(s, test_keeps_the_newest);
    TU_ADD(s, test_long_record);
    TU_ADD(s, test_one_record_reuses_its_block);
    TU_ADD(s, test_no_event_and_no_ring);
}
