/* Unit tests for zend/state_file.c (ZEN_HOME/state.json): the wall/monotonic
 * conversion, a save/load round trip through the file's text (disables with
 * and without expiry, cooldowns, last errors, learned wires, sessions) into a
 * process whose monotonic clock started elsewhere, the identity and
 * unknown-provider filtering, refused documents, no secret in the file, and
 * the file side: 0600, a corrupt file left alone, the one-second debounce.
 *
 * White-box: the module is included so the debounce timer can be inspected.
 * The provider tables get no upstream: their probe timers are armed, never
 * run (the loop runs only with EVRUN_NOWAIT and no probe is due). */
#include <CUnit/CUnit.h>
#include <ev.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config.h"
#include "secret.h"
#include "testutil.h"

#include "state_file.c"

#define TOKEN "sk-very-secret-token-123"
#define WALL0 1800000000000LL /* 2027-01-15 */
#define MONO0 5000000LL

static const char cfg_json[] =
    "{\"providers\": {\"a\": {\"base_url\": \"https://user:pw@a.example\", \"auth_token\": \"" TOKEN
    "\"},"
    "                 \"b\": {\"base_url\": \"https://b.example\", \"type\": \"openai\"},"
    "                 \"c\": {\"base_url\": \"https://c.example\"}},"
    " \"profiles\": {\"default\": [\"a\", \"b\", \"c\"]},"
    " \"daemon\": {\"cooldown_initial_ms\": 1000, \"cooldown_max_ms\": 60000,"
    "             \"probe_interval_ms\": 500}}";
/* Provider a moved to another URL, c gone. */
static const char cfg_moved_json[] =
    "{\"providers\": {\"a\": {\"base_url\": \"https://a2.example\", \"auth_token\": \"" TOKEN
    "\"},"
    "                 \"b\": {\"base_url\": \"https://b.example\", \"type\": \"openai\"}},"
    " \"profiles\": {\"default\": [\"a\", \"b\"]}}";

static struct ev_loop *loop;

static struct provider_states *table(const char *json)
{
    char err[512];
    struct zcfg *cfg = zcfg_load_buffer("zen.json", json, strlen(json), err, sizeof(err));
    if (!cfg)
        fprintf(stderr, "\n  config did not load: %s\n", err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
    struct provider_states *ps = pstates_new(loop, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ps);
    pstates_apply_config(ps, cfg);
    zcfg_unref(cfg);
    return ps;
}

static int suite_init(void)
{
    loop = ev_loop_new(EVFLAG_AUTO);
    return loop && zsec_init() == ZEN_OK && tu_suite_init() == 0 ? 0 : -1;
}

static int suite_clean(void)
{
    ev_loop_destroy(loop);
    loop = NULL;
    return tu_suite_clean();
}

/* doc written as text and parsed again, as a load would see it. */
static json_t *through_text(json_t *doc)
{
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    char *text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    json_t *back = json_loads(text, 0, NULL);
    free(text);
    CU_ASSERT_PTR_NOT_NULL_FATAL(back);
    return back;
}

static void test_wall_mono_conversion(void)
{
    CU_ASSERT_EQUAL(statefile_wall_of(MONO0 + 3000, MONO0, WALL0), WALL0 + 3000);
    CU_ASSERT_EQUAL(statefile_wall_of(MONO0 - 500, MONO0, WALL0), WALL0 - 500);
    CU_ASSERT_EQUAL(statefile_mono_of(WALL0 + 3000, WALL0, MONO0), MONO0 + 3000);
    /* Saved by one process, loaded by another whose clocks moved on: the
     * time left is what moved with the wall clock. */
    tu_rng_seed(42);
    for (int i = 0; i < 1000; i++) {
        int64_t mono_save = (int64_t)tu_rng_below(1000000000), left = (int64_t)tu_rng_below(3600000);
        int64_t gap = (int64_t)tu_rng_below(600000), mono_load = (int64_t)tu_rng_below(1000000000);
        int64_t wall = statefile_wall_of(mono_save + left, mono_save, WALL0);
        int64_t back = statefile_mono_of(wall, WALL0 + gap, mono_load);
        CU_ASSERT_EQUAL(back - mono_load, left - gap);
    }
}

static void test_round_trip(void)
{
    struct provider_states *ps = table(cfg_json);
    struct sessions *ss = sessions_new();
    CU_ASSERT_PTR_NOT_NULL_FATAL(ss);
    struct provider_state *a = pstates_get(ps, "a"), *b = pstates_get(ps, "b"),
                          *c = pstates_get(ps, "c");
    /* a: disabled for 10 more minutes, and cooling 30 s more after 3 failures */
    a->disabled = 1;
    a->disabled_until_ms = MONO0 + 600000;
    a->open = 1;
    a->cooldown_until_ms = MONO0 + 30000;
    a->cooldown_ms = 40000;
    a->consecutive_failures = 3;
    a->probe_enabled = 1;
    a->last_error_type = ZERR_SERVER;
    a->last_status = 503;
    snprintf(a->last_error, sizeof(a->last_error), "overloaded \"now\"");
    /* b: disabled until enabled, a learned wire */
    b->disabled = 1;
    b->disabled_until_ms = 0;
    b->learned_wire = TR_FORMAT_R;
    /* c: nothing to keep */
    CU_ASSERT_FALSE(c->open || c->disabled);
    sessions_note(ss, "default:s1", MONO0 - 1000);
    sessions_note(ss, "default:s2", MONO0 - 2000);
    sessions_note(ss, "default:ancient", MONO0 - SESSIONS_WINDOW_MS - 1);

    json_t *doc = through_text(statefile_encode(ps, ss, WALL0, MONO0));
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(doc, "version")), 1);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(doc, "written_at")), WALL0);
    json_t *prov = json_object_get(doc, "providers");
    CU_ASSERT_EQUAL(json_object_size(prov), 2); /* c has nothing to keep */
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(json_object_get(prov, "a"),
                                                       "disabled_until")),
                    WALL0 + 600000);
    CU_ASSERT_EQUAL(json_array_size(json_object_get(doc, "sessions")), 2);

    /* A new worker 5 s later, whose monotonic clock reads something else. */
    const int64_t wall1 = WALL0 + 5000, mono1 = 77000000;
    struct provider_states *ps2 = table(cfg_json);
    struct sessions *ss2 = sessions_new();
    struct statefile_load_report rep;
    char err[256];
    CU_ASSERT_EQUAL_FATAL(statefile_decode(doc, ps2, ss2, wall1, mono1, &rep, err, sizeof(err)),
                          ZEN_OK);
    CU_ASSERT_EQUAL(rep.restored, 2);
    CU_ASSERT_EQUAL(rep.dropped_unknown + rep.dropped_identity + rep.dropped_invalid, 0);
    CU_ASSERT_EQUAL(rep.sessions, 2);
    CU_ASSERT_EQUAL(rep.written_at_ms, WALL0);
    struct provider_state *a2 = pstates_get(ps2, "a"), *b2 = pstates_get(ps2, "b"),
                          *c2 = pstates_get(ps2, "c");
    CU_ASSERT_TRUE(pstate_disabled(a2, mono1));
    CU_ASSERT_EQUAL(a2->disabled_until_ms, mono1 + 600000 - 5000);
    CU_ASSERT_EQUAL(pstate_circuit(a2, mono1), CIRCUIT_OPEN);
    CU_ASSERT_EQUAL(pstate_cooldown_remaining_ms(a2, mono1), 25000);
    CU_ASSERT_EQUAL(a2->cooldown_ms, 40000);
    CU_ASSERT_EQUAL(a2->consecutive_failures, 3);
    CU_ASSERT_TRUE(a2->probe_enabled);
    CU_ASSERT_TRUE(ev_is_active(&a2->probe_timer)); /* a probe may still close it */
    CU_ASSERT_EQUAL(a2->last_error_type, ZERR_SERVER);
    CU_ASSERT_EQUAL(a2->last_status, 503);
    CU_ASSERT_STRING_EQUAL(a2->last_error, "overloaded \"now\"");
    CU_ASSERT_EQUAL(a2->learned_wire, -1);
    CU_ASSERT_TRUE(pstate_disabled(b2, mono1 + 365LL * 86400000));
    CU_ASSERT_EQUAL(b2->disabled_until_ms, 0);
    CU_ASSERT_EQUAL(b2->learned_wire, TR_FORMAT_R);
    CU_ASSERT_EQUAL(pstate_circuit(b2, mono1), CIRCUIT_CLOSED);
    CU_ASSERT_FALSE(c2->disabled);
    CU_ASSERT_FALSE(c2->open);
    CU_ASSERT_EQUAL(sessions_active(ss2, mono1), 2);
    /* The next failure doubles from the restored length. */
    pstate_failure(a2, ZERR_SERVER, 500, "again", -1);
    CU_ASSERT_EQUAL(a2->cooldown_ms, 60000);
    CU_ASSERT_EQUAL(a2->consecutive_failures, 4);

    json_decref(doc);
    sessions_free(ss);
    sessions_free(ss2);
    pstates_free(ps);
    pstates_free(ps2);
}

static void test_time_passed_while_down(void)
{
    struct provider_states *ps = table(cfg_json);
    struct provider_state *a = pstates_get(ps, "a");
    a->disabled = 1;
    a->disabled_until_ms = MONO0 + 60000;
    a->open = 1;
    a->cooldown_until_ms = MONO0 + 30000;
    a->cooldown_ms = 30000;
    a->consecutive_failures = 1;
    json_t *doc = through_text(statefile_encode(ps, NULL, WALL0, MONO0));
    /* Loaded two minutes later: the disable is over, the cooldown ran out
     * (half-open: the next request may try it). */
    struct provider_states *ps2 = table(cfg_json);
    struct statefile_load_report rep;
    char err[256];
    CU_ASSERT_EQUAL(statefile_decode(doc, ps2, NULL, WALL0 + 120000, 900, &rep, err, sizeof(err)),
                    ZEN_OK);
    struct provider_state *a2 = pstates_get(ps2, "a");
    CU_ASSERT_FALSE(pstate_disabled(a2, 900));
    CU_ASSERT_FALSE(a2->disabled);
    CU_ASSERT_EQUAL(pstate_circuit(a2, 900), CIRCUIT_HALF_OPEN);
    CU_ASSERT_EQUAL(a2->consecutive_failures, 1);
    json_decref(doc);
    pstates_free(ps);
    pstates_free(ps2);
}

static void test_identity_and_unknown_dropped(void)
{
    struct provider_states *ps = table(cfg_json);
    const char *names[] = {"a", "b", "c"};
    for (size_t i = 0; i < 3; i++)
        pstate_disable(pstates_get(ps, names[i]), 0);
    json_t *doc = through_text(statefile_encode(ps, NULL, WALL0, MONO0));
    /* a: another URL; c: no longer configured; b: the same. */
    struct provider_states *ps2 = table(cfg_moved_json);
    struct statefile_load_report rep;
    char err[256];
    CU_ASSERT_EQUAL(statefile_decode(doc, ps2, NULL, WALL0, MONO0, &rep, err, sizeof(err)),
                    ZEN_OK);
    CU_ASSERT_EQUAL(rep.restored, 1);
    CU_ASSERT_EQUAL(rep.dropped_identity, 1);
    CU_ASSERT_EQUAL(rep.dropped_unknown, 1);
    CU_ASSERT_FALSE(pstates_get(ps2, "a")->disabled);
    CU_ASSERT_TRUE(pstates_get(ps2, "b")->disabled);
    CU_ASSERT_EQUAL(pstates_count(ps2), 2);
    json_decref(doc);
    pstates_free(ps);
    pstates_free(ps2);
}

static void test_token_change_drops(void)
{
    /* The same URL with another token is another account: its cooldown is
     * not this one's. */
    static const char other_token[] =
        "{\"providers\": {\"a\": {\"base_url\": \"https://user:pw@a.example\", \"auth_token\": "
        "\"sk-other\"}}, \"profiles\": {\"default\": [\"a\"]}}";
    struct provider_states *ps = table(cfg_json);
    pstate_failure(pstates_get(ps, "a"), ZERR_AUTH, 401, "bad key", -1);
    json_t *doc = through_text(statefile_encode(ps, NULL, WALL0, MONO0));
    struct provider_states *ps2 = table(other_token);
    struct statefile_load_report rep;
    char err[256];
    CU_ASSERT_EQUAL(statefile_decode(doc, ps2, NULL, WALL0, MONO0, &rep, err, sizeof(err)),
                    ZEN_OK);
    CU_ASSERT_EQUAL(rep.dropped_identity, 1);
    CU_ASSERT_FALSE(pstates_get(ps2, "a")->open);
    json_decref(doc);
    pstates_free(ps);
    pstates_free(ps2);
}

static void test_invalid_entries_and_documents(void)
{
    struct provider_states *ps = table(cfg_json);
    char fp[ZSEC_FINGERPRINT_LEN], json[1024], err[256];
    identity_fp(pstates_get(ps, "b"), fp);
    /* a's entry is malformed, b's is fine: b is applied, a dropped. */
    snprintf(json, sizeof(json),
             "{\"version\": 1, \"providers\": {"
             "\"a\": {\"identity\": \"x\", \"cooldown\": {\"until\": \"soon\"}},"
             "\"b\": {\"identity\": \"%s\", \"disabled\": true, \"disabled_until\": 0,"
             "        \"learned_wire\": \"chat\"},"
             "\"c\": {\"identity\": 7}}}",
             fp);
    json_t *doc = json_loads(json, 0, NULL);
    struct statefile_load_report rep;
    CU_ASSERT_EQUAL(statefile_decode(doc, ps, NULL, WALL0, MONO0, &rep, err, sizeof(err)),
                    ZEN_OK);
    CU_ASSERT_EQUAL(rep.restored, 1);
    CU_ASSERT_EQUAL(rep.dropped_invalid, 2);
    CU_ASSERT_TRUE(pstates_get(ps, "b")->disabled);
    CU_ASSERT_EQUAL(pstates_get(ps, "b")->learned_wire, TR_FORMAT_C);
    CU_ASSERT_FALSE(pstates_get(ps, "a")->open);
    json_decref(doc);

    /* Bad entries: unknown error type, wire, negative or absurd numbers. */
    const char *bad_entries[] = {
        "{'last_error': {'type': 'cosmic', 'status': 1, 'text': ''}}",
        "{'learned_wire': 'gopher'}",
        "{'disabled': true}",
        "{'disabled': 1, 'disabled_until': 0}",
        "{'cooldown': {'until': -1, 'length_ms': 1, "
        "'consecutive_failures': 1, 'probe': false}}",
        "{'cooldown': {'until': 1, 'length_ms': 1, "
        "'consecutive_failures': 99999999999, 'probe': false}}",
        "{'cooldown': {'until': 1e20, 'length_ms': 1, "
        "'consecutive_failures': 1, 'probe': false}}",
    };
    for (size_t i = 0; i < ZEN_ARRAY_LEN(bad_entries); i++) {
        json_t *entry = json_loads(tu_q(bad_entries[i]), 0, NULL);
        CU_ASSERT_PTR_NOT_NULL_FATAL(entry);
        json_object_set_new(entry, "identity", json_string(fp));
        doc = json_pack("{s:i, s:{s:o}}", "version", 1, "providers", "b", entry);
        CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
        CU_ASSERT_EQUAL(statefile_decode(doc, ps, NULL, WALL0, MONO0, &rep, err, sizeof(err)),
                        ZEN_OK);
        CU_ASSERT_EQUAL(rep.dropped_invalid, 1);
        CU_ASSERT_EQUAL(rep.restored, 0);
        json_decref(doc);
    }

    /* Whole documents refused, with nothing applied. */
    const char *bad_docs[] = {"[]", "{'version': 2, 'providers': {}}",
                              "{'providers': {}}", "{'version': 1}",
                              "{'version': 1, 'providers': []}"};
    for (size_t i = 0; i < ZEN_ARRAY_LEN(bad_docs); i++) {
        doc = json_loads(tu_q(bad_docs[i]), 0, NULL);
        CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
        err[0] = '\0';
        CU_ASSERT_EQUAL(statefile_decode(doc, ps, NULL, WALL0, MONO0, &rep, err, sizeof(err)),
                        ZEN_ERR);
        CU_ASSERT_NOT_EQUAL(err[0], '\0');
        json_decref(doc);
    }
    pstates_free(ps);
}

static void test_no_secret_written(void)
{
    struct provider_states *ps = table(cfg_json);
    struct provider_state *a = pstates_get(ps, "a");
    pstate_disable(a, 0);
    json_t *doc = statefile_encode(ps, NULL, WALL0, MONO0);
    char *text = json_dumps(doc, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    char token_fp[ZSEC_FINGERPRINT_LEN];
    zsec_fingerprint(TOKEN, strlen(TOKEN), token_fp);
    CU_ASSERT_PTR_NULL(strstr(text, TOKEN));
    CU_ASSERT_PTR_NULL(strstr(text, token_fp));   /* not even the token's fingerprint */
    CU_ASSERT_PTR_NULL(strstr(text, "a.example")); /* nor the URL, which holds a password */
    CU_ASSERT_PTR_NULL(strstr(text, "pw@"));
    free(text);
    json_decref(doc);
    pstates_free(ps);
}

static void home_dir(char *out, size_t outlen)
{
    snprintf(out, outlen, "%s/h%d", tu_tmpdir, (int)tu_rng_below(1000000));
    CU_ASSERT_EQUAL_FATAL(mkdir(out, 0700), 0);
}

static void test_file_private_and_corrupt_left_alone(void)
{
    char home[4200], path[4400];
    home_dir(home, sizeof(home));
    tu_write_file(home, STATEFILE_NAME, "{not json", 0600, path, sizeof(path));
    struct provider_states *ps = table(cfg_json);
    struct statefile *sf = statefile_open(loop, home, ps, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sf);
    /* Ignored, not deleted, not rewritten while nothing changed. */
    char *text = tu_read_file(path);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    CU_ASSERT_STRING_EQUAL(text, "{not json");
    free(text);
    CU_ASSERT_FALSE(pstates_get(ps, "a")->disabled);
    umask(022);
    statefile_close(sf); /* the shutdown's write */
    umask(077);
    struct stat st;
    CU_ASSERT_EQUAL_FATAL(lstat(path, &st), 0);
    CU_ASSERT_TRUE(S_ISREG(st.st_mode));
    CU_ASSERT_EQUAL(st.st_mode & 0777, 0600);
    text = tu_read_file(path);
    json_t *doc = text ? json_loads(text, 0, NULL) : NULL;
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(doc, "version")), 1);
    json_decref(doc);
    free(text);
    pstates_free(ps);
}

static void test_debounced_writes(void)
{
    char home[4200], path[4400];
    home_dir(home, sizeof(home));
    snprintf(path, sizeof(path), "%s/%s", home, STATEFILE_NAME);
    struct provider_states *ps = table(cfg_json);
    struct sessions *ss = sessions_new();
    struct statefile *sf = statefile_open(loop, home, ps, ss);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sf);
    CU_ASSERT_FALSE(ev_is_active(&sf->debounce));
    /* The first change is written at the next loop turn. */
    pstate_disable(pstates_get(ps, "a"), 0);
    CU_ASSERT_TRUE(ev_is_active(&sf->debounce));
    ev_run(loop, EVRUN_NOWAIT);
    CU_ASSERT_FALSE(ev_is_active(&sf->debounce));
    char *text = tu_read_file(path);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "\"a\""));
    free(text);
    /* The next ones within the second wait for it, as one write. */
    pstate_disable(pstates_get(ps, "b"), 0);
    sessions_note(ss, "default:x", ztime_mono_ms());
    CU_ASSERT_TRUE(ev_is_active(&sf->debounce));
    CU_ASSERT_TRUE(ev_timer_remaining(loop, &sf->debounce) > 0.5);
    ev_run(loop, EVRUN_NOWAIT);
    text = tu_read_file(path);
    CU_ASSERT_PTR_NULL(strstr(text, "\"b\""));
    free(text);
    /* A refreshed session is no change; a new one is. */
    ev_timer_stop(loop, &sf->debounce);
    sessions_note(ss, "default:x", ztime_mono_ms());
    CU_ASSERT_FALSE(ev_is_active(&sf->debounce));
    /* Close writes what is pending. */
    statefile_close(sf);
    text = tu_read_file(path);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "\"b\""));
    json_t *doc = text ? json_loads(text, 0, NULL) : NULL;
    CU_ASSERT_EQUAL(json_array_size(json_object_get(doc, "sessions")), 1);
    json_decref(doc);
    free(text);
    /* No hook is left pointing at the freed state file. */
    pstate_enable(pstates_get(ps, "a"));
    sessions_note(ss, "default:y", ztime_mono_ms());
    sessions_free(ss);
    pstates_free(ps);
}

/* The routing state (counters, smooth weighted current weights), the
 * session memory and the TTFB EWMAs survive the round trip; an idle
 * session and malformed items are dropped. */
static void test_routing_round_trip(void)
{
    struct provider_states *ps = table(cfg_json);
    struct provider_state *a = pstates_get(ps, "a");
    a->ttfb_ewma_ms = 123.5;
    a->ttfb_samples = 7;
    struct routing_state *rs = routing_state_new();
    routing_state_restore_counter(rs, "default", 41, 19);
    routing_state_restore_weight(rs, "default:think", "b", -3);
    struct smem *m = smem_new(0, 0);
    smem_note_request(m, "default", "s1", ZCFG_SCENARIO_THINK, MONO0 - 1000);
    smem_note_served(m, "default", "s1", "b", 40000, 900, MONO0 - 1000);
    smem_note_request(m, "default", "-", ZCFG_SCENARIO_CODE, MONO0 - 500);
    smem_note_request(m, "default", "old", ZCFG_SCENARIO_CODE, MONO0 - SMEM_IDLE_MS - 1);

    json_t *raw = statefile_encode(ps, NULL, WALL0, MONO0);
    statefile_encode_routing(raw, rs, m, WALL0, MONO0);
    json_array_append_new(json_object_get(raw, "session_memory"),
                          json_pack("{s:s}", "profile", "broken"));
    json_t *doc = through_text(raw);
    CU_ASSERT_EQUAL(json_array_size(json_object_get(doc, "session_memory")), 3);

    struct provider_states *ps2 = table(cfg_json);
    struct routing_state *rs2 = routing_state_new();
    struct smem *m2 = smem_new(0, 0);
    struct statefile_load_report rep;
    char err[256];
    CU_ASSERT_EQUAL(statefile_decode(doc, ps2, NULL, WALL0 + 5000, 77, &rep, err, sizeof(err)),
                    ZEN_OK);
    CU_ASSERT_DOUBLE_EQUAL(pstates_get(ps2, "a")->ttfb_ewma_ms, 123.5, 1e-9);
    CU_ASSERT_EQUAL(pstates_get(ps2, "a")->ttfb_samples, 7);
    CU_ASSERT_EQUAL(pstates_get(ps2, "b")->ttfb_samples, 0);
    CU_ASSERT_EQUAL(statefile_decode_routing(doc, rs2, m2, WALL0 + 5000, 1000000000), 2);
    const struct smem_entry *e = smem_get(m2, "default", "s1", 1000000000);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    CU_ASSERT_STRING_EQUAL(e->last_provider, "b");
    CU_ASSERT_EQUAL(e->last_scenario, ZCFG_SCENARIO_THINK);
    CU_ASSERT_EQUAL(e->input_tokens, 40000);
    CU_ASSERT_EQUAL(e->output_tokens, 900);
    CU_ASSERT_EQUAL(e->requests, 1);
    CU_ASSERT_EQUAL(e->last_seen_ms, 1000000000 - 6000); /* 1 s before save, 5 s later */
    CU_ASSERT_PTR_NULL(smem_get(m2, "default", "old", 1000000000));
    CU_ASSERT_PTR_NOT_NULL(smem_get(m2, "default", "-", 1000000000));

    /* The strategy state walks out the same as it went in. */
    json_t *again = json_object();
    statefile_encode_routing(again, rs2, NULL, WALL0, MONO0);
    json_t *before = json_object();
    statefile_encode_routing(before, rs, NULL, WALL0, MONO0);
    CU_ASSERT_TRUE(json_equal(again, before));
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(
                        json_object_get(json_object_get(again, "routing"), "default"),
                        "counter")),
                    41);
    json_decref(again);
    json_decref(before);
    json_decref(doc);
    smem_free(m);
    smem_free(m2);
    routing_state_free(rs);
    routing_state_free(rs2);
    pstates_free(ps);
    pstates_free(ps2);
}

void register_tests(void)
{
    CU_pSuite s = CU_add_suite("state_file", suite_init, suite_clean);
    TU_ADD(s, test_wall_mono_conversion);
    TU_ADD(s, test_round_trip);
    TU_ADD(s, test_time_passed_while_down);
    TU_ADD(s, test_identity_and_unknown_dropped);
    TU_ADD(s, test_token_change_drops);
    TU_ADD(s, test_invalid_entries_and_documents);
    TU_ADD(s, test_no_secret_written);
    TU_ADD(s, test_file_private_and_corrupt_left_alone);
    TU_ADD(s, test_debounced_writes);
    TU_ADD(s, test_routing_round_trip);
}
