/* Unit tests for lib/stats.c: nearest-rank exactness on hand-picked sets,
 * and randomised invariants (chrony's test/unit/quantiles.c style): the
 * percentiles stay ordered and inside the window, match a brute-force
 * definition, and the ring keeps exactly the last `cap` samples. White-box:
 * includes the module to check nearest_rank directly. */
#include "../../lib/stats.c"

#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>

#include "testutil.h"

#define RANDOM_ROUNDS 300
#define RANDOM_MAX_CAP 64
#define RANDOM_MAX_ADDS 300

/* Values with many duplicates and negatives, the cases sorting gets wrong. */
static double rng_sample(void)
{
    switch (tu_rng_below(3)) {
    case 0:
        return (double)tu_rng_below(10);
    case 1:
        return (double)(int64_t)tu_rng_below(2000001) / 1000.0 - 1000.0;
    default:
        return (double)tu_rng_below(1u << 30) / 7.0;
    }
}

static void shuffle(double *v, size_t n)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = tu_rng_below(i);
        double t = v[i - 1];
        v[i - 1] = v[j];
        v[j] = t;
    }
}

/* The definition, independent of the sort-and-index implementation: the
 * smallest sample x with at least p % of the samples <= x, i.e.
 * count(<= x) * 100 >= p * n. */
static double brute_nearest_rank(const double *v, size_t n, double p)
{
    double best = 0;
    int found = 0;
    for (size_t i = 0; i < n; i++) {
        size_t at_most = 0;
        for (size_t j = 0; j < n; j++)
            at_most += v[j] <= v[i];
        if ((double)at_most * 100.0 >= p * (double)n && (!found || v[i] < best)) {
            best = v[i];
            found = 1;
        }
    }
    return best;
}

static void test_ring_init_refuses_zero_cap(void)
{
    struct zstats_ring r;
    CU_ASSERT_EQUAL(zstats_ring_init(&r, 0), ZEN_ERR);
    CU_ASSERT_PTR_NULL(r.samples);
    zstats_ring_add(&r, 1.0); /* ignored, must not crash */
    CU_ASSERT_EQUAL(r.idx.len, 0);
    zstats_ring_free(&r);
    zstats_ring_free(&r); /* a second free is harmless */
}

static void test_empty_ring_gives_zeros(void)
{
    struct zstats_ring r;
    CU_ASSERT_EQUAL_FATAL(zstats_ring_init(&r, 8), ZEN_OK);
    const double p[] = {50, 95, 99};
    double out[3] = {-1, -1, -1}, max = -1;
    zstats_ring_percentiles(&r, p, 3, out, &max);
    CU_ASSERT_EQUAL(out[0], 0);
    CU_ASSERT_EQUAL(out[1], 0);
    CU_ASSERT_EQUAL(out[2], 0);
    CU_ASSERT_EQUAL(max, 0);
    zstats_ring_percentiles(&r, p, 3, out, NULL); /* max may be NULL */
    zstats_ring_free(&r);
}

static void test_one_to_hundred_exact(void)
{
    struct zstats_ring r;
    double v[100];
    CU_ASSERT_EQUAL_FATAL(zstats_ring_init(&r, 100), ZEN_OK);
    for (int i = 0; i < 100; i++)
        v[i] = i + 1;
    shuffle(v, 100);
    for (int i = 0; i < 100; i++)
        zstats_ring_add(&r, v[i]);
    const double p[] = {50, 95, 99, 100, 1, 0.5, 99.5, 25};
    const double want[] = {50, 95, 99, 100, 1, 1, 100, 25};
    double out[ZEN_ARRAY_LEN(p)], max;
    zstats_ring_percentiles(&r, p, ZEN_ARRAY_LEN(p), out, &max);
    for (size_t i = 0; i < ZEN_ARRAY_LEN(p); i++) {
        if (out[i] != want[i])
            fprintf(stderr, "\n  p%g: got %g want %g\n", p[i], out[i], want[i]);
        CU_ASSERT_EQUAL(out[i], want[i]);
    }
    CU_ASSERT_EQUAL(max, 100);
    zstats_ring_free(&r);
}

/* The textbook example for nearest rank: {15, 20, 35, 40, 50}. */
static void test_small_set_exact(void)
{
    struct zstats_ring r;
    CU_ASSERT_EQUAL_FATAL(zstats_ring_init(&r, 5), ZEN_OK);
    const double v[] = {50, 35, 15, 40, 20};
    for (size_t i = 0; i < ZEN_ARRAY_LEN(v); i++)
        zstats_ring_add(&r, v[i]);
    const double p[] = {5, 30, 40, 50, 100};
    const double want[] = {15, 20, 20, 35, 50};
    double out[5], max;
    zstats_ring_percentiles(&r, p, 5, out, &max);
    for (size_t i = 0; i < 5; i++)
        CU_ASSERT_EQUAL(out[i], want[i]);
    CU_ASSERT_EQUAL(max, 50);
    zstats_ring_free(&r);
}

static void test_single_sample_and_out_of_range_p(void)
{
    struct zstats_ring r;
    CU_ASSERT_EQUAL_FATAL(zstats_ring_init(&r, 4), ZEN_OK);
    zstats_ring_add(&r, 7.25);
    const double p[] = {0.001, 50, 100, 0, -5, 250};
    double out[6], max;
    zstats_ring_percentiles(&r, p, 6, out, &max);
    for (size_t i = 0; i < 6; i++)
        CU_ASSERT_EQUAL(out[i], 7.25);
    CU_ASSERT_EQUAL(max, 7.25);

    zstats_ring_add(&r, 1);
    zstats_ring_add(&r, 9);
    zstats_ring_percentiles(&r, p, 6, out, &max);
    CU_ASSERT_EQUAL(out[3], 1); /* p <= 0: minimum */
    CU_ASSERT_EQUAL(out[4], 1);
    CU_ASSERT_EQUAL(out[5], 9); /* p > 100: maximum */
    zstats_ring_free(&r);
}

static void test_nearest_rank_integer_percentiles(void)
{
    /* ceil(p * n / 100) must not overshoot where p/100*n is inexact. */
    for (size_t n = 1; n <= 2000; n++)
        for (int p = 1; p <= 100; p++) {
            size_t want = ((size_t)p * n + 99) / 100;
            size_t got = nearest_rank(p, n);
            if (got != want) {
                fprintf(stderr, "\n  n=%zu p=%d: got %zu want %zu\n", n, p, got, want);
                CU_FAIL("nearest_rank");
                return;
            }
        }
    CU_ASSERT_EQUAL(nearest_rank(50, 1000), 500);
}

static void test_nan_is_dropped(void)
{
    struct zstats_ring r;
    CU_ASSERT_EQUAL_FATAL(zstats_ring_init(&r, 4), ZEN_OK);
    volatile double zero = 0;
    zstats_ring_add(&r, zero / zero);
    CU_ASSERT_EQUAL(r.idx.len, 0);
    zstats_ring_add(&r, 3);
    zstats_ring_add(&r, zero / zero);
    CU_ASSERT_EQUAL(r.idx.len, 1);
    zstats_ring_free(&r);
}

static void test_ring_keeps_last_cap(void)
{
    struct zstats_ring r;
    CU_ASSERT_EQUAL_FATAL(zstats_ring_init(&r, 10), ZEN_OK);
    for (int i = 1; i <= 25; i++)
        zstats_ring_add(&r, i);
    CU_ASSERT_EQUAL(r.idx.len, 10);
    const double p[] = {0.1, 50, 100};
    double out[3], max;
    zstats_ring_percentiles(&r, p, 3, out, &max);
    CU_ASSERT_EQUAL(out[0], 16); /* 1..15 were overwritten */
    CU_ASSERT_EQUAL(out[1], 20);
    CU_ASSERT_EQUAL(out[2], 25);
    CU_ASSERT_EQUAL(max, 25);
    /* Computing percentiles leaves the ring's order alone: the next sample
     * still replaces the oldest (16), not the smallest of a sorted copy. */
    zstats_ring_add(&r, 100);
    zstats_ring_percentiles(&r, p, 3, out, &max);
    CU_ASSERT_EQUAL(out[0], 17);
    CU_ASSERT_EQUAL(max, 100);
    zstats_ring_free(&r);
}

/* Percentiles ordered, within [min, max] of the last cap samples, equal to
 * the brute-force definition, and the same with a caller's scratch. */
static void test_random_invariants(void)
{
    const double p[] = {0.1, 1, 25, 50, 75, 90, 95, 99, 99.9, 100};
    enum { NP = ZEN_ARRAY_LEN(p) };
    double all[RANDOM_MAX_ADDS], scratch[RANDOM_MAX_CAP];
    int failures = 0;

    for (int round = 0; round < RANDOM_ROUNDS && failures < 5; round++) {
        struct zstats_ring r;
        size_t cap = 1 + tu_rng_below(RANDOM_MAX_CAP);
        size_t adds = tu_rng_below(RANDOM_MAX_ADDS + 1);
        CU_ASSERT_EQUAL_FATAL(zstats_ring_init(&r, cap), ZEN_OK);
        for (size_t i = 0; i < adds; i++) {
            all[i] = rng_sample();
            zstats_ring_add(&r, all[i]);
        }
        size_t window = adds < cap ? adds : cap;
        const double *last = all + (adds - window);
        CU_ASSERT_EQUAL(r.idx.len, window);

        double out[NP], out2[NP], max, max2;
        zstats_ring_percentiles(&r, p, NP, out, &max);
        zstats_ring_percentiles_scratch(&r, p, NP, out2, &max2, scratch);
        CU_ASSERT_EQUAL(max, max2);

        if (window == 0) {
            for (size_t i = 0; i < NP; i++)
                CU_ASSERT_EQUAL(out[i], 0);
            CU_ASSERT_EQUAL(max, 0);
            zstats_ring_free(&r);
            continue;
        }
        double lo = last[0], hi = last[0];
        for (size_t i = 1; i < window; i++) {
            lo = last[i] < lo ? last[i] : lo;
            hi = last[i] > hi ? last[i] : hi;
        }
        int ok = max == hi;
        for (size_t i = 0; i < NP; i++) {
            ok &= out[i] == out2[i];
            ok &= out[i] >= lo && out[i] <= max;
            ok &= i == 0 || out[i - 1] <= out[i];
            ok &= out[i] == brute_nearest_rank(last, window, p[i]);
        }
        if (!ok) {
            fprintf(stderr, "\n  round %d (cap %zu, adds %zu) broke an invariant\n", round, cap,
                    adds);
            failures++;
        }
        CU_ASSERT(ok);
        zstats_ring_free(&r);
    }
}

static void test_hist_bounds_and_boundaries(void)
{
    for (size_t i = 1; i < ZSTATS_HIST_BUCKETS; i++)
        CU_ASSERT(zstats_hist_bounds[i - 1] < zstats_hist_bounds[i]);
    CU_ASSERT_EQUAL(zstats_hist_bounds[0], 0.05);
    CU_ASSERT_EQUAL(zstats_hist_bounds[ZSTATS_HIST_BUCKETS - 1], 300);

    struct zstats_hist h = {0};
    zstats_hist_add(&h, 0.05);  /* le is inclusive: first bucket */
    zstats_hist_add(&h, 0.051); /* second */
    zstats_hist_add(&h, -3);    /* clock step: counts as 0 */
    zstats_hist_add(&h, 301);   /* +Inf */
    volatile double zero = 0;
    zstats_hist_add(&h, zero / zero); /* dropped */
    CU_ASSERT_EQUAL(h.count, 4);
    CU_ASSERT_EQUAL(h.counts[0], 2);
    CU_ASSERT_EQUAL(h.counts[1], 1);
    CU_ASSERT_EQUAL(h.counts[ZSTATS_HIST_BUCKETS], 1);
    CU_ASSERT_EQUAL(zstats_hist_cumulative(&h, 0), 2);
    CU_ASSERT_EQUAL(zstats_hist_cumulative(&h, 1), 3);
    CU_ASSERT_EQUAL(zstats_hist_cumulative(&h, ZSTATS_HIST_BUCKETS - 1), 3);
    CU_ASSERT_EQUAL(zstats_hist_cumulative(&h, ZSTATS_HIST_BUCKETS), 4);
    CU_ASSERT_EQUAL(zstats_hist_cumulative(&h, ZSTATS_HIST_BUCKETS + 7), 4);
    CU_ASSERT_DOUBLE_EQUAL(h.sum, 0.05 + 0.051 + 301, 1e-9);
}

/* Cumulative counts never decrease, the +Inf bucket equals count, and each
 * bucket holds exactly the samples <= its bound. */
static void test_hist_random_cumulative(void)
{
    enum { N = 5000 };
    static double v[N];
    struct zstats_hist h = {0};
    double sum = 0;
    for (size_t i = 0; i < N; i++) {
        v[i] = (double)tu_rng_below(400000) / 1000.0; /* 0 .. 400 s */
        zstats_hist_add(&h, v[i]);
        sum += v[i];
    }
    CU_ASSERT_EQUAL(h.count, N);
    CU_ASSERT_DOUBLE_EQUAL(h.sum, sum, 1e-6);
    uint64_t prev = 0;
    for (size_t b = 0; b <= ZSTATS_HIST_BUCKETS; b++) {
        uint64_t c = zstats_hist_cumulative(&h, b);
        CU_ASSERT(c >= prev);
        prev = c;
        if (b == ZSTATS_HIST_BUCKETS)
            break;
        uint64_t want = 0;
        for (size_t i = 0; i < N; i++)
            want += v[i] <= zstats_hist_bounds[b];
        CU_ASSERT_EQUAL(c, want);
    }
    CU_ASSERT_EQUAL(prev, h.count);
}

void register_tests(void)
{
    tu_rng_seed(0x9E3779B97F4A7C15ull);
    CU_pSuite s = CU_add_suite("stats", NULL, NULL);
    TU_ADD(s, test_ring_init_refuses_zero_cap);
    TU_ADD(s, test_empty_ring_gives_zeros);
    TU_ADD(s, test_one_to_hundred_exact);
    TU_ADD(s, test_small_set_exact);
    TU_ADD(s, test_single_sample_and_out_of_range_p);
    TU_ADD(s, test_nearest_rank_integer_percentiles);
    TU_ADD(s, test_nan_is_dropped);
    TU_ADD(s, test_ring_keeps_last_cap);
    TU_ADD(s, test_random_invariants);
    TU_ADD(s, test_hist_bounds_and_boundaries);
    TU_ADD(s, test_hist_random_cumulative);
}
