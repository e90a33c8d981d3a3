/* Unit tests for zend/forward/provider_state.c: the cooldown doubling and its cap,
 * the auth pair, a 429's Retry-After (capped), half-open once a cooldown ran
 * out, success closing the circuit and resetting the backoff, a request-related
 * failure never cooling, and a reload that changes a provider's URL starting
 * it over (the old state ignores late outcomes), a same-provider retry
 * doubling the cooldown at most once per request, probes answered 429 or 5xx
 * keeping a cooldown (and a 429 cooldown keeping its Retry-After), an active
 * check's failure shown in last_error, and the recent error rate over a time
 * window (at least PSTATE_WINDOW_MIN_ATTEMPTS attempts, old failures forgotten).
 *
 * White-box: the module is included with a fake monotonic clock, so time moves
 * only when a test says so. The event loop is never run: probe timers are
 * armed but never fire, and no transfer is started. */
#include <CUnit/CUnit.h>
#include <ev.h>
#include <stdio.h>
#include <string.h>

#include "metrics.h"
#include "secret.h"
#include "testutil.h"
#include "timeutil.h"

static int64_t fake_now_ms = 1000000;
static int64_t fake_mono_ms(void) { return fake_now_ms; }

#define ztime_mono_ms fake_mono_ms
#include "provider_state.c"
#undef ztime_mono_ms

#define INITIAL_MS 1000
#define MAX_MS 5000
#define AUTH_INITIAL_MS 60000
#define AUTH_MAX_MS 200000

static const char cfg_json[] =
    "{\"providers\": {\"a\": {\"base_url\": \"https://a.example\", \"auth_token\": \"t\"},"
    "                 \"b\": {\"base_url\": \"https://b.example\"}},"
    " \"profiles\": {\"default\": [\"a\", \"b\"]},"
    " \"daemon\": {\"cooldown_initial_ms\": 1000, \"cooldown_max_ms\": 5000,"
    "             \"auth_cooldown_initial_ms\": 60000, \"auth_cooldown_max_ms\": 200000,"
    "             \"probe_interval_ms\": 500}}";
/* The same, with provider a moved to another URL. */
static const char cfg_moved_json[] =
    "{\"providers\": {\"a\": {\"base_url\": \"https://a2.example\", \"auth_token\": \"t\"},"
    "                 \"b\": {\"base_url\": \"https://b.example\"}},"
    " \"profiles\": {\"default\": [\"a\", \"b\"]}}";

static struct ev_loop *loop;
static struct provider_states *ps;

static struct zcfg *load(const char *json)
{
    char err[512];
    struct zcfg *cfg = zcfg_load_buffer("zen.json", json, strlen(json), err, sizeof(err));
    if (!cfg)
        fprintf(stderr, "\n  config did not load: %s\n", err);
    return cfg;
}

/* A fresh table for each test, from a config that is freed at once: the
 * table must not need it afterwards. */
static int suite_init(void) { return zsec_init(); }

static void setup(void)
{
    loop = ev_loop_new(EVFLAG_AUTO);
    ps = loop ? pstates_new(loop, NULL) : NULL;
    struct zcfg *cfg = load(cfg_json);
    if (ps && cfg)
        pstates_apply_config(ps, cfg);
    zcfg_unref(cfg);
}

static void teardown(void)
{
    pstates_free(ps);
    ps = NULL;
    if (loop)
        ev_loop_destroy(loop);
    loop = NULL;
}

static struct provider_state *state(const char *name)
{
    CU_ASSERT_PTR_NOT_NULL_FATAL(ps);
    struct provider_state *s = pstates_get(ps, name);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    return s;
}

static void test_tuning_copied_from_config(void)
{
    /* Its own small struct of numbers, not a copy of the whole daemon config
     * whose pointers would dangle once that config is freed. */
    const struct pstate_tuning *t = &ps->tuning;
    CU_ASSERT_TRUE(sizeof(*t) == 5 * sizeof(int64_t));
    CU_ASSERT_EQUAL(ps->tuning.cooldown_initial_ms, INITIAL_MS);
    CU_ASSERT_EQUAL(ps->tuning.cooldown_max_ms, MAX_MS);
    CU_ASSERT_EQUAL(ps->tuning.auth_cooldown_initial_ms, AUTH_INITIAL_MS);
    CU_ASSERT_EQUAL(ps->tuning.auth_cooldown_max_ms, AUTH_MAX_MS);
    CU_ASSERT_EQUAL(ps->tuning.probe_interval_ms, 500);
    CU_ASSERT_EQUAL(pstates_count(ps), 2);
}

static void test_cooldown_doubles_up_to_cap(void)
{
    struct provider_state *s = state("a");
    const int64_t want[] = {1000, 2000, 4000, 5000, 5000};
    for (size_t i = 0; i < ZEN_ARRAY_LEN(want); i++) {
        pstate_failure(s, ZERR_SERVER, 503, "overloaded", -1);
        CU_ASSERT_EQUAL(s->cooldown_ms, want[i]);
        CU_ASSERT_EQUAL(s->consecutive_failures, (int)i + 1);
        CU_ASSERT_EQUAL(pstate_circuit(s, fake_now_ms), CIRCUIT_OPEN);
        CU_ASSERT_EQUAL(pstate_cooldown_remaining_ms(s, fake_now_ms), want[i]);
        /* a server failure may be closed early by a probe */
        CU_ASSERT_TRUE(s->probe_enabled);
        CU_ASSERT_TRUE(ev_is_active(&s->probe_timer));
    }
    CU_ASSERT_DOUBLE_EQUAL(pstate_success_rate(s, fake_now_ms), 0.0, 1e-9);
}

static void test_network_and_timeout_cool_too(void)
{
    pstate_failure(state("a"), ZERR_NETWORK, 0, "refused", -1);
    CU_ASSERT_TRUE(pstate_cooling(state("a"), fake_now_ms));
    pstate_failure(state("b"), ZERR_TIMEOUT, 0, "first byte", -1);
    CU_ASSERT_TRUE(pstate_cooling(state("b"), fake_now_ms));
    CU_ASSERT_EQUAL(state("b")->cooldown_ms, INITIAL_MS);
}

static void test_auth_pair(void)
{
    struct provider_state *s = state("a");
    pstate_failure(s, ZERR_AUTH, 401, "bad key", -1);
    CU_ASSERT_EQUAL(s->cooldown_ms, AUTH_INITIAL_MS);
    pstate_failure(s, ZERR_AUTH, 403, "bad key", -1);
    CU_ASSERT_EQUAL(s->cooldown_ms, 2 * AUTH_INITIAL_MS);
    pstate_failure(s, ZERR_AUTH, 401, "bad key", -1);
    pstate_failure(s, ZERR_AUTH, 401, "bad key", -1);
    CU_ASSERT_EQUAL(s->cooldown_ms, AUTH_MAX_MS);
    /* a HEAD without credentials proves nothing about a token: no probe */
    CU_ASSERT_FALSE(s->probe_enabled);
    CU_ASSERT_FALSE(ev_is_active(&s->probe_timer));
}

static void test_retry_after_sets_and_caps(void)
{
    struct provider_state *s = state("a");
    pstate_failure(s, ZERR_RATE_LIMIT, 429, "slow down", 3000);
    CU_ASSERT_EQUAL(s->cooldown_ms, 3000);
    CU_ASSERT_EQUAL(pstate_cooldown_remaining_ms(s, fake_now_ms), 3000);
    CU_ASSERT_FALSE(s->probe_enabled); /* a quota is not probed either */
    /* exactly what was asked, even below the normal initial cooldown */
    pstate_failure(s, ZERR_RATE_LIMIT, 429, "slow down", 10);
    CU_ASSERT_EQUAL(s->cooldown_ms, 10);
    /* never beyond cooldown_max_ms */
    pstate_failure(s, ZERR_RATE_LIMIT, 429, "slow down", 3600 * 1000);
    CU_ASSERT_EQUAL(s->cooldown_ms, MAX_MS);
    /* a 429 without Retry-After cools like any failure */
    struct provider_state *b = state("b");
    pstate_failure(b, ZERR_RATE_LIMIT, 429, "slow down", -1);
    CU_ASSERT_EQUAL(b->cooldown_ms, INITIAL_MS);
}

static void test_half_open_after_expiry(void)
{
    struct provider_state *s = state("a");
    pstate_failure(s, ZERR_SERVER, 500, "boom", -1);
    fake_now_ms += INITIAL_MS - 1;
    CU_ASSERT_EQUAL(pstate_circuit(s, fake_now_ms), CIRCUIT_OPEN);
    CU_ASSERT_TRUE(pstate_cooling(s, fake_now_ms));
    fake_now_ms += 1;
    CU_ASSERT_EQUAL(pstate_circuit(s, fake_now_ms), CIRCUIT_HALF_OPEN);
    CU_ASSERT_FALSE(pstate_cooling(s, fake_now_ms)); /* the next request may try it */
    CU_ASSERT_EQUAL(pstate_cooldown_remaining_ms(s, fake_now_ms), 0);
    CU_ASSERT_STRING_EQUAL(pstate_circuit_name(pstate_circuit(s, fake_now_ms)), "half_open");
    /* failing again while half-open doubles the cooldown */
    pstate_failure(s, ZERR_SERVER, 500, "boom", -1);
    CU_ASSERT_EQUAL(s->cooldown_ms, 2 * INITIAL_MS);
    CU_ASSERT_EQUAL(pstate_circuit(s, fake_now_ms), CIRCUIT_OPEN);
}

static void test_success_closes_and_resets(void)
{
    struct provider_state *s = state("a");
    pstate_failure(s, ZERR_SERVER, 500, "boom", -1);
    pstate_failure(s, ZERR_SERVER, 500, "boom", -1);
    fake_now_ms += 2 * INITIAL_MS;
    pstate_success(s, "success");
    CU_ASSERT_EQUAL(pstate_circuit(s, fake_now_ms), CIRCUIT_CLOSED);
    CU_ASSERT_EQUAL(s->consecutive_failures, 0);
    CU_ASSERT_EQUAL(s->cooldown_ms, 0);
    CU_ASSERT_FALSE(ev_is_active(&s->probe_timer));
    CU_ASSERT_DOUBLE_EQUAL(pstate_success_rate(s, fake_now_ms), 1.0 / 3.0, 1e-9);
    /* the backoff starts over */
    pstate_failure(s, ZERR_SERVER, 500, "boom", -1);
    CU_ASSERT_EQUAL(s->cooldown_ms, INITIAL_MS);
    /* a probe closes it too, without counting as a request's outcome */
    pstate_success(s, "probe");
    CU_ASSERT_EQUAL(pstate_circuit(s, fake_now_ms), CIRCUIT_CLOSED);
    CU_ASSERT_EQUAL(s->attempts_total, 4);
}

static void test_request_failure_does_not_cool(void)
{
    struct provider_state *s = state("a");
    pstate_failure(s, ZERR_REQUEST, 500, "prompt is too long", -1);
    CU_ASSERT_EQUAL(pstate_circuit(s, fake_now_ms), CIRCUIT_CLOSED);
    CU_ASSERT_EQUAL(s->consecutive_failures, 0);
    CU_ASSERT_EQUAL(s->attempts_total, 0);
    CU_ASSERT_EQUAL(s->last_error_type, ZERR_REQUEST);
    CU_ASSERT_STRING_EQUAL(s->last_error, "prompt is too long");
    /* nor does it end a cooldown already running */
    pstate_failure(s, ZERR_SERVER, 500, "boom", -1);
    pstate_failure(s, ZERR_REQUEST, 500, "too long", -1);
    CU_ASSERT_TRUE(pstate_cooling(s, fake_now_ms));
    CU_ASSERT_EQUAL(s->cooldown_ms, INITIAL_MS);
}

static void test_moved_provider_starts_over(void)
{
    struct provider_state *old = pstate_ref(state("a"));
    struct provider_state *b = state("b");
    pstate_failure(old, ZERR_SERVER, 500, "boom", -1);
    struct zcfg *moved = load(cfg_moved_json);
    CU_ASSERT_PTR_NOT_NULL_FATAL(moved);
    pstates_apply_config(ps, moved);
    struct provider_state *now = state("a");
    CU_ASSERT_PTR_NOT_EQUAL(now, old);
    CU_ASSERT_EQUAL(pstate_circuit(now, fake_now_ms), CIRCUIT_CLOSED);
    CU_ASSERT_PTR_EQUAL(pstates_lookup(ps, zcfg_find_provider(moved, "a")), now);
    CU_ASSERT_PTR_EQUAL(state("b"), b); /* unchanged: keeps its state */
    /* a request still holding the old state: its outcomes are nobody's */
    CU_ASSERT_TRUE(old->detached);
    pstate_failure(old, ZERR_SERVER, 500, "late", -1);
    CU_ASSERT_EQUAL(old->consecutive_failures, 1);
    CU_ASSERT_EQUAL(pstate_circuit(now, fake_now_ms), CIRCUIT_CLOSED);
    /* the new config has default tuning */
    CU_ASSERT_EQUAL(ps->tuning.cooldown_initial_ms, 60000);
    pstate_unref(old);
    zcfg_unref(moved);
}

/* The report of provider `name` now (a config loaded for the call). */
static void report(const char *name, struct pstate_report *r)
{
    struct zcfg *cfg = load(cfg_json);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
    pstate_report(state(name), cfg, 1700000000, fake_now_ms, r);
    zcfg_unref(cfg);
}

static void test_same_request_doubles_once(void)
{
    struct provider_state *s = state("a");
    /* A request: the first failure cools, its same-provider retries do not
     * double it again, but each restarts it from now. */
    pstate_failure(s, ZERR_SERVER, 503, "overloaded", -1);
    CU_ASSERT_EQUAL(s->cooldown_ms, INITIAL_MS);
    fake_now_ms += 300;
    pstate_failure_again(s, ZERR_SERVER, 503, "overloaded", -1);
    pstate_failure_again(s, ZERR_NETWORK, 0, "reset", -1);
    CU_ASSERT_EQUAL(s->cooldown_ms, INITIAL_MS);
    CU_ASSERT_EQUAL(pstate_cooldown_remaining_ms(s, fake_now_ms), INITIAL_MS);
    CU_ASSERT_EQUAL(s->consecutive_failures, 3);
    CU_ASSERT_STRING_EQUAL(s->last_error, "reset");
    /* the next request doubles it once */
    fake_now_ms += INITIAL_MS;
    pstate_failure(s, ZERR_SERVER, 503, "overloaded", -1);
    pstate_failure_again(s, ZERR_SERVER, 503, "overloaded", -1);
    CU_ASSERT_EQUAL(s->cooldown_ms, 2 * INITIAL_MS);
    /* a retry's 429 still cools for exactly its Retry-After */
    pstate_failure_again(s, ZERR_RATE_LIMIT, 429, "slow down", 1500);
    CU_ASSERT_EQUAL(s->cooldown_ms, 1500);
    /* and a retry after a closed circuit starts at the initial cooldown */
    struct provider_state *b = state("b");
    pstate_failure_again(b, ZERR_SERVER, 500, "boom", -1);
    CU_ASSERT_EQUAL(b->cooldown_ms, INITIAL_MS);
}

/* The HEAD prober's answer as the upstream client would hand it over. */
static void head_answer(struct pstate_head_probe *hp, struct provider_state *s,
                        void (*done)(struct provider_state *, int, int, double), int result,
                        int status)
{
    hp->s = s;
    hp->done = done;
    hp->started_s = ztime_mono_s();
    hp->status = status;
    head_probe_done(hp, result, result == UPSTREAM_OK ? "" : "Connection refused");
}

static void test_probe_429_keeps_cooldown(void)
{
    struct provider_state *s = state("a");
    pstate_failure(s, ZERR_SERVER, 503, "overloaded", -1);
    CU_ASSERT_TRUE(s->probe_enabled);
    head_answer(&s->probe, s, probe_done, UPSTREAM_OK, 429);
    CU_ASSERT_TRUE(pstate_cooling(s, fake_now_ms));
    head_answer(&s->probe, s, probe_done, UPSTREAM_OK, 502);
    CU_ASSERT_TRUE(pstate_cooling(s, fake_now_ms));
    head_answer(&s->probe, s, probe_done, UPSTREAM_ERR_NETWORK, 0);
    CU_ASSERT_TRUE(pstate_cooling(s, fake_now_ms));
    CU_ASSERT_EQUAL(s->consecutive_failures, 1); /* a probe is no request's outcome */
    /* a 4xx other than 429 proves the server is there */
    head_answer(&s->probe, s, probe_done, UPSTREAM_OK, 404);
    CU_ASSERT_EQUAL(pstate_circuit(s, fake_now_ms), CIRCUIT_CLOSED);
    /* A probe sent during a server cooldown that a 429 has since replaced
     * does not cut the Retry-After short, whatever it is answered. */
    pstate_failure(s, ZERR_SERVER, 503, "overloaded", -1);
    pstate_failure(s, ZERR_RATE_LIMIT, 429, "slow down", 4000);
    head_answer(&s->probe, s, probe_done, UPSTREAM_OK, 200);
    CU_ASSERT_TRUE(pstate_cooling(s, fake_now_ms));
    CU_ASSERT_EQUAL(pstate_cooldown_remaining_ms(s, fake_now_ms), 4000);
}

static void test_check_failure_is_last_error(void)
{
    struct provider_state *s = state("a");
    struct pstate_report r;
    head_answer(&s->check, s, check_done, UPSTREAM_OK, 429);
    CU_ASSERT_FALSE(s->last_check_ok); /* a 429 is no success for the checker either */
    CU_ASSERT_EQUAL(s->last_error_type, ZERR_RATE_LIMIT);
    CU_ASSERT_STRING_EQUAL(s->last_error, "health check: HEAD 429");
    head_answer(&s->check, s, check_done, UPSTREAM_OK, 503);
    CU_ASSERT_EQUAL(s->last_error_type, ZERR_SERVER);
    CU_ASSERT_EQUAL(s->last_status, 503);
    CU_ASSERT_STRING_EQUAL(s->last_error, "health check: HEAD 503");
    report("a", &r);
    CU_ASSERT_EQUAL(r.status, PSTATUS_DEGRADED);
    CU_ASSERT_EQUAL(r.degraded_by, PDEGRADED_CHECK);
    CU_ASSERT_STRING_EQUAL(r.check_error, "HEAD 503");
    CU_ASSERT_EQUAL(r.check_count, 2);
    CU_ASSERT_EQUAL(r.check_fail_count, 2);
    head_answer(&s->check, s, check_done, UPSTREAM_ERR_NETWORK, 0);
    CU_ASSERT_EQUAL(s->last_error_type, ZERR_NETWORK);
    CU_ASSERT_PTR_NOT_NULL(strstr(s->last_error, "Connection refused"));
    /* a 401 to an unauthenticated HEAD is a passed check */
    head_answer(&s->check, s, check_done, UPSTREAM_OK, 401);
    CU_ASSERT_TRUE(s->last_check_ok);
    report("a", &r);
    CU_ASSERT_EQUAL(r.status, PSTATUS_HEALTHY);
}

/* n outcomes on s at the current fake time, the first `failed` failures. */
static void outcomes(struct provider_state *s, int n, int failed)
{
    for (int i = 0; i < n; i++) {
        if (i < failed)
            pstate_failure(s, ZERR_SERVER, 503, "overloaded", -1);
        else
            pstate_success(s, "success");
    }
}

static void test_error_rate_over_time_window(void)
{
    struct provider_state *s = state("b");
    struct pstate_report r;
    /* one failure among four attempts: too few to judge a rate */
    outcomes(s, 4, 1);
    report("b", &r);
    CU_ASSERT_EQUAL(r.window_attempts, 4);
    CU_ASSERT_EQUAL(r.window_failures, 1);
    CU_ASSERT_EQUAL(r.status, PSTATUS_HEALTHY);
    /* the fifth attempt makes it a rate: 20 % failed */
    outcomes(s, 1, 0);
    report("b", &r);
    CU_ASSERT_EQUAL(r.status, PSTATUS_DEGRADED);
    CU_ASSERT_EQUAL(r.degraded_by, PDEGRADED_ERRORS);
    CU_ASSERT_DOUBLE_EQUAL(r.success_rate, 0.8, 1e-9);
    /* three minutes of successes later the failure still counts ... */
    fake_now_ms += 3 * 60 * 1000;
    outcomes(s, 14, 0);
    report("b", &r);
    CU_ASSERT_EQUAL(r.window_attempts, 19);
    CU_ASSERT_EQUAL(r.status, PSTATUS_DEGRADED);
    /* ... until it leaves the window: then only the recent ones count */
    fake_now_ms += PSTATE_WINDOW_MS - 3 * 60 * 1000 + PSTATE_BUCKET_MS;
    report("b", &r);
    CU_ASSERT_EQUAL(r.window_attempts, 14);
    CU_ASSERT_EQUAL(r.window_failures, 0);
    CU_ASSERT_EQUAL(r.status, PSTATUS_HEALTHY);
    /* an idle hour later: nothing recent, still known, not degraded */
    fake_now_ms += 3600 * 1000;
    report("b", &r);
    CU_ASSERT_EQUAL(r.window_attempts, 0);
    CU_ASSERT_EQUAL(r.status, PSTATUS_HEALTHY);
    CU_ASSERT_DOUBLE_EQUAL(r.success_rate, 1.0, 1e-9);
    /* a bucket reused after a lap of the ring starts from zero */
    outcomes(s, 1, 0);
    report("b", &r);
    CU_ASSERT_EQUAL(r.window_attempts, 1);
}

/* Randomised: the window's counts always equal a brute-force count of the
 * outcomes in the last PSTATE_WINDOW_BUCKETS steps. */
static void test_window_matches_brute_force(void)
{
    struct provider_state *s = state("b");
    enum { N = 2000 };
    static int64_t when[N];
    static int failed[N];
    tu_rng_seed(0x5eed11);
    for (int i = 0; i < N; i++) {
        fake_now_ms += (int64_t)tu_rng_below(20000);
        when[i] = fake_now_ms;
        failed[i] = tu_rng_below(4) == 0;
        record_outcome(s, failed[i]);
        uint32_t attempts, failures, want_a = 0, want_f = 0;
        pstate_window_counts(s, fake_now_ms, &attempts, &failures);
        int64_t epoch = fake_now_ms / PSTATE_BUCKET_MS;
        for (int k = 0; k <= i; k++)
            if (when[k] / PSTATE_BUCKET_MS > epoch - PSTATE_WINDOW_BUCKETS) {
                want_a++;
                want_f += (uint32_t)failed[k];
            }
        CU_ASSERT_EQUAL(attempts, want_a);
        CU_ASSERT_EQUAL(failures, want_f);
    }
}

/* How long a disable has yet to run: the later end of zen.json's
 * disabled_providers and provider.disable --for, no end beating any. */
static void test_disabled_remaining(void)
{
    /* 1700000000 is the report's wall clock; expires_at is inclusive. */
    static const char with_expiry[] =
        "{\"providers\": {\"a\": {\"base_url\": \"https://a.example\"},"
        "                 \"b\": {\"base_url\": \"https://b.example\"}},"
        " \"disabled_providers\": {\"a\": {\"expires_at\": \"2023-11-14T22:13:20Z\"},"
        "                          \"b\": {\"type\": \"permanent\"}}}";
    struct zcfg *cfg = load(with_expiry);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
    struct pstate_report r;
    pstate_report(state("a"), cfg, 1700000000, fake_now_ms, &r);
    CU_ASSERT_TRUE(r.disabled);
    CU_ASSERT_TRUE(r.disabled_by_config);
    CU_ASSERT_FALSE(r.disabled_by_runtime);
    /* Its expiry is now: it still holds for the rest of this second. */
    CU_ASSERT_EQUAL(cfg->disabled[0].expires_at, 1700000000);
    CU_ASSERT_EQUAL(r.disabled_remaining_ms, 1000);
    /* A longer runtime disable wins; a shorter one does not. */
    pstate_disable(state("a"), 90000);
    pstate_report(state("a"), cfg, 1700000000, fake_now_ms, &r);
    CU_ASSERT_TRUE(r.disabled_by_runtime);
    CU_ASSERT_EQUAL(r.disabled_remaining_ms, 90000);
    fake_now_ms += 89500;
    pstate_report(state("a"), cfg, 1700000000, fake_now_ms, &r);
    CU_ASSERT_EQUAL(r.disabled_remaining_ms, 1000);
    /* No end anywhere: until enabled. */
    pstate_report(state("b"), cfg, 1700000000, fake_now_ms, &r);
    CU_ASSERT_EQUAL(r.disabled_remaining_ms, PSTATE_DISABLED_UNTIL_ENABLED);
    pstate_enable(state("a"));
    pstate_disable(state("a"), 0);
    pstate_report(state("a"), cfg, 1700000000, fake_now_ms, &r);
    CU_ASSERT_EQUAL(r.disabled_remaining_ms, PSTATE_DISABLED_UNTIL_ENABLED);
    /* Enabled and past the file's expiry: not disabled, nothing left. */
    pstate_enable(state("a"));
    pstate_report(state("a"), cfg, 1700000001, fake_now_ms, &r);
    CU_ASSERT_FALSE(r.disabled);
    CU_ASSERT_EQUAL(r.disabled_remaining_ms, 0);
    zcfg_unref(cfg);
}

void register_tests(void)
{
    CU_pSuite s = CU_add_suite_with_setup_and_teardown("provider_state", suite_init, NULL, setup,
                                                        teardown);
    TU_ADD(s, test_tuning_copied_from_config);
    TU_ADD(s, test_cooldown_doubles_up_to_cap);
    TU_ADD(s, test_network_and_timeout_cool_too);
    TU_ADD(s, test_auth_pair);
    TU_ADD(s, test_retry_after_sets_and_caps);
    TU_ADD(s, test_half_open_after_expiry);
    TU_ADD(s, test_success_closes_and_resets);
    TU_ADD(s, test_request_failure_does_not_cool);
    TU_ADD(s, test_moved_provider_starts_over);
    TU_ADD(s, test_same_request_doubles_once);
    TU_ADD(s, test_probe_429_keeps_cooldown);
    TU_ADD(s, test_check_failure_is_last_error);
    TU_ADD(s, test_error_rate_over_time_window);
    TU_ADD(s, test_window_matches_brute_force);
    TU_ADD(s, test_disabled_remaining);
}
