/* Unit tests for zend/forward/provider_state.c: the cooldown doubling and its cap,
 * the auth pair, a 429's Retry-After (capped), half-open once a cooldown ran
 * out, success closing the circuit and resetting the backoff, a request-related
 * failure never cooling, and a reload that changes a provider's URL starting
 * it over (the old state ignores late outcomes).
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
    CU_ASSERT_DOUBLE_EQUAL(pstate_success_rate(s), 0.0, 1e-9);
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
    CU_ASSERT_DOUBLE_EQUAL(pstate_success_rate(s), 1.0 / 3.0, 1e-9);
    /* the backoff starts over */
    pstate_failure(s, ZERR_SERVER, 500, "boom", -1);
    CU_ASSERT_EQUAL(s->cooldown_ms, INITIAL_MS);
    /* a probe closes it too, without counting as a request's outcome */
    pstate_success(s, "probe");
    CU_ASSERT_EQUAL(pstate_circuit(s, fake_now_ms), CIRCUIT_CLOSED);
    CU_ASSERT_EQUAL(s->recent_idx.len, 4);
}

static void test_request_failure_does_not_cool(void)
{
    struct provider_state *s = state("a");
    pstate_failure(s, ZERR_REQUEST, 500, "prompt is too long", -1);
    CU_ASSERT_EQUAL(pstate_circuit(s, fake_now_ms), CIRCUIT_CLOSED);
    CU_ASSERT_EQUAL(s->consecutive_failures, 0);
    CU_ASSERT_EQUAL(s->recent_idx.len, 0);
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
}
