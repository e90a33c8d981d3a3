/* Unit tests for zend/forward/session_memory.c: LRU eviction at the limit,
 * the idle sweep, served turns (provider, tokens), forgetting tokens,
 * listing order and the state.json round trip. */
#include "session_memory.h"

#include <CUnit/CUnit.h>
#include <stdio.h>
#include <string.h>

#include "testutil.h"

static int changes;
static void on_change(void *ud)
{
    (void)ud;
    changes++;
}

static void test_note_and_get(void)
{
    struct smem *m = smem_new(0, 0);
    smem_set_on_change(m, on_change, NULL);
    changes = 0;
    CU_ASSERT_PTR_NULL(smem_get(m, "p", "s", 0));
    smem_note_request(m, "p", "s", 3, 1000);
    smem_note_request(m, "p", "s", 1, 2000);
    smem_note_served(m, "p", "s", "relay", 40000, 120, 2500);
    const struct smem_entry *e = smem_get(m, "p", "s", 3000);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    CU_ASSERT_EQUAL(e->requests, 2);
    CU_ASSERT_EQUAL(e->last_scenario, 1);
    CU_ASSERT_STRING_EQUAL(e->last_provider, "relay");
    CU_ASSERT_EQUAL(e->input_tokens, 40000);
    CU_ASSERT_EQUAL(e->output_tokens, 120);
    CU_ASSERT_EQUAL(e->last_seen_ms, 2500);
    /* Unknown counts keep the previous ones. */
    smem_note_served(m, "p", "s", "other", -1, -1, 2600);
    CU_ASSERT_EQUAL(e->input_tokens, 40000);
    CU_ASSERT_STRING_EQUAL(e->last_provider, "other");
    smem_forget_tokens(m, "p", "s");
    CU_ASSERT_EQUAL(e->input_tokens, 0);
    CU_ASSERT_EQUAL(changes, 5);
    /* Keys are (profile, session), not their concatenation. */
    CU_ASSERT_PTR_NULL(smem_get(m, "p:", "s", 3000));
    CU_ASSERT_PTR_NULL(smem_get(m, "ps", "", 3000));
    CU_ASSERT_EQUAL(smem_count(m), 1);
    smem_free(m);
}

static void test_lru_limit(void)
{
    struct smem *m = smem_new(3, 0);
    smem_note_request(m, "p", "a", 0, 1);
    smem_note_request(m, "p", "b", 0, 2);
    smem_note_request(m, "p", "c", 0, 3);
    smem_note_request(m, "p", "a", 0, 4); /* a is fresh again: b is the oldest */
    smem_note_request(m, "p", "d", 0, 5);
    CU_ASSERT_EQUAL(smem_count(m), 3);
    CU_ASSERT_PTR_NULL(smem_get(m, "p", "b", 6));
    CU_ASSERT_PTR_NOT_NULL(smem_get(m, "p", "a", 6));
    CU_ASSERT_PTR_NOT_NULL(smem_get(m, "p", "c", 6));
    CU_ASSERT_PTR_NOT_NULL(smem_get(m, "p", "d", 6));
    smem_free(m);

    /* The real limit: 10,000. */
    m = smem_new(0, 0);
    char s[32];
    for (int i = 0; i < SMEM_MAX + 5; i++) {
        snprintf(s, sizeof(s), "s%d", i);
        smem_note_request(m, "p", s, 0, i);
    }
    CU_ASSERT_EQUAL(smem_count(m), SMEM_MAX);
    CU_ASSERT_PTR_NULL(smem_get(m, "p", "s4", SMEM_MAX + 5));
    CU_ASSERT_PTR_NOT_NULL(smem_get(m, "p", "s5", SMEM_MAX + 5));
    smem_free(m);
}

static void test_idle_sweep(void)
{
    struct smem *m = smem_new(0, 0);
    smem_note_request(m, "p", "old", 0, 0);
    smem_note_served(m, "p", "old", "x", 10, 10, 0);
    smem_note_request(m, "p", "new", 0, SMEM_IDLE_MS);
    /* Idle for more than two hours: gone for get, then swept. */
    CU_ASSERT_PTR_NULL(smem_get(m, "p", "old", SMEM_IDLE_MS + 1));
    CU_ASSERT_PTR_NOT_NULL(smem_get(m, "p", "new", SMEM_IDLE_MS + 1));
    smem_sweep(m, SMEM_IDLE_MS + 1);
    CU_ASSERT_EQUAL(smem_count(m), 1);
    /* A noted idle entry starts over. */
    smem_note_request(m, "p", "new", 0, 3 * SMEM_IDLE_MS);
    const struct smem_entry *e = smem_get(m, "p", "new", 3 * SMEM_IDLE_MS);
    CU_ASSERT_EQUAL(e->requests, 1);
    smem_free(m);
}

struct collected {
    struct smem *into;
    char order[8];
    int n;
};

static void collect(void *ud, const struct smem_entry *e)
{
    struct collected *c = ud;
    c->order[c->n++] = e->session[0];
    smem_restore(c->into, e);
}

static void test_each_and_restore(void)
{
    struct smem *m = smem_new(0, 0);
    smem_note_request(m, "p", "a", 2, 1);
    smem_note_request(m, "p", "b", 2, 2);
    smem_note_served(m, "p", "a", "prov", 7, 8, 3);
    struct collected c = {smem_new(0, 0), "", 0};
    smem_each(m, 4, collect, &c);
    CU_ASSERT_EQUAL(c.n, 2);
    CU_ASSERT_EQUAL(c.order[0], 'a'); /* most recently used first */
    CU_ASSERT_EQUAL(c.order[1], 'b');
    const struct smem_entry *e = smem_get(c.into, "p", "a", 4);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    CU_ASSERT_STRING_EQUAL(e->last_provider, "prov");
    CU_ASSERT_EQUAL(e->input_tokens, 7);
    CU_ASSERT_EQUAL(e->requests, 1);
    CU_ASSERT_PTR_NULL(smem_get(c.into, "p", "b", 4)->last_provider);
    /* Restored in the same order: the tail is still the oldest. */
    smem_note_request(c.into, "p", "z", 0, 5);
    struct collected again = {smem_new(0, 0), "", 0};
    smem_each(c.into, 6, collect, &again);
    CU_ASSERT_EQUAL(memcmp(again.order, "zab", 3), 0);
    smem_free(again.into);
    smem_free(c.into);
    smem_free(m);
}

void register_tests(void)
{
    CU_pSuite s = CU_add_suite("session_memory", tu_suite_init, tu_suite_clean);
    TU_ADD(s, test_note_and_get);
    TU_ADD(s, test_lru_limit);
    TU_ADD(s, test_idle_sweep);
    TU_ADD(s, test_each_and_restore);
}
