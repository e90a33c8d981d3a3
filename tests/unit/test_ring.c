/* Unit tests for lib/ring.c: a model check against a plain array of
 * everything ever pushed (the ring must name exactly the last `cap` of them,
 * oldest first), over random capacities and push counts, plus the edges:
 * a ring of one, eviction reported exactly when full, clear. */
#include <CUnit/CUnit.h>
#include <stdlib.h>

#include "ring.h"
#include "testutil.h"

#define MAX_CAP 17
#define MAX_PUSHES 200

static void test_ring_of_one(void)
{
    struct zring r = {0};
    int ev = -1;
    CU_ASSERT_EQUAL(zring_push(&r, 1, &ev), 0);
    CU_ASSERT_EQUAL(ev, 0);
    CU_ASSERT_EQUAL(r.len, 1);
    CU_ASSERT_EQUAL(zring_push(&r, 1, &ev), 0);
    CU_ASSERT_EQUAL(ev, 1);
    CU_ASSERT_EQUAL(r.len, 1);
    CU_ASSERT_EQUAL(zring_slot(&r, 1, 0), 0);
    zring_clear(&r);
    CU_ASSERT_EQUAL(r.len, 0);
    CU_ASSERT_EQUAL(zring_push(&r, 1, NULL), 0);
}

static void test_random_against_model(void)
{
    for (int round = 0; round < 300; round++) {
        size_t cap = 1 + tu_rng_below(MAX_CAP);
        size_t pushes = tu_rng_below(MAX_PUSHES);
        int slots[MAX_CAP];
        int all[MAX_PUSHES];
        struct zring r = {0};
        for (size_t k = 0; k < pushes; k++) {
            int ev = -1;
            size_t slot = zring_push(&r, cap, &ev);
            CU_ASSERT_FATAL(slot < cap);
            CU_ASSERT_EQUAL(ev, k >= cap);
            /* The evicted slot held the oldest of the last cap pushes. */
            if (ev)
                CU_ASSERT_EQUAL(slots[slot], all[k - cap]);
            all[k] = (int)k;
            slots[slot] = (int)k;
            CU_ASSERT_EQUAL(r.len, k + 1 < cap ? k + 1 : cap);
        }
        size_t first = pushes > cap ? pushes - cap : 0;
        CU_ASSERT_EQUAL(r.len, pushes - first);
        for (size_t i = 0; i < r.len; i++)
            CU_ASSERT_EQUAL(slots[zring_slot(&r, cap, i)], all[first + i]);
        /* Until the ring first fills, the elements sit in slots [0, len). */
        if (pushes < cap)
            for (size_t i = 0; i < r.len; i++)
                CU_ASSERT_EQUAL(zring_slot(&r, cap, i), i);
    }
}

/* Pushes and pops interleaved at random behave as a bounded FIFO that
 * drops its oldest element when full. */
static void test_fifo_against_model(void)
{
    for (int round = 0; round < 300; round++) {
        size_t cap = 1 + tu_rng_below(MAX_CAP);
        int slots[MAX_CAP];
        int model[MAX_PUSHES];
        size_t mfirst = 0, mlen = 0;
        struct zring r = {0};
        for (int k = 0; k < MAX_PUSHES; k++) {
            if (mlen > 0 && tu_rng_below(3) == 0) {
                size_t slot = zring_pop(&r, cap);
                CU_ASSERT_FATAL(slot < cap);
                CU_ASSERT_EQUAL(slots[slot], model[mfirst]);
                mfirst++;
                mlen--;
            } else {
                int ev = -1;
                size_t slot = zring_push(&r, cap, &ev);
                CU_ASSERT_FATAL(slot < cap);
                CU_ASSERT_EQUAL(ev, mlen == cap);
                if (mlen == cap) {
                    CU_ASSERT_EQUAL(slots[slot], model[mfirst]);
                    mfirst++;
                    mlen--;
                }
                slots[slot] = k;
                model[mfirst + mlen] = k;
                mlen++;
            }
            CU_ASSERT_EQUAL_FATAL(r.len, mlen);
            for (size_t i = 0; i < mlen; i++)
                CU_ASSERT_EQUAL(slots[zring_slot(&r, cap, i)], model[mfirst + i]);
        }
    }
}

void register_tests(void)
{
    tu_rng_seed(0x9E3779B97F4A7C15ull);
    CU_pSuite s = CU_add_suite("ring", NULL, NULL);
    TU_ADD(s, test_ring_of_one);
    TU_ADD(s, test_random_against_model);
    TU_ADD(s, test_fifo_against_model);
}
