#include "state_file.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"
#include "error_type.h"
#include "log.h"
#include "paths.h"
#include "provider_state.h"
#include "routing.h"
#include "secret.h"
#include "session_memory.h"
#include "sessions.h"
#include "timeutil.h"
#include "tr_ctx.h"

/* Epoch milliseconds beyond this (year 33658) are not a time zend wrote;
 * the bound also keeps the wall/monotonic arithmetic far from overflow. */
#define STATEFILE_MAX_TIME_MS 1000000000000000LL

struct statefile {
    struct ev_loop *loop;
    char path[PATH_MAX];
    struct provider_states *ps;
    struct sessions *ss;
    struct routing_state *rs;  /* NULL until statefile_attach_routing */
    struct smem *smem;
    ev_timer debounce;     /* the next write, at most one pending */
    int64_t last_write_ms; /* monotonic; 0 = none yet */
    int failing;           /* the last write failed (logged once per streak) */
};

int64_t statefile_wall_of(int64_t mono_ms, int64_t now_mono_ms, int64_t now_wall_ms)
{
    return now_wall_ms + (mono_ms - now_mono_ms);
}

int64_t statefile_mono_of(int64_t wall_ms, int64_t now_wall_ms, int64_t now_mono_ms)
{
    return now_mono_ms + (wall_ms - now_wall_ms);
}

/* Who the provider was when its state was kept: a fingerprint of its
 * identity (base URL + token fingerprint), so neither the URL (which may
 * carry credentials) nor anything about the token is written out. */
static void identity_fp(const struct provider_state *s, char out[ZSEC_FINGERPRINT_LEN])
{
    zsec_fingerprint(s->identity, strlen(s->identity), out);
}

/* ---- encode ---- */

static json_t *encode_provider(const struct provider_state *s, int64_t now_wall,
                               int64_t now_mono)
{
    json_t *o = json_object();
    int keep = 0;
    if (!o)
        return NULL;
    if (pstate_disabled(s, now_mono)) {
        int64_t until = s->disabled_until_ms
                            ? statefile_wall_of(s->disabled_until_ms, now_mono, now_wall)
                            : 0;
        json_object_set_new(o, "disabled", json_true());
        json_object_set_new(o, "disabled_until", json_integer(until));
        keep = 1;
    }
    if (s->open) {
        json_object_set_new(
            o, "cooldown",
            json_pack("{s:I, s:I, s:i, s:b}", "until",
                      (json_int_t)statefile_wall_of(s->cooldown_until_ms, now_mono, now_wall),
                      "length_ms", (json_int_t)s->cooldown_ms, "consecutive_failures",
                      s->consecutive_failures, "probe", s->probe_enabled));
        keep = 1;
    }
    if (s->last_error_type != ZERR_NONE) {
        json_object_set_new(o, "last_error",
                            json_pack("{s:s, s:i, s:s}", "type",
                                      zen_error_type_name(s->last_error_type), "status",
                                      s->last_status, "text", s->last_error));
        keep = 1;
    }
    if (s->learned_wire >= 0) {
        json_object_set_new(o, "learned_wire",
                            json_string(tr_format_name((enum tr_format)s->learned_wire)));
        keep = 1;
    }
    if (s->ttfb_samples > 0) {
        json_object_set_new(o, "ttfb", json_pack("{s:f, s:I}", "ewma_ms", s->ttfb_ewma_ms,
                                                 "samples", (json_int_t)s->ttfb_samples));
        keep = 1;
    }
    if (!keep) {
        json_decref(o);
        return NULL;
    }
    char fp[ZSEC_FINGERPRINT_LEN];
    identity_fp(s, fp);
    json_object_set_new(o, "identity", json_string(fp));
    return o;
}

/* Where sessions_each puts the keys it visits. */
struct session_sink {
    json_t *arr;
    int64_t now_mono, now_wall;
};

static void encode_session(void *ud, uint64_t key, int64_t seen_ms)
{
    struct session_sink *sink = ud;
    char hex[17];
    snprintf(hex, sizeof(hex), "%016" PRIx64, key);
    json_array_append_new(
        sink->arr,
        json_pack("[s, I]", hex,
                  (json_int_t)statefile_wall_of(seen_ms, sink->now_mono, sink->now_wall)));
}

json_t *statefile_encode(struct provider_states *ps, const struct sessions *ss,
                         int64_t now_wall_ms, int64_t now_mono_ms)
{
    json_t *providers = json_object();
    json_t *sessions = json_array();
    json_t *doc = json_pack("{s:i, s:I, s:o, s:o}", "version", STATEFILE_VERSION, "written_at",
                            (json_int_t)now_wall_ms, "providers", providers, "sessions",
                            sessions);
    if (!doc)
        return NULL;
    for (size_t i = 0; i < pstates_count(ps); i++) {
        const struct provider_state *s = pstates_at(ps, i);
        json_t *o = encode_provider(s, now_wall_ms, now_mono_ms);
        if (o)
            json_object_set_new(providers, s->name, o);
    }
    if (ss) {
        struct session_sink sink = {sessions, now_mono_ms, now_wall_ms};
        sessions_each(ss, now_mono_ms, encode_session, &sink);
    }
    return doc;
}

/* ---- decode ---- */

/* One provider entry, checked whole before any of it is applied. */
struct saved_provider {
    const char *identity;
    int disabled;
    json_int_t disabled_until;
    int open, probe;
    json_int_t until, length_ms, failures;
    int error_type;
    json_int_t status;
    const char *text;
    int wire; /* -1: none */
    double ttfb_ewma_ms;
    json_int_t ttfb_samples; /* 0: none kept */
};

static int time_ok(json_int_t t) { return t >= 0 && t <= STATEFILE_MAX_TIME_MS; }

static int error_type_of(const char *name)
{
    for (int t = ZERR_NONE + 1; t < ZERR__COUNT; t++)
        if (strcmp(zen_error_type_name(t), name) == 0)
            return t;
    return -1;
}

static int wire_of(const char *name)
{
    static const enum tr_format all[] = {TR_FORMAT_A, TR_FORMAT_C, TR_FORMAT_R};
    for (size_t i = 0; i < ZEN_ARRAY_LEN(all); i++)
        if (strcmp(tr_format_name(all[i]), name) == 0)
            return (int)all[i];
    return -1;
}

/* ZEN_OK when e is a well-formed entry (filled into v). */
static int parse_provider(const json_t *e, struct saved_provider *v)
{
    memset(v, 0, sizeof(*v));
    v->wire = -1;
    const json_t *disabled = json_object_get(e, "disabled");
    const json_t *cooldown = json_object_get(e, "cooldown");
    const json_t *last_error = json_object_get(e, "last_error");
    const char *wire = NULL;
    if (!json_is_object(e) || json_unpack((json_t *)e, "{s:s, s?s}", "identity", &v->identity,
                                          "learned_wire", &wire) != 0)
        return ZEN_ERR;
    if (disabled) {
        if (!json_is_boolean(disabled) ||
            json_unpack((json_t *)e, "{s:I}", "disabled_until", &v->disabled_until) != 0 ||
            !time_ok(v->disabled_until))
            return ZEN_ERR;
        v->disabled = json_is_true(disabled);
    }
    if (cooldown) {
        if (json_unpack((json_t *)cooldown, "{s:I, s:I, s:I, s:b}", "until", &v->until,
                        "length_ms", &v->length_ms, "consecutive_failures", &v->failures,
                        "probe", &v->probe) != 0 ||
            !time_ok(v->until) || !time_ok(v->length_ms) || v->failures < 0 ||
            v->failures > INT_MAX)
            return ZEN_ERR;
        v->open = 1;
    }
    if (last_error) {
        const char *type = NULL;
        if (json_unpack((json_t *)last_error, "{s:s, s:I, s:s}", "type", &type, "status",
                        &v->status, "text", &v->text) != 0 ||
            (v->error_type = error_type_of(type)) < 0 || v->status < 0 || v->status > 999)
            return ZEN_ERR;
    }
    if (wire && (v->wire = wire_of(wire)) < 0)
        return ZEN_ERR;
    const json_t *ttfb = json_object_get(e, "ttfb");
    if (ttfb && (json_unpack((json_t *)ttfb, "{s:F, s:I}", "ewma_ms", &v->ttfb_ewma_ms,
                             "samples", &v->ttfb_samples) != 0 ||
                 !(v->ttfb_ewma_ms >= 0 && v->ttfb_ewma_ms < 1e9) || v->ttfb_samples < 0 ||
                 v->ttfb_samples > UINT32_MAX))
        return ZEN_ERR;
    return ZEN_OK;
}

static void apply_provider(struct provider_state *s, const struct saved_provider *v,
                           int64_t now_wall, int64_t now_mono)
{
    if (v->disabled) {
        int64_t until = v->disabled_until
                            ? statefile_mono_of(v->disabled_until, now_wall, now_mono)
                            : 0;
        if (!v->disabled_until || until > now_mono) { /* an expired one is over */
            s->disabled = 1;
            s->disabled_until_ms = until;
        }
    }
    if (v->open) {
        /* Run out while no worker ran: half-open, as it would be by now. */
        s->open = 1;
        s->cooldown_until_ms = statefile_mono_of(v->until, now_wall, now_mono);
        s->cooldown_ms = v->length_ms;
        s->consecutive_failures = (int)v->failures;
        s->probe_enabled = v->probe;
        pstate_resume_probe(s);
    }
    if (v->error_type > 0) {
        s->last_error_type = v->error_type;
        s->last_status = (int)v->status;
        snprintf(s->last_error, sizeof(s->last_error), "%s", v->text);
    }
    if (v->wire >= 0)
        s->learned_wire = v->wire;
    if (v->ttfb_samples > 0) {
        s->ttfb_ewma_ms = v->ttfb_ewma_ms;
        s->ttfb_samples = (uint32_t)v->ttfb_samples;
    }
}

static void drop_entry(const char *name, const char *reason, unsigned *count)
{
    (*count)++;
    zlog_pack(ZLOG_INFO, "state_entry_dropped", "{s:s, s:s}", "provider", name, "reason",
              reason);
}

static void decode_provider(const char *name, const json_t *e, struct provider_states *ps,
                            int64_t now_wall, int64_t now_mono,
                            struct statefile_load_report *rep)
{
    struct saved_provider v;
    struct provider_state *s = pstates_get(ps, name);
    if (!s) {
        drop_entry(name, "not_configured", &rep->dropped_unknown);
        return;
    }
    if (parse_provider(e, &v) != ZEN_OK) {
        drop_entry(name, "invalid", &rep->dropped_invalid);
        return;
    }
    char fp[ZSEC_FINGERPRINT_LEN];
    identity_fp(s, fp);
    if (strcmp(fp, v.identity) != 0) {
        drop_entry(name, "identity_changed", &rep->dropped_identity);
        return;
    }
    apply_provider(s, &v, now_wall, now_mono);
    rep->restored++;
}

/* Puts back the sessions still within the window; malformed items are
 * skipped (the count is only a health figure). */
static void decode_sessions(const json_t *arr, struct sessions *ss, int64_t now_wall,
                            int64_t now_mono, struct statefile_load_report *rep)
{
    size_t i;
    const json_t *item;
    json_array_foreach(arr, i, item) {
        const char *hex = NULL;
        json_int_t seen_wall = 0;
        char *end = NULL;
        if (json_unpack((json_t *)item, "[s, I]", &hex, &seen_wall) != 0 || !time_ok(seen_wall) ||
            strlen(hex) != 16)
            continue;
        uint64_t key = strtoull(hex, &end, 16);
        if (*end)
            continue;
        int64_t seen = statefile_mono_of(seen_wall, now_wall, now_mono);
        if (seen > now_mono)
            seen = now_mono; /* the wall clock went back: seen now, at the latest */
        if (now_mono - seen > SESSIONS_WINDOW_MS)
            continue;
        sessions_restore(ss, key, seen > 0 ? seen : 1);
        rep->sessions++;
    }
}

int statefile_decode(const json_t *doc, struct provider_states *ps, struct sessions *ss,
                     int64_t now_wall_ms, int64_t now_mono_ms,
                     struct statefile_load_report *rep, char *err, size_t errlen)
{
    memset(rep, 0, sizeof(*rep));
    const json_t *version = json_object_get(doc, "version");
    const json_t *providers = json_object_get(doc, "providers");
    const json_t *written_at = json_object_get(doc, "written_at");
    const json_t *sessions = json_object_get(doc, "sessions");
    if (!json_is_object(doc)) {
        snprintf(err, errlen, "not a JSON object");
        return ZEN_ERR;
    }
    if (!json_is_integer(version) || json_integer_value(version) != STATEFILE_VERSION) {
        snprintf(err, errlen, "\"version\" is not %d", STATEFILE_VERSION);
        return ZEN_ERR;
    }
    if (!json_is_object(providers)) {
        snprintf(err, errlen, "\"providers\" is not an object");
        return ZEN_ERR;
    }
    if (json_is_integer(written_at))
        rep->written_at_ms = (int64_t)json_integer_value(written_at);
    const char *name;
    const json_t *e;
    json_object_foreach((json_t *)providers, name, e)
        decode_provider(name, e, ps, now_wall_ms, now_mono_ms, rep);
    if (ss && json_is_array(sessions))
        decode_sessions(sessions, ss, now_wall_ms, now_mono_ms, rep);
    return ZEN_OK;
}

/* ---- routing: strategy state and session memory (docs/routing.md) ---- */

static void encode_counter(void *ud, const char *key, uint64_t counter, uint64_t explore)
{
    json_object_set_new(ud, key, json_pack("{s:I, s:I, s:{}}", "counter", (json_int_t)counter,
                                           "explore", (json_int_t)explore, "weights"));
}

static void encode_weight(void *ud, const char *key, const char *provider, int64_t current)
{
    json_object_set_new(json_object_get(json_object_get(ud, key), "weights"), provider,
                        json_integer(current));
}

static void encode_smem(void *ud, const struct smem_entry *e)
{
    struct session_sink *sink = ud;
    json_t *o = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:I}", "profile", e->profile,
                          "session", e->session, "scenario", zcfg_scenario_name(e->last_scenario),
                          "requests", (json_int_t)e->requests, "input_tokens",
                          (json_int_t)e->input_tokens, "output_tokens",
                          (json_int_t)e->output_tokens, "last_seen",
                          (json_int_t)statefile_wall_of(e->last_seen_ms, sink->now_mono,
                                                        sink->now_wall));
    if (o && e->last_provider)
        json_object_set_new(o, "provider", json_string(e->last_provider));
    if (o)
        json_array_append_new(sink->arr, o);
}

void statefile_encode_routing(json_t *doc, const struct routing_state *rs, const struct smem *m,
                              int64_t now_wall_ms, int64_t now_mono_ms)
{
    if (rs) {
        json_t *routing = json_object();
        routing_state_each(rs, encode_counter, encode_weight, routing);
        json_object_set_new(doc, "routing", routing);
    }
    if (m) {
        struct session_sink sink = {json_array(), now_mono_ms, now_wall_ms};
        smem_each(m, now_mono_ms, encode_smem, &sink);
        json_object_set_new(doc, "session_memory", sink.arr);
    }
}

static void decode_counters(const json_t *routing, struct routing_state *rs)
{
    const char *key, *provider;
    const json_t *v, *w;
    json_object_foreach((json_t *)routing, key, v) {
        json_int_t counter = 0, explore = 0;
        if (json_unpack((json_t *)v, "{s:I, s:I}", "counter", &counter, "explore", &explore) ||
            counter < 0 || explore < 0)
            continue;
        routing_state_restore_counter(rs, key, (uint64_t)counter, (uint64_t)explore);
        json_object_foreach(json_object_get(v, "weights"), provider, w)
            if (json_is_integer(w))
                routing_state_restore_weight(rs, key, provider, json_integer_value(w));
    }
}

/* Puts back the sessions not idle too long; malformed items are skipped. */
static unsigned decode_smem(const json_t *arr, struct smem *m, int64_t now_wall,
                            int64_t now_mono)
{
    unsigned n = 0;
    size_t i;
    const json_t *item;
    json_array_foreach(arr, i, item) {
        struct smem_entry e;
        memset(&e, 0, sizeof(e));
        const char *scenario = NULL, *provider = NULL;
        json_int_t requests = 0, in = 0, out = 0, seen_wall = 0;
        if (json_unpack((json_t *)item, "{s:s, s:s, s:s, s:I, s:I, s:I, s:I, s?s}", "profile",
                        &e.profile, "session", &e.session, "scenario", &scenario, "requests",
                        &requests, "input_tokens", &in, "output_tokens", &out, "last_seen",
                        &seen_wall, "provider", &provider) != 0 ||
            !time_ok(seen_wall) || requests < 0 || in < 0 || out < 0 ||
            (e.last_scenario = zcfg_scenario_parse(scenario)) < 0)
            continue;
        int64_t seen = statefile_mono_of(seen_wall, now_wall, now_mono);
        if (seen > now_mono)
            seen = now_mono;
        if (now_mono - seen > SMEM_IDLE_MS)
            continue;
        e.last_provider = (char *)provider;
        e.requests = (uint64_t)requests;
        e.input_tokens = in;
        e.output_tokens = out;
        e.last_seen_ms = seen;
        smem_restore(m, &e);
        n++;
    }
    return n;
}

unsigned statefile_decode_routing(const json_t *doc, struct routing_state *rs, struct smem *m,
                                  int64_t now_wall_ms, int64_t now_mono_ms)
{
    if (rs && json_is_object(json_object_get(doc, "routing")))
        decode_counters(json_object_get(doc, "routing"), rs);
    if (m && json_is_array(json_object_get(doc, "session_memory")))
        return decode_smem(json_object_get(doc, "session_memory"), m, now_wall_ms, now_mono_ms);
    return 0;
}

/* ---- the file ---- */

/* The parsed file, or NULL: *absent set when there is none (a first start),
 * else err says why it cannot be used. */
static json_t *read_doc(const char *path, int *absent, char *err, size_t errlen)
{
    *absent = 0;
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        *absent = errno == ENOENT;
        snprintf(err, errlen, "%s", errno == ELOOP ? "is a symlink: refused" : strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
        st.st_size > STATEFILE_MAX_BYTES) {
        snprintf(err, errlen, "not a regular file of ours of at most %u bytes: refused",
                 STATEFILE_MAX_BYTES);
        close(fd);
        return NULL;
    }
    json_error_t jerr;
    json_t *doc = json_loadfd(fd, JSON_REJECT_DUPLICATES, &jerr);
    close(fd);
    if (!doc)
        snprintf(err, errlen, "line %d column %d: %s", jerr.line, jerr.column, jerr.text);
    return doc;
}

static void load(struct statefile *sf)
{
    char err[ZEN_ERRLEN];
    int absent = 0;
    json_t *doc = read_doc(sf->path, &absent, err, sizeof(err));
    struct statefile_load_report rep;
    if (doc && statefile_decode(doc, sf->ps, sf->ss, ztime_wall_ms(), ztime_mono_ms(), &rep,
                                err, sizeof(err)) == ZEN_OK) {
        char written_at[ZTIME_RFC3339_LEN];
        ztime_format_rfc3339_ms(rep.written_at_ms, written_at);
        zlog_pack(ZLOG_INFO, "state_loaded", "{s:s, s:s, s:i, s:i, s:i}", "path", sf->path,
                  "written_at", written_at, "providers", (int)rep.restored, "dropped",
                  (int)(rep.dropped_unknown + rep.dropped_identity + rep.dropped_invalid),
                  "sessions", (int)rep.sessions);
    } else if (absent) {
        zlog_pack(ZLOG_DEBUG, "state_absent", "{s:s}", "path", sf->path);
    } else {
        zlog_pack(ZLOG_WARN, "state_load_failed", "{s:s, s:s}", "path", sf->path, "reason",
                  err);
    }
    json_decref(doc);
}

int statefile_save(struct statefile *sf, char *err, size_t errlen)
{
    int64_t now_wall = ztime_wall_ms(), now_mono = ztime_mono_ms();
    json_t *doc = statefile_encode(sf->ps, sf->ss, now_wall, now_mono);
    if (doc)
        statefile_encode_routing(doc, sf->rs, sf->smem, now_wall, now_mono);
    char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    if (!text) {
        snprintf(err, errlen, "out of memory");
        return ZEN_ERR;
    }
    int rc = zpaths_write_atomic(sf->path, text, strlen(text), 0600, err, errlen);
    free(text);
    text = NULL;
    return rc;
}

/* Saves, logging the first failure of a streak and the recovery after it. */
static void save_logged(struct statefile *sf)
{
    char err[ZEN_ERRLEN];
    sf->last_write_ms = ztime_mono_ms();
    if (statefile_save(sf, err, sizeof(err)) != ZEN_OK) {
        if (!sf->failing)
            zlog_pack(ZLOG_WARN, "state_save_failed", "{s:s, s:s}", "path", sf->path, "detail",
                      err);
        sf->failing = 1;
        return;
    }
    if (sf->failing)
        zlog_pack(ZLOG_INFO, "state_saved", "{s:s}", "path", sf->path);
    sf->failing = 0;
}

static void debounce_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    save_logged(w->data);
}

/* Something kept changed: write soon, but not twice within the interval. */
static void on_change(void *ud)
{
    struct statefile *sf = ud;
    if (ev_is_active(&sf->debounce))
        return; /* the pending write will include it */
    int64_t wait = sf->last_write_ms ? sf->last_write_ms + STATEFILE_MIN_INTERVAL_MS -
                                           ztime_mono_ms()
                                     : 0;
    ev_timer_set(&sf->debounce, wait > 0 ? (double)wait / 1000.0 : 0., 0.);
    ev_timer_start(sf->loop, &sf->debounce);
}

struct statefile *statefile_open(struct ev_loop *loop, const char *home,
                                 struct provider_states *ps, struct sessions *ss)
{
    struct statefile *sf = calloc(1, sizeof(*sf));
    if (!sf) {
        zlog_pack(ZLOG_ERROR, "state_load_failed", "{s:s}", "reason", "out of memory");
        return NULL;
    }
    sf->loop = loop;
    sf->ps = ps;
    sf->ss = ss;
    if (zpaths_join(sf->path, sizeof(sf->path), home, STATEFILE_NAME) != ZEN_OK) {
        zlog_pack(ZLOG_WARN, "state_load_failed", "{s:s, s:s}", "path", home, "reason",
                  "path too long");
        free(sf);
        return NULL;
    }
    ev_timer_init(&sf->debounce, debounce_cb, 0., 0.);
    sf->debounce.data = sf;
    load(sf);
    pstates_set_on_change(ps, on_change, sf);
    if (ss)
        sessions_set_on_new(ss, on_change, sf);
    return sf;
}

void statefile_attach_routing(struct statefile *sf, struct routing_state *rs, struct smem *m)
{
    if (!sf)
        return;
    char err[ZEN_ERRLEN];
    int absent = 0;
    json_t *doc = read_doc(sf->path, &absent, err, sizeof(err));
    const json_t *version = json_object_get(doc, "version");
    /* state_loaded (or state_load_failed) already said what became of the file */
    if (json_is_integer(version) && json_integer_value(version) == STATEFILE_VERSION)
        statefile_decode_routing(doc, rs, m, ztime_wall_ms(), ztime_mono_ms());
    json_decref(doc);
    sf->rs = rs;
    sf->smem = m;
    if (m)
        smem_set_on_change(m, on_change, sf);
}

void statefile_close(struct statefile *sf)
{
    if (!sf)
        return;
    ev_timer_stop(sf->loop, &sf->debounce);
    if (sf->smem)
        smem_set_on_change(sf->smem, NULL, NULL);
    pstates_set_on_change(sf->ps, NULL, NULL);
    if (sf->ss)
        sessions_set_on_new(sf->ss, NULL, NULL);
    save_logged(sf);
    free(sf);
}
