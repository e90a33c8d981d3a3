/* Unit tests for zend/forward/limiter.c: slots up to the limit, FIFO admission from
 * the loop (never from inside the call that freed a slot), no newcomer
 * jumping the queue, the queue timeout, a raised limit applying from the next
 * admission, and a closed limiter (draining) admitting nobody. A randomised
 * test checks the invariants over many mixed operations. */
#include "limiter.h"

#include <CUnit/CUnit.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "testutil.h"

#define LIMITER_TEST_SEED 0x11a17e5ULL
#define WAITERS 16
#define RANDOM_STEPS 5000
/* Long enough never to expire during a test that does not want it to. */
#define NO_TIMEOUT_S 3600.0

struct fixture {
    struct ev_loop *loop;
    struct limiter l;
    struct limiter_waiter w[WAITERS];
    int admitted[WAITERS], timed_out[WAITERS];
    int order[WAITERS];
    size_t n_order;
};

static struct fixture fx;

static size_t index_of(struct limiter_waiter *w) { return (size_t)(w - fx.w); }

static void on_admit(void *ctx, struct limiter_waiter *w)
{
    CU_ASSERT_PTR_EQUAL(ctx, &fx);
    fx.admitted[index_of(w)]++;
    fx.order[fx.n_order++] = (int)index_of(w);
}

static void on_timeout(void *ctx, struct limiter_waiter *w)
{
    fx.timed_out[index_of(w)]++;
    limiter_cancel(&fx.l, w); /* the owner ends it, as the proxy does */
}

static void setup(void)
{
    memset(&fx, 0, sizeof(fx));
    fx.loop = ev_loop_new(EVFLAG_AUTO);
    limiter_init(&fx.l, fx.loop, 2, on_admit, on_timeout, &fx);
}

static void teardown(void)
{
    struct limiter_waiter *w;
    while ((w = limiter_first(&fx.l)))
        limiter_cancel(&fx.l, w);
    limiter_fini(&fx.l);
    ev_loop_destroy(fx.loop);
}

/* Runs the loop until nothing is pending (the admission timer is 0 s). */
static void run_pending(void)
{
    for (int i = 0; i < 10; i++)
        ev_run(fx.loop, EVRUN_NOWAIT);
}

static void test_slots_then_queue(void)
{
    CU_ASSERT_EQUAL(limiter_enter(&fx.l, &fx.w[0], NO_TIMEOUT_S), 1);
    CU_ASSERT_EQUAL(limiter_enter(&fx.l, &fx.w[1], NO_TIMEOUT_S), 1);
    CU_ASSERT_EQUAL(fx.l.used, 2);
    CU_ASSERT_EQUAL(limiter_enter(&fx.l, &fx.w[2], NO_TIMEOUT_S), 0);
    CU_ASSERT_EQUAL(fx.l.queued, 1);
    CU_ASSERT_PTR_EQUAL(limiter_first(&fx.l), &fx.w[2]);
}

static void test_fifo_from_the_loop(void)
{
    limiter_enter(&fx.l, &fx.w[0], NO_TIMEOUT_S);
    limiter_enter(&fx.l, &fx.w[1], NO_TIMEOUT_S);
    for (int i = 2; i < 6; i++)
        CU_ASSERT_EQUAL(limiter_enter(&fx.l, &fx.w[i], NO_TIMEOUT_S), 0);
    limiter_release(&fx.l);
    limiter_release(&fx.l);
    /* not from inside release: only once the loop runs */
    CU_ASSERT_EQUAL(fx.n_order, 0);
    CU_ASSERT_EQUAL(fx.l.used, 0);
    run_pending();
    CU_ASSERT_EQUAL_FATAL(fx.n_order, 2);
    CU_ASSERT_EQUAL(fx.order[0], 2);
    CU_ASSERT_EQUAL(fx.order[1], 3);
    CU_ASSERT_EQUAL(fx.l.used, 2);
    CU_ASSERT_EQUAL(fx.l.queued, 2);
    CU_ASSERT_PTR_EQUAL(limiter_first(&fx.l), &fx.w[4]);
}

static void test_newcomer_waits_behind_the_queue(void)
{
    limiter_enter(&fx.l, &fx.w[0], NO_TIMEOUT_S);
    limiter_enter(&fx.l, &fx.w[1], NO_TIMEOUT_S);
    limiter_enter(&fx.l, &fx.w[2], NO_TIMEOUT_S);
    limiter_release(&fx.l);
    /* a slot is free, but w[2] waited first */
    CU_ASSERT_EQUAL(limiter_enter(&fx.l, &fx.w[3], NO_TIMEOUT_S), 0);
    run_pending();
    CU_ASSERT_EQUAL(fx.admitted[2], 1);
    CU_ASSERT_EQUAL(fx.admitted[3], 0);
}

static void test_queue_timeout(void)
{
    limiter_enter(&fx.l, &fx.w[0], NO_TIMEOUT_S);
    limiter_enter(&fx.l, &fx.w[1], NO_TIMEOUT_S);
    limiter_enter(&fx.l, &fx.w[2], 0.01);
    limiter_enter(&fx.l, &fx.w[3], NO_TIMEOUT_S);
    for (int i = 0; i < 200 && !fx.timed_out[2]; i++)
        ev_run(fx.loop, EVRUN_ONCE);
    CU_ASSERT_EQUAL(fx.timed_out[2], 1);
    CU_ASSERT_EQUAL(fx.timed_out[3], 0);
    CU_ASSERT_EQUAL(fx.l.queued, 1);
    CU_ASSERT_PTR_EQUAL(limiter_first(&fx.l), &fx.w[3]);
    /* an admitted waiter's timer is stopped: it never times out later */
    limiter_release(&fx.l);
    run_pending();
    CU_ASSERT_EQUAL(fx.admitted[3], 1);
    CU_ASSERT_FALSE(ev_is_active(&fx.w[3].timer));
}

static void test_raised_limit_applies_at_next_admission(void)
{
    limiter_enter(&fx.l, &fx.w[0], NO_TIMEOUT_S);
    limiter_enter(&fx.l, &fx.w[1], NO_TIMEOUT_S);
    for (int i = 2; i < 6; i++)
        limiter_enter(&fx.l, &fx.w[i], NO_TIMEOUT_S);
    limiter_set_max(&fx.l, 4);
    run_pending();
    CU_ASSERT_EQUAL(fx.n_order, 0); /* holders keep their slots; nothing moves yet */
    limiter_release(&fx.l);
    run_pending();
    CU_ASSERT_EQUAL(fx.n_order, 3); /* 1 holder left, 3 slots given */
    CU_ASSERT_EQUAL(fx.l.used, 4);
    /* lowered: nobody loses a slot, nobody new gets one */
    limiter_set_max(&fx.l, 1);
    limiter_release(&fx.l);
    run_pending();
    CU_ASSERT_EQUAL(fx.n_order, 3);
    CU_ASSERT_EQUAL(fx.l.used, 3);
}

static void test_closed_admits_nobody(void)
{
    limiter_enter(&fx.l, &fx.w[0], NO_TIMEOUT_S);
    limiter_enter(&fx.l, &fx.w[1], NO_TIMEOUT_S);
    limiter_enter(&fx.l, &fx.w[2], NO_TIMEOUT_S);
    limiter_close(&fx.l);
    limiter_release(&fx.l);
    run_pending();
    CU_ASSERT_EQUAL(fx.admitted[2], 0);
    CU_ASSERT_PTR_EQUAL(limiter_first(&fx.l), &fx.w[2]);
}

/* Random enters, releases, cancels and loop runs: used never exceeds the
 * limit once admissions settle, queued matches the queue, and every waiter is
 * admitted in the order it entered. */
static void test_random_operations(void)
{
    enum { OUT, HOLDING, WAITING } st[WAITERS] = {0};
    int entered_seq[WAITERS] = {0}, seq = 0, last_admitted_seq = 0;
    for (int step = 0; step < RANDOM_STEPS; step++) {
        size_t i = tu_rng_below(WAITERS);
        switch (tu_rng_below(4)) {
        case 0:
            if (st[i] == OUT) {
                entered_seq[i] = ++seq;
                st[i] = limiter_enter(&fx.l, &fx.w[i], NO_TIMEOUT_S) ? HOLDING : WAITING;
            }
            break;
        case 1:
            if (st[i] == HOLDING) {
                limiter_release(&fx.l);
                st[i] = OUT;
            }
            break;
        case 2:
            if (st[i] == WAITING) {
                limiter_cancel(&fx.l, &fx.w[i]);
                st[i] = OUT;
            }
            break;
        default: {
            size_t before = fx.n_order;
            run_pending();
            for (size_t k = before; k < fx.n_order; k++) {
                int w = fx.order[k];
                CU_ASSERT_EQUAL(st[w], WAITING);
                CU_ASSERT_TRUE(entered_seq[w] > last_admitted_seq);
                last_admitted_seq = entered_seq[w];
                st[w] = HOLDING;
            }
            fx.n_order = 0;
            CU_ASSERT_TRUE(fx.l.used <= fx.l.max);
            CU_ASSERT_TRUE(fx.l.queued == 0 || fx.l.used == fx.l.max);
            break;
        }
        }
        size_t holding = 0, waiting = 0;
        for (size_t k = 0; k < WAITERS; k++) {
            holding += st[k] == HOLDING;
            waiting += st[k] == WAITING;
        }
        CU_ASSERT_EQUAL(fx.l.used, holding);
        CU_ASSERT_EQUAL(fx.l.queued, waiting);
    }
}

void register_tests(void)
{
    tu_rng_seed(LIMITER_TEST_SEED);
    CU_pSuite s = CU_add_suite_with_setup_and_teardown("limiter", NULL, NULL, setup, teardown);
    TU_ADD(s, test_slots_then_queue);
    TU_ADD(s, test_fifo_from_the_loop);
    TU_ADD(s, test_newcomer_waits_behind_the_queue);
    TU_ADD(s, test_queue_timeout);
    TU_ADD(s, test_raised_limit_applies_at_next_admission);
    TU_ADD(s, test_closed_admits_nobody);
    TU_ADD(s, test_random_operations);
}
