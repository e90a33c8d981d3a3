/* Unit tests for zend/forward/metrics.c: the counts add up over random records,
 * the failover definition, tallies by type, provider and status, the JSON
 * carries every field of proto/PROTOCOL.md `metrics`, the provider table is capped,
 * resource sampling reads plausible values, and metrics_record allocates
 * nothing once its providers are known.
 *
 * White-box: includes the module, with malloc/calloc/realloc/strdup routed
 * through counters so the no-allocation promise is checked, not assumed. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static size_t alloc_calls;

/* Unused ones stay ready for when the module starts calling them. */
#define COUNTING __attribute__((unused)) static
COUNTING void *counting_malloc(size_t n) { alloc_calls++; return malloc(n); }
COUNTING void *counting_calloc(size_t k, size_t n) { alloc_calls++; return calloc(k, n); }
COUNTING void *counting_realloc(void *p, size_t n) { alloc_calls++; return realloc(p, n); }
COUNTING char *counting_strdup(const char *s) { alloc_calls++; return strdup(s); }

#define malloc(n) counting_malloc(n)
#define calloc(k, n) counting_calloc(k, n)
#define realloc(p, n) counting_realloc(p, n)
#define strdup(s) counting_strdup(s)
#include "../../zend/forward/metrics.c"
#undef malloc
#undef calloc
#undef realloc
#undef strdup

#include <CUnit/CUnit.h>

#include "testutil.h"

#define RANDOM_RECORDS 500
#define POOL_SIZE 4

static const char *const provider_pool[POOL_SIZE] = {"alpha", "beta", "gamma", "delta"};

/* ---- JSON helpers ---- */

static json_int_t get_int(const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);
    if (!json_is_integer(v)) {
        fprintf(stderr, "\n  \"%s\" is missing or not an integer\n", key);
        CU_FAIL("integer field");
        return -1;
    }
    return json_integer_value(v);
}

static double get_real(const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);
    if (!json_is_real(v)) {
        fprintf(stderr, "\n  \"%s\" is missing or not a real\n", key);
        CU_FAIL("real field");
        return -1;
    }
    return json_real_value(v);
}

/* An entry of a {name: n} object, 0 when absent (absent must mean zero). */
static json_int_t get_int_or_zero(const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);
    return v ? json_integer_value(v) : 0;
}

static struct metrics_record simple_record(int status, int success, const char *provider,
                                           double duration_ms)
{
    struct metrics_record r = {
        .status = status, .success = success, .provider = provider,
        .duration_ms = duration_ms, .ttfb_ms = -1,
    };
    return r;
}

/* ---- tests ---- */

static void test_error_type_names(void)
{
    const char *want[ZERR__COUNT] = {"none", "auth", "rate_limit", "request", "server",
                                     "network", "timeout", "concurrency",
                                     "stream_interrupted", "client_closed", "stream"};
    for (int t = 0; t < ZERR__COUNT; t++)
        CU_ASSERT_STRING_EQUAL(zen_error_type_name(t), want[t]);
    CU_ASSERT_STRING_EQUAL(zen_error_type_name(-1), "unknown");
    CU_ASSERT_STRING_EQUAL(zen_error_type_name(ZERR__COUNT), "unknown");
}

/* Every field named in proto/PROTOCOL.md `metrics`, present and
 * zero on a fresh instance. */
static void test_fresh_json_has_every_field(void)
{
    static const char *const counts[] = {"requests_total", "success_count", "error_count",
                                         "in_flight", "queued", "rejected_total",
                                         "attempts_total", "failovers_total", "log_write_failed",
                                         "routed_total", "served_by_first_pick", "ttfb_count"};
    static const char *const reals[] = {"success_rate", "latency_p50_ms", "latency_p95_ms",
                                        "latency_p99_ms", "latency_max_ms", "ttfb_p50_ms",
                                        "ttfb_p95_ms", "ttfb_p99_ms", "ttfb_max_ms",
                                        "ttfb_sum_s"};
    static const char *const objects[] = {"status_codes", "latency_histogram",
                                          "errors_by_provider", "errors_by_type", "resources",
                                          "providers", "requests_by_scenario", "picked_first"};
    static const char *const resources[] = {"rss_bytes", "rss_peak_bytes", "open_fds",
                                            "open_fds_peak", "in_flight_peak",
                                            "client_connections", "client_connections_peak"};
    struct metrics *m = metrics_new();
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    json_t *j = metrics_to_json(m);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);

    for (size_t i = 0; i < ZEN_ARRAY_LEN(counts); i++)
        CU_ASSERT_EQUAL(get_int(j, counts[i]), 0);
    for (size_t i = 0; i < ZEN_ARRAY_LEN(reals); i++)
        CU_ASSERT_EQUAL(get_real(j, reals[i]), 0);
    for (size_t i = 0; i < ZEN_ARRAY_LEN(objects); i++)
        CU_ASSERT(json_is_object(json_object_get(j, objects[i])));
    CU_ASSERT(json_is_array(json_object_get(j, "tokens")));
    CU_ASSERT_EQUAL(json_array_size(json_object_get(j, "tokens")), 0);
    /* budget_spend_usd only once the budget module has set it. */
    CU_ASSERT_EQUAL(json_object_size(j), ZEN_ARRAY_LEN(counts) + ZEN_ARRAY_LEN(reals) +
                                             ZEN_ARRAY_LEN(objects) + 1);

    json_t *res = json_object_get(j, "resources");
    for (size_t i = 0; i < ZEN_ARRAY_LEN(resources); i++)
        CU_ASSERT_EQUAL(get_int(res, resources[i]), 0);

    json_t *types = json_object_get(j, "errors_by_type");
    CU_ASSERT_EQUAL(json_object_size(types), 10);
    for (int t = ZERR_NONE + 1; t < ZERR__COUNT; t++)
        CU_ASSERT_EQUAL(get_int(types, zen_error_type_name(t)), 0);
    CU_ASSERT_PTR_NULL(json_object_get(types, "none"));

    json_t *h = json_object_get(j, "latency_histogram");
    CU_ASSERT_EQUAL(json_array_size(json_object_get(h, "bounds_s")), ZSTATS_HIST_BUCKETS);
    CU_ASSERT_EQUAL(json_array_size(json_object_get(h, "counts")), ZSTATS_HIST_BUCKETS + 1);
    CU_ASSERT_EQUAL(get_real(h, "sum_s"), 0);
    CU_ASSERT_EQUAL(get_int(h, "count"), 0);
    CU_ASSERT_EQUAL(json_object_size(json_object_get(j, "providers")), 0);

    json_decref(j);
    metrics_free(m);
    metrics_free(NULL);
}

/* Distinct provider names among the attempts, by brute force (the module
 * uses a shortcut; this is the definition). */
static size_t distinct_providers(const struct metrics_attempt *a, size_t n)
{
    size_t distinct = 0;
    for (size_t i = 0; i < n; i++) {
        int seen = 0;
        for (size_t j = 0; j < i; j++)
            seen |= strcmp(a[i].provider, a[j].provider) == 0;
        distinct += !seen;
    }
    return distinct;
}

struct expected {
    uint64_t total, success, attempts, failovers;
    uint64_t by_type[ZERR__COUNT];
    uint64_t prov_requests[POOL_SIZE], prov_served[POOL_SIZE], prov_errors[POOL_SIZE];
    uint64_t status[METRICS_STATUS_LIMIT];
    double prov_latency_sum_ms[POOL_SIZE];
    uint64_t ttfb_count;
    double ttfb_sum_ms;
};

static size_t pool_index(const char *name)
{
    for (size_t i = 0; i < POOL_SIZE; i++)
        if (strcmp(provider_pool[i], name) == 0)
            return i;
    CU_FAIL("provider outside the pool");
    return 0;
}

/* A plausible random request: up to four attempts over the pool, the last
 * relayed when it did not fail, a request-level error now and then. */
static void random_record(struct metrics_record *r, struct metrics_attempt *a)
{
    static const int statuses[] = {0, 200, 201, 400, 401, 429, 500, 502, 503, 504};
    static const int request_errors[] = {ZERR_NONE, ZERR_NONE, ZERR_STREAM_INTERRUPTED,
                                         ZERR_CLIENT_CLOSED, ZERR_CONCURRENCY};
    size_t n = tu_rng_below(5);
    for (size_t i = 0; i < n; i++) {
        a[i].provider = provider_pool[tu_rng_below(POOL_SIZE)];
        a[i].error_type = (int)tu_rng_below(ZERR_TIMEOUT + 1); /* attempt-level types */
        a[i].status = a[i].error_type == ZERR_NETWORK ? 0 : 500;
        a[i].duration_ms = (double)tu_rng_below(100000) / 10.0;
    }
    memset(r, 0, sizeof(*r));
    r->status = statuses[tu_rng_below(ZEN_ARRAY_LEN(statuses))];
    r->success = r->status != 0 && r->status < 400 && tu_rng_below(10) != 0;
    r->provider = n && a[n - 1].error_type == ZERR_NONE ? a[n - 1].provider : NULL;
    r->duration_ms = (double)tu_rng_below(600000) / 7.0;
    r->ttfb_ms = tu_rng_below(3) ? r->duration_ms / 2 : -1;
    r->attempts = a;
    r->n_attempts = n;
    r->error_type = request_errors[tu_rng_below(ZEN_ARRAY_LEN(request_errors))];
}

static void expect_record(struct expected *e, const struct metrics_record *r)
{
    e->total++;
    e->success += r->success != 0;
    e->attempts += r->n_attempts;
    e->failovers += distinct_providers(r->attempts, r->n_attempts) > 1;
    if (r->status > 0)
        e->status[r->status]++;
    e->by_type[r->error_type]++;
    if (r->provider)
        e->prov_served[pool_index(r->provider)]++;
    for (size_t i = 0; i < r->n_attempts; i++) {
        size_t p = pool_index(r->attempts[i].provider);
        e->prov_requests[p]++;
        e->by_type[r->attempts[i].error_type]++;
        e->prov_errors[p] += r->attempts[i].error_type != ZERR_NONE;
        e->prov_latency_sum_ms[p] += r->attempts[i].duration_ms;
    }
    if (r->ttfb_ms >= 0) {
        e->ttfb_count++;
        e->ttfb_sum_ms += r->ttfb_ms;
    }
}

static void check_against(const struct expected *e, const json_t *j)
{
    json_int_t total = get_int(j, "requests_total");
    json_int_t success = get_int(j, "success_count");
    json_int_t errors = get_int(j, "error_count");
    CU_ASSERT_EQUAL(total, (json_int_t)e->total);
    CU_ASSERT_EQUAL(success, (json_int_t)e->success);
    CU_ASSERT_EQUAL(success + errors, total);
    CU_ASSERT_DOUBLE_EQUAL(get_real(j, "success_rate"), (double)e->success / (double)e->total,
                           1e-12);
    CU_ASSERT_EQUAL(get_int(j, "attempts_total"), (json_int_t)e->attempts);
    CU_ASSERT_EQUAL(get_int(j, "failovers_total"), (json_int_t)e->failovers);

    const json_t *types = json_object_get(j, "errors_by_type");
    for (int t = ZERR_NONE + 1; t < ZERR__COUNT; t++)
        CU_ASSERT_EQUAL(get_int(types, zen_error_type_name(t)), (json_int_t)e->by_type[t]);

    const json_t *codes = json_object_get(j, "status_codes");
    json_int_t coded = 0;
    for (int s = 1; s < METRICS_STATUS_LIMIT; s++) {
        char key[16];
        snprintf(key, sizeof(key), "%d", s);
        CU_ASSERT_EQUAL(get_int_or_zero(codes, key), (json_int_t)e->status[s]);
        coded += (json_int_t)e->status[s];
    }
    CU_ASSERT_PTR_NULL(json_object_get(codes, "0"));
    CU_ASSERT(coded < total); /* status 0 requests count, but not here */

    const json_t *by_provider = json_object_get(j, "errors_by_provider");
    const json_t *providers = json_object_get(j, "providers");
    for (size_t i = 0; i < POOL_SIZE; i++) {
        const json_t *p = json_object_get(providers, provider_pool[i]);
        CU_ASSERT_PTR_NOT_NULL_FATAL(p);
        CU_ASSERT_EQUAL(get_int(p, "requests"), (json_int_t)e->prov_requests[i]);
        CU_ASSERT_EQUAL(get_int(p, "served"), (json_int_t)e->prov_served[i]);
        CU_ASSERT_EQUAL(get_int(p, "errors"), (json_int_t)e->prov_errors[i]);
        CU_ASSERT_EQUAL(get_int(by_provider, provider_pool[i]), (json_int_t)e->prov_errors[i]);
        /* The provider's own errors_by_type sums to its errors. */
        json_int_t sum = 0;
        const char *key;
        const json_t *v;
        json_object_foreach(json_object_get(p, "errors_by_type"), key, v)
            sum += json_integer_value(v);
        CU_ASSERT_EQUAL(sum, (json_int_t)e->prov_errors[i]);
        double p50 = get_real(p, "latency_p50_ms"), p95 = get_real(p, "latency_p95_ms");
        double p99 = get_real(p, "latency_p99_ms");
        CU_ASSERT(p50 <= p95 && p95 <= p99);
        /* Summary totals: every attempt, beyond the percentiles' window. */
        CU_ASSERT_DOUBLE_EQUAL(get_real(p, "latency_sum_s"), e->prov_latency_sum_ms[i] / 1000.0,
                               1e-6);
    }
    CU_ASSERT_EQUAL(get_int(j, "ttfb_count"), (json_int_t)e->ttfb_count);
    CU_ASSERT_DOUBLE_EQUAL(get_real(j, "ttfb_sum_s"), e->ttfb_sum_ms / 1000.0, 1e-6);

    double lp50 = get_real(j, "latency_p50_ms"), lp95 = get_real(j, "latency_p95_ms");
    double lp99 = get_real(j, "latency_p99_ms"), lmax = get_real(j, "latency_max_ms");
    CU_ASSERT(0 <= lp50 && lp50 <= lp95 && lp95 <= lp99 && lp99 <= lmax);
    double tp50 = get_real(j, "ttfb_p50_ms"), tmax = get_real(j, "ttfb_max_ms");
    CU_ASSERT(0 <= tp50 && tp50 <= tmax && tmax <= lmax);

    const json_t *h = json_object_get(j, "latency_histogram");
    const json_t *hc = json_object_get(h, "counts");
    json_int_t prev = 0;
    for (size_t i = 0; i < json_array_size(hc); i++) {
        json_int_t c = json_integer_value(json_array_get(hc, i));
        CU_ASSERT(c >= prev);
        prev = c;
    }
    CU_ASSERT_EQUAL(prev, total); /* +Inf == count == requests */
    CU_ASSERT_EQUAL(get_int(h, "count"), total);
}

static void test_random_records_add_up(void)
{
    struct metrics *m = metrics_new();
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    static struct expected e;
    memset(&e, 0, sizeof(e));
    for (int i = 0; i < RANDOM_RECORDS; i++) {
        struct metrics_record r;
        struct metrics_attempt a[4];
        random_record(&r, a);
        metrics_record(m, &r);
        expect_record(&e, &r);
    }
    json_t *j = metrics_to_json(m);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    check_against(&e, j);
    json_decref(j);
    metrics_free(m);
}

static json_int_t failovers_after(const struct metrics_attempt *a, size_t n)
{
    struct metrics *m = metrics_new();
    struct metrics_record r = simple_record(200, 1, n ? a[n - 1].provider : NULL, 10);
    r.attempts = a;
    r.n_attempts = n;
    metrics_record(m, &r);
    metrics_record(m, &r); /* and once more: one per request, not per switch */
    json_t *j = metrics_to_json(m);
    json_int_t f = get_int(j, "failovers_total");
    CU_ASSERT_EQUAL(get_int(j, "attempts_total"), (json_int_t)(2 * n));
    json_decref(j);
    metrics_free(m);
    return f;
}

/* A failover is a request whose attempts named more than one distinct
 * provider; a same-provider retry is not one; counted once per request. */
static void test_failover_definition(void)
{
    const struct metrics_attempt a[] = {{"A", 503, ZERR_SERVER, 5}};
    const struct metrics_attempt aa[] = {{"A", 503, ZERR_SERVER, 5}, {"A", 200, ZERR_NONE, 5}};
    const struct metrics_attempt ab[] = {{"A", 0, ZERR_NETWORK, 5}, {"B", 200, ZERR_NONE, 5}};
    const struct metrics_attempt aba[] = {{"A", 0, ZERR_TIMEOUT, 5},
                                          {"B", 429, ZERR_RATE_LIMIT, 5},
                                          {"A", 200, ZERR_NONE, 5}};
    const struct metrics_attempt aab[] = {{"A", 500, ZERR_SERVER, 5},
                                          {"A", 500, ZERR_SERVER, 5},
                                          {"B", 200, ZERR_NONE, 5}};
    CU_ASSERT_EQUAL(failovers_after(NULL, 0), 0);
    CU_ASSERT_EQUAL(failovers_after(a, 1), 0);
    CU_ASSERT_EQUAL(failovers_after(aa, 2), 0);
    CU_ASSERT_EQUAL(failovers_after(ab, 2), 2);
    CU_ASSERT_EQUAL(failovers_after(aba, 3), 2);
    CU_ASSERT_EQUAL(failovers_after(aab, 3), 2);
}

/* Attempt errors go to their provider and type; request-level errors to
 * their type only; ZERR_NONE and nonsense types count nowhere. */
static void test_error_tallies(void)
{
    struct metrics *m = metrics_new();
    const struct metrics_attempt att[] = {{"A", 401, ZERR_AUTH, 3},
                                          {"B", 0, ZERR_TIMEOUT, 30000},
                                          {"C", 200, ZERR_NONE, 800}};
    struct metrics_record r = simple_record(200, 0, "C", 31000);
    r.attempts = att;
    r.n_attempts = 3;
    r.error_type = ZERR_STREAM_INTERRUPTED;
    metrics_record(m, &r);

    struct metrics_record closed = simple_record(0, 0, NULL, 50);
    closed.error_type = ZERR_CLIENT_CLOSED;
    metrics_record(m, &closed);

    struct metrics_record limited = simple_record(429, 0, NULL, 1);
    limited.error_type = ZERR_CONCURRENCY;
    metrics_record(m, &limited);

    const struct metrics_attempt odd[] = {{"A", 500, 42, 1}, {"A", 500, -3, 1},
                                          {NULL, 0, ZERR_NETWORK, 1}};
    struct metrics_record nonsense = simple_record(502, 0, NULL, 3);
    nonsense.attempts = odd;
    nonsense.n_attempts = 3;
    nonsense.error_type = 99;
    metrics_record(m, &nonsense);

    json_t *j = metrics_to_json(m);
    json_t *types = json_object_get(j, "errors_by_type");
    CU_ASSERT_EQUAL(get_int(types, "auth"), 1);
    CU_ASSERT_EQUAL(get_int(types, "timeout"), 1);
    CU_ASSERT_EQUAL(get_int(types, "stream_interrupted"), 1);
    CU_ASSERT_EQUAL(get_int(types, "client_closed"), 1);
    CU_ASSERT_EQUAL(get_int(types, "concurrency"), 1);
    CU_ASSERT_EQUAL(get_int(types, "network"), 1); /* the provider-less attempt */
    CU_ASSERT_EQUAL(get_int(types, "server"), 0);

    json_t *byp = json_object_get(j, "errors_by_provider");
    CU_ASSERT_EQUAL(get_int(byp, "A"), 1);
    CU_ASSERT_EQUAL(get_int(byp, "B"), 1);
    CU_ASSERT_EQUAL(get_int(byp, "C"), 0);
    CU_ASSERT_EQUAL(json_object_size(byp), 3);

    json_t *prov = json_object_get(j, "providers");
    json_t *a = json_object_get(prov, "A"), *c = json_object_get(prov, "C");
    CU_ASSERT_EQUAL(get_int(a, "requests"), 3);
    CU_ASSERT_EQUAL(get_int(a, "served"), 0);
    CU_ASSERT_EQUAL(get_int(json_object_get(a, "errors_by_type"), "auth"), 1);
    CU_ASSERT_EQUAL(get_int(c, "served"), 1);
    CU_ASSERT_EQUAL(get_int(c, "errors"), 0);
    CU_ASSERT_EQUAL(get_real(c, "latency_p50_ms"), 800);

    CU_ASSERT_EQUAL(get_int(j, "requests_total"), 4);
    CU_ASSERT_EQUAL(get_int(j, "success_count"), 0);
    CU_ASSERT_EQUAL(get_int(j, "error_count"), 4);
    CU_ASSERT_EQUAL(get_int(j, "attempts_total"), 6);
    CU_ASSERT_EQUAL(get_int(j, "failovers_total"), 1); /* A,B,C; not A,A,(none) */
    json_decref(j);
    metrics_free(m);
}

static void test_status_codes(void)
{
    struct metrics *m = metrics_new();
    const int statuses[] = {200, 200, 200, 404, 0, 503, 0};
    for (size_t i = 0; i < ZEN_ARRAY_LEN(statuses); i++) {
        struct metrics_record r = simple_record(statuses[i], statuses[i] == 200, NULL, 1);
        metrics_record(m, &r);
    }
    json_t *j = metrics_to_json(m);
    json_t *codes = json_object_get(j, "status_codes");
    CU_ASSERT_EQUAL(json_object_size(codes), 3);
    CU_ASSERT_EQUAL(get_int(codes, "200"), 3);
    CU_ASSERT_EQUAL(get_int(codes, "404"), 1);
    CU_ASSERT_EQUAL(get_int(codes, "503"), 1);
    CU_ASSERT_EQUAL(get_int(j, "requests_total"), 7);
    CU_ASSERT_DOUBLE_EQUAL(get_real(j, "success_rate"), 3.0 / 7.0, 1e-12);
    json_decref(j);
    metrics_free(m);
}

static void test_latency_percentiles(void)
{
    struct metrics *m = metrics_new();
    /* 1..100 ms; ttfb half the duration on even requests only: 1..50. */
    for (int i = 100; i >= 1; i--) {
        struct metrics_record r = simple_record(200, 1, NULL, i);
        r.ttfb_ms = i % 2 == 0 ? i / 2 : -1;
        metrics_record(m, &r);
    }
    json_t *j = metrics_to_json(m);
    CU_ASSERT_EQUAL(get_real(j, "latency_p50_ms"), 50);
    CU_ASSERT_EQUAL(get_real(j, "latency_p95_ms"), 95);
    CU_ASSERT_EQUAL(get_real(j, "latency_p99_ms"), 99);
    CU_ASSERT_EQUAL(get_real(j, "latency_max_ms"), 100);
    CU_ASSERT_EQUAL(get_real(j, "ttfb_p50_ms"), 25);
    CU_ASSERT_EQUAL(get_real(j, "ttfb_p95_ms"), 48); /* rank ceil(47.5) */
    CU_ASSERT_EQUAL(get_real(j, "ttfb_p99_ms"), 50);
    CU_ASSERT_EQUAL(get_real(j, "ttfb_max_ms"), 50);

    json_t *h = json_object_get(j, "latency_histogram");
    json_t *counts = json_object_get(h, "counts");
    CU_ASSERT_EQUAL(json_integer_value(json_array_get(counts, 0)), 50);  /* <= 50 ms */
    CU_ASSERT_EQUAL(json_integer_value(json_array_get(counts, 1)), 100); /* <= 100 ms */
    CU_ASSERT_DOUBLE_EQUAL(get_real(h, "sum_s"), 5.050, 1e-9);
    CU_ASSERT_EQUAL(json_real_value(json_array_get(json_object_get(h, "bounds_s"), 0)), 0.05);
    json_decref(j);
    metrics_free(m);
}

static void test_latency_rounded_to_microseconds(void)
{
    struct metrics *m = metrics_new();
    struct metrics_record r = simple_record(200, 1, NULL, 1.23456);
    r.ttfb_ms = 0.0004; /* below a microsecond: 0 */
    metrics_record(m, &r);
    json_t *j = metrics_to_json(m);
    CU_ASSERT_DOUBLE_EQUAL(get_real(j, "latency_p50_ms"), 1.235, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(get_real(j, "ttfb_p50_ms"), 0, 1e-12);
    json_decref(j);
    CU_ASSERT_DOUBLE_EQUAL(round_us(2.0004999), 2.0, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(round_us(-1.2346), -1.235, 1e-12);
    CU_ASSERT_EQUAL(round_us(5e13), 5e13); /* too large to scale: unchanged */
    metrics_free(m);
}

/* Percentiles cover the last METRICS_LATENCY_WINDOW requests only; the
 * histogram covers all of them. */
static void test_latency_window(void)
{
    struct metrics *m = metrics_new();
    for (int i = 0; i < 2 * METRICS_LATENCY_WINDOW; i++) {
        struct metrics_record r =
            simple_record(200, 1, "A", i < METRICS_LATENCY_WINDOW ? 5000 : 2);
        metrics_record(m, &r);
    }
    json_t *j = metrics_to_json(m);
    CU_ASSERT_EQUAL(get_real(j, "latency_max_ms"), 2);
    json_t *h = json_object_get(j, "latency_histogram");
    CU_ASSERT_EQUAL(get_int(h, "count"), 2 * METRICS_LATENCY_WINDOW);
    CU_ASSERT_EQUAL(json_integer_value(json_array_get(json_object_get(h, "counts"), 0)),
                    METRICS_LATENCY_WINDOW);
    json_decref(j);
    metrics_free(m);
}

/* Names are copied: the caller's buffers may change right after the call. */
static void test_provider_names_copied(void)
{
    struct metrics *m = metrics_new();
    char name[32], served[32];
    snprintf(name, sizeof(name), "temp-provider");
    snprintf(served, sizeof(served), "temp-provider");
    struct metrics_attempt a = {name, 200, ZERR_NONE, 12};
    struct metrics_record r = simple_record(200, 1, served, 13);
    r.attempts = &a;
    r.n_attempts = 1;
    metrics_record(m, &r);
    memset(name, 'X', sizeof(name) - 1);
    memset(served, 'Y', sizeof(served) - 1);
    json_t *j = metrics_to_json(m);
    json_t *p = json_object_get(json_object_get(j, "providers"), "temp-provider");
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_EQUAL(get_int(p, "requests"), 1);
    CU_ASSERT_EQUAL(get_int(p, "served"), 1);
    CU_ASSERT_EQUAL(json_object_size(json_object_get(j, "providers")), 1);
    json_decref(j);
    metrics_free(m);
}

/* Past METRICS_MAX_PROVIDERS names, new ones share "(other)"; names already
 * known keep their own entry. */
static void test_provider_table_cap(void)
{
    enum { EXTRA = 44 };
    struct metrics *m = metrics_new();
    char name[32];
    for (int i = 0; i < METRICS_MAX_PROVIDERS + EXTRA; i++) {
        snprintf(name, sizeof(name), "p%03d", i);
        struct metrics_attempt a = {name, 500, ZERR_SERVER, 1};
        struct metrics_record r = simple_record(502, 0, NULL, 1);
        r.attempts = &a;
        r.n_attempts = 1;
        metrics_record(m, &r);
    }
    struct metrics_attempt again = {"p000", 200, ZERR_NONE, 1};
    struct metrics_record r = simple_record(200, 1, "p000", 1);
    r.attempts = &again;
    r.n_attempts = 1;
    metrics_record(m, &r);
    CU_ASSERT_EQUAL(m->n_providers, METRICS_MAX_PROVIDERS + 1);

    json_t *j = metrics_to_json(m);
    json_t *prov = json_object_get(j, "providers");
    json_t *byp = json_object_get(j, "errors_by_provider");
    CU_ASSERT_EQUAL(json_object_size(prov), METRICS_MAX_PROVIDERS + 1);
    CU_ASSERT_EQUAL(json_object_size(byp), METRICS_MAX_PROVIDERS + 1);
    json_t *other = json_object_get(prov, METRICS_OTHER_PROVIDER);
    CU_ASSERT_PTR_NOT_NULL_FATAL(other);
    CU_ASSERT_EQUAL(get_int(other, "requests"), EXTRA);
    CU_ASSERT_EQUAL(get_int(other, "errors"), EXTRA);
    CU_ASSERT_EQUAL(get_int(byp, METRICS_OTHER_PROVIDER), EXTRA);
    snprintf(name, sizeof(name), "p%03d", METRICS_MAX_PROVIDERS - 1);
    CU_ASSERT_PTR_NOT_NULL(json_object_get(prov, name));
    snprintf(name, sizeof(name), "p%03d", METRICS_MAX_PROVIDERS);
    CU_ASSERT_PTR_NULL(json_object_get(prov, name));
    json_t *p0 = json_object_get(prov, "p000");
    CU_ASSERT_EQUAL(get_int(p0, "requests"), 2);
    CU_ASSERT_EQUAL(get_int(p0, "served"), 1);
    json_decref(j);
    metrics_free(m);
}

/* The request path promise: once a provider is known, recording allocates
 * nothing, however many attempts and records follow. */
static void test_record_does_not_allocate(void)
{
    struct metrics *m = metrics_new();
    const struct metrics_attempt att[] = {{"alpha", 0, ZERR_NETWORK, 12},
                                          {"beta", 200, ZERR_NONE, 340}};
    struct metrics_record r = simple_record(200, 1, "beta", 360);
    r.ttfb_ms = 100;
    r.attempts = att;
    r.n_attempts = 2;
    r.has_usage = 1;
    r.model = "m";
    r.tokens = (struct usage_tokens){10, 20, 30, 40};
    r.cost_usd = 0.25;

    alloc_calls = 0;
    metrics_record(m, &r);
    CU_ASSERT(alloc_calls > 0); /* first sight of alpha and beta: counted */

    alloc_calls = 0;
    for (int i = 0; i < 10000; i++)
        metrics_record(m, &r);
    metrics_set_in_flight(m, 3);
    metrics_set_queued(m, 1);
    metrics_set_client_connections(m, 2);
    metrics_note_rejected(m);
    CU_ASSERT_EQUAL(alloc_calls, 0);
    metrics_free(m);
}

static void test_gauges_and_peaks(void)
{
    struct metrics *m = metrics_new();
    metrics_set_in_flight(m, 5);
    metrics_set_in_flight(m, 2);
    metrics_set_queued(m, 4);
    metrics_set_queued(m, 3);
    metrics_set_client_connections(m, 7);
    metrics_set_client_connections(m, 1);
    metrics_note_rejected(m);
    metrics_note_rejected(m);
    json_t *j = metrics_to_json(m);
    json_t *res = json_object_get(j, "resources");
    CU_ASSERT_EQUAL(get_int(j, "in_flight"), 2);
    CU_ASSERT_EQUAL(get_int(res, "in_flight_peak"), 5);
    CU_ASSERT_EQUAL(get_int(j, "queued"), 3);
    CU_ASSERT_EQUAL(get_int(res, "client_connections"), 1);
    CU_ASSERT_EQUAL(get_int(res, "client_connections_peak"), 7);
    CU_ASSERT_EQUAL(get_int(j, "rejected_total"), 2);
    CU_ASSERT_EQUAL(get_int(j, "requests_total"), 0); /* rejection alone is no record */
    json_decref(j);

    metrics_set_in_flight(m, -1); /* a bookkeeping bug shows as 0, not negative */
    j = metrics_to_json(m);
    CU_ASSERT_EQUAL(get_int(j, "in_flight"), 0);
    CU_ASSERT_EQUAL(get_int(json_object_get(j, "resources"), "in_flight_peak"), 5);
    json_decref(j);
    metrics_free(m);
}

/* The sample is what metrics_resources reads: new fds show only after the
 * next metrics_sample_resources, and reading counts no sample. */
static void test_resources_read_the_sample(void)
{
    struct metrics *m = metrics_new();
    struct metrics_resources r;
    metrics_resources(m, &r);
    CU_ASSERT_EQUAL(r.samples, 0);
    CU_ASSERT_EQUAL(r.rss_bytes, 0);
    metrics_sample_resources(m);
    metrics_resources(m, &r);
    CU_ASSERT_EQUAL(r.samples, 1);
    CU_ASSERT(r.rss_bytes > 0);
    CU_ASSERT(r.heap_bytes >= 0); /* 0 under ASan: its allocator is not malloc's */
    CU_ASSERT(r.threads >= 1);
    CU_ASSERT(r.fd_limit != 0);
    CU_ASSERT_EQUAL(r.open_fds, m->open_fds);
    int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    struct metrics_resources again;
    metrics_resources(m, &again);
    CU_ASSERT_EQUAL(again.open_fds, r.open_fds);
    CU_ASSERT_EQUAL(again.samples, 1);
    metrics_sample_resources(m);
    metrics_resources(m, &again);
    CU_ASSERT_EQUAL(again.open_fds, r.open_fds + 1);
    CU_ASSERT_EQUAL(again.samples, 2);
    close(fd);
    metrics_free(m);
}

/* The latency summary is kept between requests (health asks for it per
 * call) and follows every new record. */
static void test_latency_summary_follows_records(void)
{
    struct metrics *m = metrics_new();
    struct metrics_latency a, b;
    metrics_latency_summary(m, &a);
    CU_ASSERT_EQUAL(a.p99_ms, 0);
    for (int i = 1; i <= 100; i++) {
        struct metrics_record r = {.status = 200, .success = 1, .duration_ms = i, .ttfb_ms = -1};
        metrics_record(m, &r);
    }
    metrics_latency_summary(m, &a);
    CU_ASSERT_DOUBLE_EQUAL(a.p99_ms, 99, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(a.max_ms, 100, 1e-9);
    metrics_latency_summary(m, &b);
    CU_ASSERT_EQUAL(memcmp(&a, &b, sizeof(a)), 0);
    struct metrics_record slow = {.status = 200, .success = 1, .duration_ms = 5000, .ttfb_ms = -1};
    metrics_record(m, &slow);
    metrics_latency_summary(m, &b);
    CU_ASSERT_DOUBLE_EQUAL(b.max_ms, 5000, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(b.p99_ms, 100, 1e-9);
    metrics_free(m);
}

static void test_resources_plausible(void)
{
    struct metrics *m = metrics_new();
    metrics_sample_resources(m);
    json_t *j = metrics_to_json(m);
    json_t *res = json_object_get(j, "resources");
    json_int_t rss = get_int(res, "rss_bytes"), fds = get_int(res, "open_fds");
    CU_ASSERT(rss > 0);
    CU_ASSERT(rss % sysconf(_SC_PAGESIZE) == 0);
    CU_ASSERT(fds >= 3); /* stdin, stdout, stderr at least */
    CU_ASSERT(get_int(res, "rss_peak_bytes") >= rss);
    CU_ASSERT(get_int(res, "open_fds_peak") >= fds);
    json_decref(j);
    metrics_free(m);
}

/* /proc/self/fd as scandir sees it, minus the descriptor scandir itself
 * held while listing (under valgrind both also see valgrind's own fds). */
static int64_t fds_by_scandir(void)
{
    struct dirent **list;
    int n = scandir("/proc/self/fd", &list, NULL, NULL);
    CU_ASSERT_FATAL(n > 0);
    int64_t fds = 0;
    for (int i = 0; i < n; i++) {
        fds += list[i]->d_name[0] != '.';
        free(list[i]); list[i] = NULL;
    }
    free(list); list = NULL;
    return fds - 1;
}

/* The count leaves out the listing's own descriptor, moves by exactly the
 * descriptors opened, and the peak stays. */
static void test_open_fds_counts_exactly(void)
{
    enum { EXTRA_FDS = 5 };
    struct metrics *m = metrics_new();
    metrics_sample_resources(m);
    int64_t base = m->open_fds;
    CU_ASSERT_EQUAL(base, fds_by_scandir());
    int fds[EXTRA_FDS];
    for (int i = 0; i < EXTRA_FDS; i++)
        fds[i] = open("/dev/null", O_RDONLY | O_CLOEXEC);
    metrics_sample_resources(m);
    CU_ASSERT_EQUAL(m->open_fds, base + EXTRA_FDS);
    for (int i = 0; i < EXTRA_FDS; i++)
        close(fds[i]);
    metrics_sample_resources(m);
    CU_ASSERT_EQUAL(m->open_fds, base);
    CU_ASSERT_EQUAL(m->open_fds_peak, base + EXTRA_FDS);
    metrics_free(m);
}

/* The typed summaries health and providers read (issue 9) say exactly what
 * the JSON says, key for key, after random traffic; an unknown name is all
 * zeros. */
static void test_summaries_match_json(void)
{
    struct metrics *m = metrics_new();
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    tu_rng_seed(909);
    for (int i = 0; i < 3000; i++) {
        struct metrics_record r;
        struct metrics_attempt a[4];
        random_record(&r, a);
        metrics_record(m, &r);
    }
    json_t *j = metrics_to_json(m);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    struct metrics_latency lat;
    metrics_latency_summary(m, &lat);
    CU_ASSERT_EQUAL(lat.p50_ms, get_real(j, "latency_p50_ms"));
    CU_ASSERT_EQUAL(lat.p95_ms, get_real(j, "latency_p95_ms"));
    CU_ASSERT_EQUAL(lat.p99_ms, get_real(j, "latency_p99_ms"));
    CU_ASSERT_EQUAL(lat.max_ms, get_real(j, "latency_max_ms"));
    CU_ASSERT(lat.p50_ms <= lat.p95_ms && lat.p95_ms <= lat.p99_ms && lat.p99_ms <= lat.max_ms);
    const char *name;
    json_t *pj;
    size_t seen = 0;
    json_object_foreach(json_object_get(j, "providers"), name, pj) {
        struct metrics_provider_summary ps;
        CU_ASSERT_EQUAL(metrics_provider_summary(m, name, &ps), ZEN_OK);
        CU_ASSERT(json_is_integer(json_object_get(pj, "requests")));
        CU_ASSERT_EQUAL((json_int_t)ps.requests, get_int_or_zero(pj, "requests"));
        CU_ASSERT_EQUAL((json_int_t)ps.served, get_int_or_zero(pj, "served"));
        CU_ASSERT_EQUAL((json_int_t)ps.errors, get_int_or_zero(pj, "errors"));
        CU_ASSERT_EQUAL(ps.latency.p50_ms, get_real(pj, "latency_p50_ms"));
        CU_ASSERT_EQUAL(ps.latency.p95_ms, get_real(pj, "latency_p95_ms"));
        CU_ASSERT_EQUAL(ps.latency.p99_ms, get_real(pj, "latency_p99_ms"));
        seen++;
    }
    CU_ASSERT(seen > 1);
    struct metrics_provider_summary none = {.requests = 7};
    CU_ASSERT_EQUAL(metrics_provider_summary(m, "never-seen", &none), ZEN_ERR);
    CU_ASSERT_EQUAL(none.requests + none.errors + none.served, 0);
    CU_ASSERT_EQUAL(none.latency.p99_ms, 0);
    CU_ASSERT_EQUAL(metrics_provider_summary(m, NULL, &none), ZEN_ERR);
    json_decref(j);
    metrics_free(m);
}

/* requests_by_scenario counts each routed request once under its scenario;
 * a request never routed (refused before) counts under none. */
static void test_requests_by_scenario(void)
{
    struct metrics *m = metrics_new();
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    struct metrics_record r = {.status = 200, .success = 1, .ttfb_ms = -1, .scenario = "think"};
    metrics_record(m, &r);
    metrics_record(m, &r);
    r.scenario = "longContext";
    metrics_record(m, &r);
    r.scenario = NULL;
    metrics_record(m, &r);
    json_t *j = metrics_to_json(m);
    const json_t *by = json_object_get(j, "requests_by_scenario");
    CU_ASSERT_EQUAL(json_object_size(by), ZCFG_N_SCENARIOS);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(by, "think")), 2);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(by, "longContext")), 1);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(by, "default")), 0);
    CU_ASSERT_EQUAL(get_int(j, "requests_total"), 4);
    json_decref(j);
    metrics_free(m);
}

/* The strategy's decision: each routed request counts once for the provider
 * that headed its candidates, and once more when that provider served it. */
static void test_first_pick(void)
{
    struct metrics *m = metrics_new();
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    struct metrics_record r = {.status = 200, .success = 1, .ttfb_ms = -1,
                               .provider = "a", .first_pick = "a"};
    metrics_record(m, &r);
    metrics_record(m, &r);
    r.first_pick = "b";            /* b was picked, failed; a served */
    metrics_record(m, &r);
    r.provider = NULL;             /* b picked, nobody served */
    metrics_record(m, &r);
    r.first_pick = NULL;           /* refused before routing */
    metrics_record(m, &r);
    json_t *j = metrics_to_json(m);
    CU_ASSERT_EQUAL(get_int(j, "routed_total"), 4);
    CU_ASSERT_EQUAL(get_int(j, "served_by_first_pick"), 2);
    const json_t *first = json_object_get(j, "picked_first");
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(first, "a")), 2);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(first, "b")), 2);
    CU_ASSERT_EQUAL(get_int(j, "requests_total"), 5);
    json_decref(j);
    metrics_free(m);
}

/* ---- tokens and cost ---- */

/* The entry of json's tokens array for (provider, model), or NULL. */
static const json_t *usage_entry(const json_t *j, const char *provider, const char *model)
{
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(j, "tokens"), i, e)
        if (strcmp(json_string_value(json_object_get(e, "provider")), provider) == 0 &&
            strcmp(json_string_value(json_object_get(e, "model")), model) == 0)
            return e;
    return NULL;
}

static struct metrics_record usage_record(const char *provider, const char *model,
                                          struct usage_tokens t, double cost)
{
    struct metrics_record r = simple_record(200, 1, provider, 10);
    r.has_usage = 1;
    r.model = model;
    r.tokens = t;
    r.cost_usd = cost;
    return r;
}

/* Known counts add up per (provider, model); USAGE_UNKNOWN counts and
 * unknown costs stay out; a record without has_usage counts nothing even
 * when its fields hold numbers; no provider, no usage; no model is
 * "(unknown)". */
static void test_usage_counters(void)
{
    struct metrics *m = metrics_new();
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    struct metrics_record r = usage_record("a", "m1", (struct usage_tokens){10, 20, 30, 40}, 0.5);
    metrics_record(m, &r);
    r = usage_record("a", "m1", (struct usage_tokens){1, USAGE_UNKNOWN, 2, USAGE_UNKNOWN}, -1);
    metrics_record(m, &r);
    r = usage_record("a", "m1", (struct usage_tokens){1000, 1000, 1000, 1000}, 7);
    r.has_usage = 0;
    metrics_record(m, &r);
    r = usage_record(NULL, "m1", (struct usage_tokens){1000, 1000, 1000, 1000}, 7);
    metrics_record(m, &r);
    r = usage_record("a", NULL, (struct usage_tokens){5, 6, 7, 8}, 0.125);
    metrics_record(m, &r);
    r = usage_record("b", "m1", USAGE_TOKENS_NONE, -1);
    metrics_record(m, &r);
    /* ("ab", "c") and ("a", "bc") are two pairs. */
    r = usage_record("ab", "c", (struct usage_tokens){1, 1, 1, 1}, 1);
    metrics_record(m, &r);
    r = usage_record("a", "bc", (struct usage_tokens){2, 2, 2, 2}, 2);
    metrics_record(m, &r);

    json_t *j = metrics_to_json(m);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    CU_ASSERT_EQUAL(json_array_size(json_object_get(j, "tokens")), 5);
    const json_t *e = usage_entry(j, "a", "m1");
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    CU_ASSERT_EQUAL(get_int(e, "input"), 11);
    CU_ASSERT_EQUAL(get_int(e, "output"), 20);
    CU_ASSERT_EQUAL(get_int(e, "cache_read"), 32);
    CU_ASSERT_EQUAL(get_int(e, "cache_write"), 40);
    CU_ASSERT_DOUBLE_EQUAL(get_real(e, "cost_usd"), 0.5, 1e-12);
    e = usage_entry(j, "a", METRICS_UNKNOWN_MODEL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    CU_ASSERT_EQUAL(get_int(e, "cache_write"), 8);
    CU_ASSERT_DOUBLE_EQUAL(get_real(e, "cost_usd"), 0.125, 1e-12);
    e = usage_entry(j, "b", "m1"); /* served, nothing reported: zeros */
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    CU_ASSERT_EQUAL(get_int(e, "input") + get_int(e, "output"), 0);
    CU_ASSERT_EQUAL(get_real(e, "cost_usd"), 0);
    CU_ASSERT_EQUAL(get_int(usage_entry(j, "ab", "c"), "input"), 1);
    CU_ASSERT_EQUAL(get_int(usage_entry(j, "a", "bc"), "input"), 2);
    /* The first-seen order. */
    CU_ASSERT_STRING_EQUAL(
        json_string_value(json_object_get(json_array_get(json_object_get(j, "tokens"), 0),
                                          "model")), "m1");
    json_decref(j);
    metrics_free(m);
}

/* Past METRICS_MAX_USAGE_PAIRS pairs, new ones share ("(other)", "(other)");
 * pairs already known keep their own entry. */
static void test_usage_pair_cap(void)
{
    enum { EXTRA = 30 };
    struct metrics *m = metrics_new();
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    char model[32];
    for (int i = 0; i < METRICS_MAX_USAGE_PAIRS + EXTRA; i++) {
        snprintf(model, sizeof(model), "model-%03d", i);
        struct metrics_record r = usage_record("p", model, (struct usage_tokens){1, 2, 3, 4}, 1);
        metrics_record(m, &r);
    }
    struct metrics_record r = usage_record("p", "model-000", (struct usage_tokens){1, 2, 3, 4}, 1);
    metrics_record(m, &r);
    CU_ASSERT_EQUAL(m->n_pairs, METRICS_MAX_USAGE_PAIRS + 1);
    json_t *j = metrics_to_json(m);
    CU_ASSERT_EQUAL(json_array_size(json_object_get(j, "tokens")), METRICS_MAX_USAGE_PAIRS + 1);
    const json_t *other = usage_entry(j, METRICS_OTHER_PROVIDER, METRICS_OTHER_PROVIDER);
    CU_ASSERT_PTR_NOT_NULL_FATAL(other);
    CU_ASSERT_EQUAL(get_int(other, "output"), 2 * EXTRA);
    CU_ASSERT_DOUBLE_EQUAL(get_real(other, "cost_usd"), EXTRA, 1e-9);
    CU_ASSERT_EQUAL(get_int(usage_entry(j, "p", "model-000"), "input"), 2);
    snprintf(model, sizeof(model), "model-%03d", METRICS_MAX_USAGE_PAIRS);
    CU_ASSERT_PTR_NULL(usage_entry(j, "p", model));
    json_decref(j);
    metrics_free(m);
}

/* budget_spend_usd: absent until set, then the three periods; a negative
 * or non-finite spend is 0. */
static void test_budget_spend(void)
{
    struct metrics *m = metrics_new();
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    json_t *j = metrics_to_json(m);
    CU_ASSERT_PTR_NULL(json_object_get(j, "budget_spend_usd"));
    json_decref(j);
    metrics_set_budget_spend(m, (const double[BUDGET_N_PERIODS]){1.5, 2.25, -3});
    j = metrics_to_json(m);
    const json_t *b = json_object_get(j, "budget_spend_usd");
    CU_ASSERT_EQUAL(json_object_size(b), 3);
    CU_ASSERT_EQUAL(get_real(b, "daily"), 1.5);
    CU_ASSERT_EQUAL(get_real(b, "weekly"), 2.25);
    CU_ASSERT_EQUAL(get_real(b, "monthly"), 0);
    json_decref(j);
    metrics_set_budget_spend(m, (const double[BUDGET_N_PERIODS]){HUGE_VAL, NAN, 4});
    j = metrics_to_json(m);
    b = json_object_get(j, "budget_spend_usd");
    CU_ASSERT_EQUAL(get_real(b, "daily"), 0);
    CU_ASSERT_EQUAL(get_real(b, "weekly"), 0);
    CU_ASSERT_EQUAL(get_real(b, "monthly"), 4);
    json_decref(j);
    metrics_free(m);
}

void register_tests(void)
{
    tu_rng_seed(0xD1B54A32D192ED03ull);
    CU_pSuite s = CU_add_suite("metrics", tu_suite_init, tu_suite_clean);
    TU_ADD(s, test_error_type_names);
    TU_ADD(s, test_first_pick);
    TU_ADD(s, test_fresh_json_has_every_field);
    TU_ADD(s, test_random_records_add_up);
    TU_ADD(s, test_failover_definition);
    TU_ADD(s, test_error_tallies);
    TU_ADD(s, test_summaries_match_json);
    TU_ADD(s, test_status_codes);
    TU_ADD(s, test_latency_percentiles);
    TU_ADD(s, test_latency_rounded_to_microseconds);
    TU_ADD(s, test_latency_window);
    TU_ADD(s, test_provider_names_copied);
    TU_ADD(s, test_provider_table_cap);
    TU_ADD(s, test_record_does_not_allocate);
    TU_ADD(s, test_gauges_and_peaks);
    TU_ADD(s, test_resources_plausible);
    TU_ADD(s, test_resources_read_the_sample);
    TU_ADD(s, test_latency_summary_follows_records);
    TU_ADD(s, test_open_fds_counts_exactly);
    TU_ADD(s, test_requests_by_scenario);
    TU_ADD(s, test_usage_counters);
    TU_ADD(s, test_usage_pair_cap);
    TU_ADD(s, test_budget_spend);
}
