#include "provider_state.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "log.h"
#include "error_type.h"
#include "policy.h"
#include "routing.h"
#include "timeutil.h"
#include "wire.h"

/* The config refuses more providers, so every one has its state. */
#define PSTATES_MAX ZCFG_MAX_PROVIDERS

/* The daemon.* numbers this module uses, copied from the current config:
 * plain numbers, so nothing here points into a config a reload frees. */
struct pstate_tuning {
    int64_t cooldown_initial_ms, cooldown_max_ms;
    int64_t auth_cooldown_initial_ms, auth_cooldown_max_ms;
    int64_t probe_interval_ms;
};

struct provider_states {
    struct ev_loop *loop;
    struct upstream *up;
    struct provider_state *v[PSTATES_MAX];
    size_t n;
    struct pstate_tuning tuning;
    int check_enabled;
    double check_interval_s, check_timeout_s;
    /* told when what state.json keeps changed (pstates_set_on_change) */
    void (*on_change)(void *ud);
    void *on_change_ud;
};

/* What state.json keeps of s changed: a disable, a cooldown opening or
 * closing, a learned wire. Nothing for a detached state. */
static void state_changed(const struct provider_state *s)
{
    if (s->owner && s->owner->on_change)
        s->owner->on_change(s->owner->on_change_ud);
}

const char *pstate_circuit_name(enum circuit c)
{
    switch (c) {
    case CIRCUIT_CLOSED: return "closed";
    case CIRCUIT_OPEN: return "open";
    case CIRCUIT_HALF_OPEN: return "half_open";
    }
    return "?";
}

enum circuit pstate_circuit(const struct provider_state *s, int64_t now_ms)
{
    if (!s->open)
        return CIRCUIT_CLOSED;
    return now_ms < s->cooldown_until_ms ? CIRCUIT_OPEN : CIRCUIT_HALF_OPEN;
}

int pstate_cooling(const struct provider_state *s, int64_t now_ms)
{
    return pstate_circuit(s, now_ms) == CIRCUIT_OPEN;
}

int64_t pstate_cooldown_remaining_ms(const struct provider_state *s, int64_t now_ms)
{
    return pstate_cooling(s, now_ms) ? s->cooldown_until_ms - now_ms : 0;
}

static void log_change(const struct provider_state *s, enum circuit from, enum circuit to,
                       const char *reason)
{
    zlog_pack(ZLOG_INFO, "provider_state_changed", "{s:s, s:s, s:s, s:I, s:s}", "provider",
              s->name, "from", pstate_circuit_name(from), "to", pstate_circuit_name(to), "cooldown_ms",
              (json_int_t)(to == CIRCUIT_OPEN ? s->cooldown_ms : 0), "reason", reason);
}

/* ---- the HEAD prober (cooldown probe and health check) ---- */

static void head_probe_head(void *ud, int status, const struct http_header *h, size_t n)
{
    struct pstate_head_probe *hp = ud;
    hp->status = status;
}

static int head_probe_body(void *ud, const char *data, size_t len) { return UPSTREAM_CONTINUE; }

/* What a HEAD that did not come up says went wrong, into hp->error_type
 * and hp->error. */
static void head_probe_describe(struct pstate_head_probe *hp, int result, const char *detail)
{
    if (result == UPSTREAM_OK && hp->status > 0) {
        hp->error_type = hp->status == 429 ? ZERR_RATE_LIMIT : ZERR_SERVER;
        snprintf(hp->error, sizeof(hp->error), "HEAD %d", hp->status);
        return;
    }
    hp->error_type = policy_classify_result(result);
    snprintf(hp->error, sizeof(hp->error), "%s%s%s", upstream_result_name(result),
             detail && *detail ? ": " : "", detail ? detail : "");
}

static void head_probe_done(void *ud, int result, const char *detail)
{
    struct pstate_head_probe *hp = ud;
    hp->t = NULL;
    /* A 401 or 404 to a HEAD on the base URL still proves the network path
     * and the server; a 429 or a 5xx does not (policy_probe_up). */
    int up = result == UPSTREAM_OK && policy_probe_up(hp->status);
    if (!up)
        head_probe_describe(hp, result, detail);
    hp->done(hp->s, up, hp->status, (ztime_mono_s() - hp->started_s) * 1000.0);
}

/* Sends a HEAD to s's probe URL with every timeout set to timeout_ms; `done`
 * learns later whether it answered below 500. ZEN_ERR (err filled, `done`
 * not called) when the transfer could not be started. */
static int head_probe_start(struct provider_state *s, struct pstate_head_probe *hp,
                            long timeout_ms,
                            void (*done)(struct provider_state *, int, int, double), char *err,
                            size_t errlen)
{
    static const struct upstream_callbacks cb = {head_probe_head, head_probe_body,
                                                 head_probe_done};
    struct upstream_request req = {
        .method = "HEAD",
        .url = s->probe_url,
        .proxy_url = s->proxy_url,
        .ca_file = s->ca_file,
        .connect_timeout_ms = timeout_ms,
        .first_byte_timeout_ms = timeout_ms,
        .idle_timeout_ms = timeout_ms,
        .total_timeout_ms = timeout_ms,
    };
    hp->s = s;
    hp->status = 0;
    hp->error_type = ZERR_NONE;
    hp->error[0] = '\0';
    hp->done = done;
    hp->started_s = ztime_mono_s();
    hp->t = upstream_start(s->owner->up, &req, &cb, hp, err, errlen);
    return hp->t ? ZEN_OK : ZEN_ERR;
}

static void head_probe_cancel(struct pstate_head_probe *hp)
{
    upstream_cancel(hp->t);
    hp->t = NULL;
}

/* ---- the cooldown probe ---- */

static void stop_probe(struct provider_state *s)
{
    ev_timer_stop(s->owner->loop, &s->probe_timer);
    head_probe_cancel(&s->probe);
}

/* A probe closes only the cooldown it was sent for: one started during a
 * server cooldown that a 429 has since replaced (probe_enabled is off) must
 * not cut the Retry-After short. A 429 or 5xx answer keeps the cooldown. */
static void probe_done(struct provider_state *s, int up, int status, double latency_ms)
{
    if (up && s->open && s->probe_enabled)
        pstate_success(s, "probe");
}

static void probe_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct provider_state *s = w->data;
    const struct pstate_tuning *t = &s->owner->tuning;
    if (!s->open || !s->probe_enabled)
        return;
    ev_timer_set(&s->probe_timer, (double)t->probe_interval_ms / 1000.0, 0.);
    ev_timer_start(loop, &s->probe_timer);
    if (s->probe.t)
        return; /* the last one is still out; it has its own timeouts */
    char err[256];
    head_probe_start(s, &s->probe, (long)t->probe_interval_ms, probe_done, err, sizeof(err));
}

static void check_cb(struct ev_loop *loop, ev_timer *w, int revents);
static void start_check(struct provider_state *s);

/* ---- transitions ---- */

static void record_outcome(struct provider_state *s, int failed)
{
    int64_t epoch = ztime_mono_ms() / PSTATE_BUCKET_MS;
    struct pstate_bucket *b = &s->window[epoch % PSTATE_WINDOW_BUCKETS];
    if (b->epoch != epoch)
        *b = (struct pstate_bucket){.epoch = epoch}; /* a step that left the window */
    b->attempts++;
    b->failures += (uint32_t)failed;
    s->attempts_total++;
}

void pstate_window_counts(const struct provider_state *s, int64_t now_ms, uint32_t *attempts,
                          uint32_t *failures)
{
    int64_t epoch = now_ms / PSTATE_BUCKET_MS;
    *attempts = *failures = 0;
    for (size_t i = 0; i < PSTATE_WINDOW_BUCKETS; i++) {
        const struct pstate_bucket *b = &s->window[i];
        if (b->epoch > epoch - PSTATE_WINDOW_BUCKETS && b->epoch <= epoch) {
            *attempts += b->attempts;
            *failures += b->failures;
        }
    }
}

static double success_rate_of(uint32_t attempts, uint32_t failures)
{
    return attempts ? 1.0 - (double)failures / (double)attempts : 1.0;
}

double pstate_success_rate(const struct provider_state *s, int64_t now_ms)
{
    uint32_t attempts, failures;
    pstate_window_counts(s, now_ms, &attempts, &failures);
    return success_rate_of(attempts, failures);
}

void pstate_success(struct provider_state *s, const char *reason)
{
    if (s->detached)
        return; /* its provider was reconfigured: this outcome is nobody's */
    if (strcmp(reason, "probe") != 0)
        record_outcome(s, 0);
    enum circuit from = pstate_circuit(s, ztime_mono_ms());
    int had_failures = s->consecutive_failures > 0;
    s->consecutive_failures = 0;
    s->cooldown_ms = 0;
    if (!s->open) {
        if (had_failures)
            state_changed(s);
        return;
    }
    s->open = 0;
    stop_probe(s);
    log_change(s, from, CIRCUIT_CLOSED, reason);
    state_changed(s);
}

void pstate_note_ttfb(struct provider_state *s, double ttfb_ms)
{
    if (s->detached || ttfb_ms < 0)
        return;
    s->ttfb_ewma_ms = routing_ewma(s->ttfb_ewma_ms, s->ttfb_samples, ttfb_ms);
    if (s->ttfb_samples < UINT32_MAX)
        s->ttfb_samples++;
}

/* again: the request already cooled s once (pstate_failure_again). */
static void failure(struct provider_state *s, int error_type, int status, const char *detail,
                    int64_t retry_after_ms, int again)
{
    if (s->detached)
        return; /* its provider was reconfigured: this outcome is nobody's */
    const struct pstate_tuning *t = &s->owner->tuning;
    int64_t now = ztime_mono_ms();
    enum circuit from = pstate_circuit(s, now);
    s->last_error_type = error_type;
    s->last_status = status;
    snprintf(s->last_error, sizeof(s->last_error), "%s", detail ? detail : "");
    state_changed(s);
    if (error_type == ZERR_REQUEST)
        return; /* the request's fault, not the provider's */
    record_outcome(s, 1);
    int auth = error_type == ZERR_AUTH;
    int64_t initial = auth ? t->auth_cooldown_initial_ms : t->cooldown_initial_ms;
    int64_t max = auth ? t->auth_cooldown_max_ms : t->cooldown_max_ms;
    if (error_type == ZERR_RATE_LIMIT && retry_after_ms >= 0) {
        s->cooldown_ms = retry_after_ms < max ? retry_after_ms : max;
    } else if (s->consecutive_failures == 0 || s->cooldown_ms == 0) {
        s->cooldown_ms = initial;
    } else if (!again) {
        s->cooldown_ms = s->cooldown_ms * 2 < max ? s->cooldown_ms * 2 : max;
    }
    s->consecutive_failures++;
    s->open = 1;
    s->cooldown_until_ms = now + s->cooldown_ms;
    s->probe_enabled = error_type == ZERR_NETWORK || error_type == ZERR_TIMEOUT ||
                       error_type == ZERR_SERVER;
    char reason[64];
    snprintf(reason, sizeof(reason), "%s%s%d", zen_error_type_name(error_type),
             status ? " " : "", status);
    if (!status)
        snprintf(reason, sizeof(reason), "%s", zen_error_type_name(error_type));
    log_change(s, from, CIRCUIT_OPEN, reason);
    ev_timer_stop(s->owner->loop, &s->probe_timer);
    if (s->probe_enabled && !s->probe.t) {
        ev_timer_set(&s->probe_timer, (double)t->probe_interval_ms / 1000.0, 0.);
        ev_timer_start(s->owner->loop, &s->probe_timer);
    }
}

void pstate_failure(struct provider_state *s, int error_type, int status, const char *detail,
                    int64_t retry_after_ms)
{
    failure(s, error_type, status, detail, retry_after_ms, 0);
}

void pstate_failure_again(struct provider_state *s, int error_type, int status,
                          const char *detail, int64_t retry_after_ms)
{
    failure(s, error_type, status, detail, retry_after_ms, 1);
}

/* ---- the table ---- */

static char *identity_of(const struct zcfg_provider *p)
{
    size_t n = strlen(p->base_url) + ZSEC_FINGERPRINT_LEN + 2;
    char *id = malloc(n);
    if (id)
        snprintf(id, n, "%s|%s", p->base_url, p->token_fingerprint);
    return id;
}

static char *dup_or_null(const char *s) { return s ? strdup(s) : NULL; }

static void stop_check(struct provider_state *s)
{
    ev_timer_stop(s->owner->loop, &s->check_timer);
    head_probe_cancel(&s->check);
}

struct provider_state *pstate_ref(struct provider_state *s)
{
    if (s)
        s->refs++;
    return s;
}

void pstate_unref(struct provider_state *s)
{
    if (!s || --s->refs > 0)
        return;
    free(s->name);
    free(s->identity);
    free(s->probe_url);
    free(s->proxy_url);
    free(s->ca_file);
    free(s);
}

/* Takes a state out of the table: its timers and transfers stop now, its
 * memory stays until the last request holding it lets go. */
static void state_detach(struct provider_state *s)
{
    stop_probe(s);
    stop_check(s);
    s->detached = 1;
    s->owner = NULL;
    pstate_unref(s);
}

/* Probe target and transport follow the latest config. */
static void refresh_target(struct provider_state *s, const struct zcfg_provider *p)
{
    free(s->probe_url);
    free(s->proxy_url);
    free(s->ca_file);
    s->probe_url = dup_or_null(p->base_url);
    s->proxy_url = dup_or_null(p->proxy_url);
    s->ca_file = dup_or_null(p->ca_file);
}

struct provider_states *pstates_new(struct ev_loop *loop, struct upstream *up)
{
    struct provider_states *ps = calloc(1, sizeof(*ps));
    if (ps) {
        ps->loop = loop;
        ps->up = up;
    }
    return ps;
}

void pstates_free(struct provider_states *ps)
{
    if (!ps)
        return;
    for (size_t i = 0; i < ps->n; i++)
        state_detach(ps->v[i]);
    free(ps);
}

struct provider_state *pstates_get(struct provider_states *ps, const char *name)
{
    for (size_t i = 0; i < ps->n; i++)
        if (strcmp(ps->v[i]->name, name) == 0)
            return ps->v[i];
    return NULL;
}

/* s->identity is "base_url|fingerprint" (identity_of); compared in place. */
static int same_identity(const struct provider_state *s, const struct zcfg_provider *p)
{
    size_t n = strlen(p->base_url);
    return strncmp(s->identity, p->base_url, n) == 0 && s->identity[n] == '|' &&
           strcmp(s->identity + n + 1, p->token_fingerprint) == 0;
}

struct provider_state *pstates_lookup(struct provider_states *ps,
                                      const struct zcfg_provider *p)
{
    struct provider_state *s = pstates_get(ps, p->name);
    return s && same_identity(s, p) ? s : NULL;
}

/* Drops the state of providers the config no longer has. */
static void prune(struct provider_states *ps, const struct zcfg *cfg)
{
    for (size_t i = 0; i < ps->n;) {
        if (zcfg_find_provider(cfg, ps->v[i]->name)) {
            i++;
            continue;
        }
        state_detach(ps->v[i]);
        ps->v[i] = ps->v[--ps->n];
    }
}

void pstates_apply_config(struct provider_states *ps, const struct zcfg *cfg)
{
    prune(ps, cfg);
    const struct zcfg_daemon *d = &cfg->daemon;
    ps->tuning = (struct pstate_tuning){
        .cooldown_initial_ms = d->cooldown_initial_ms,
        .cooldown_max_ms = d->cooldown_max_ms,
        .auth_cooldown_initial_ms = d->auth_cooldown_initial_ms,
        .auth_cooldown_max_ms = d->auth_cooldown_max_ms,
        .probe_interval_ms = d->probe_interval_ms,
    };
    for (size_t i = 0; i < cfg->n_providers; i++) {
        const struct zcfg_provider *p = &cfg->providers[i];
        char *id = identity_of(p);
        struct provider_state *s = pstates_get(ps, p->name);
        if (s && id && strcmp(s->identity, id) != 0) {
            /* Same name, different URL or token: its history is not this one's. */
            for (size_t k = 0; k < ps->n; k++)
                if (ps->v[k] == s)
                    ps->v[k] = ps->v[--ps->n];
            state_detach(s);
            s = NULL;
        }
        if (!s && ps->n < PSTATES_MAX) {
            s = calloc(1, sizeof(*s));
            if (!s || !(s->name = strdup(p->name))) {
                free(s);
                free(id);
                continue;
            }
            s->identity = id;
            id = NULL;
            s->owner = ps;
            s->refs = 1; /* the table's */
            s->learned_wire = -1;
            ev_timer_init(&s->probe_timer, probe_cb, 0., 0.);
            s->probe_timer.data = s;
            ev_timer_init(&s->check_timer, check_cb, 0., 0.);
            s->check_timer.data = s;
            ps->v[ps->n++] = s;
            start_check(s);
        }
        free(id);
        if (s) {
            refresh_target(s, p);
            s->learned_wire = -1; /* a reload may have changed what the provider speaks */
        }
    }
    if (ps->on_change)
        ps->on_change(ps->on_change_ud); /* learned wires forgotten, providers dropped */
}

/* ---- runtime disable ---- */

void pstate_disable(struct provider_state *s, int64_t for_ms)
{
    s->disabled = 1;
    s->disabled_until_ms = for_ms > 0 ? ztime_mono_ms() + for_ms : 0;
    state_changed(s);
}

void pstate_enable(struct provider_state *s)
{
    s->disabled = 0;
    s->disabled_until_ms = 0;
    state_changed(s);
}

/* ---- state.json's hooks ---- */

void pstates_set_on_change(struct provider_states *ps, void (*fn)(void *ud), void *ud)
{
    ps->on_change = fn;
    ps->on_change_ud = ud;
}

void pstate_learn_wire(struct provider_state *s, int wire)
{
    if (s->learned_wire == wire)
        return;
    s->learned_wire = wire;
    state_changed(s);
}

void pstate_resume_probe(struct provider_state *s)
{
    if (!s->owner || !s->open || !s->probe_enabled || s->probe.t)
        return;
    ev_timer_stop(s->owner->loop, &s->probe_timer);
    ev_timer_set(&s->probe_timer, (double)s->owner->tuning.probe_interval_ms / 1000.0, 0.);
    ev_timer_start(s->owner->loop, &s->probe_timer);
}

int pstate_disabled(const struct provider_state *s, int64_t now_ms)
{
    return s->disabled && (s->disabled_until_ms == 0 || now_ms < s->disabled_until_ms);
}

size_t pstates_count(const struct provider_states *ps) { return ps->n; }

struct provider_state *pstates_at(struct provider_states *ps, size_t i)
{
    return i < ps->n ? ps->v[i] : NULL;
}

/* ---- the active health checker ---- */

static void check_done(struct provider_state *s, int up, int status, double latency_ms)
{
    if (!up) {
        /* Shown where a user looks first (last_error), and kept on its own
         * for health's reason. */
        snprintf(s->check_error, sizeof(s->check_error), "%s", s->check.error);
        s->last_error_type = s->check.error_type;
        s->last_status = status;
        snprintf(s->last_error, sizeof(s->last_error), "health check: %s", s->check.error);
    }
    s->last_check_ok = up;
    s->check_count++;
    s->check_fail_count += !s->last_check_ok;
    s->last_check_wall_ms = ztime_wall_ms();
    s->check_latency_ms = latency_ms;
}

static void check_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct provider_state *s = w->data;
    struct provider_states *ps = s->owner;
    if (s->check.t || !s->probe_url)
        return; /* the last check is still out (it has its own timeout) */
    s->last_check_ok = 0;
    /* A transfer that cannot start says why in the check's own error text. */
    if (head_probe_start(s, &s->check, (long)(ps->check_timeout_s * 1000.0), check_done,
                         s->check.error, sizeof(s->check.error)) != ZEN_OK) {
        s->check.error_type = ZERR_NETWORK;
        check_done(s, 0, 0, (ztime_mono_s() - s->check.started_s) * 1000.0);
    }
}

static void start_check(struct provider_state *s)
{
    struct provider_states *ps = s->owner;
    stop_check(s);
    if (!ps->check_enabled)
        return;
    /* First check soon after start, then every interval. */
    ev_timer_init(&s->check_timer, check_cb, 0.05, ps->check_interval_s);
    s->check_timer.data = s;
    ev_timer_start(ps->loop, &s->check_timer);
}

void pstates_health_check(struct provider_states *ps, int enabled, double interval_s,
                          double timeout_s)
{
    ps->check_enabled = enabled;
    ps->check_interval_s = interval_s;
    ps->check_timeout_s = timeout_s;
    for (size_t i = 0; i < ps->n; i++)
        start_check(ps->v[i]);
}

int pstates_health_check_running(const struct provider_states *ps)
{
    for (size_t i = 0; i < ps->n; i++)
        if (ev_is_active(&ps->v[i]->check_timer))
            return 1;
    return 0;
}

size_t pstates_active_transfers(const struct provider_states *ps)
{
    size_t n = 0;
    for (size_t i = 0; i < ps->n; i++)
        n += (ps->v[i]->probe.t != NULL) + (ps->v[i]->check.t != NULL);
    return n;
}

/* ---- reports ---- */

int pstate_is_disabled(const struct zcfg *cfg, const struct provider_state *s,
                       const char *name, int64_t now_wall_s, int64_t now_mono_ms)
{
    if (zcfg_provider_disabled(cfg, name, now_wall_s))
        return 1;
    return s && pstate_disabled(s, now_mono_ms);
}

int pstates_provider_disabled(struct provider_states *ps, const struct zcfg *cfg,
                              const char *name, int64_t now_wall_s)
{
    return pstate_is_disabled(cfg, pstates_get(ps, name), name, now_wall_s, ztime_mono_ms());
}

/* Why a provider whose circuit is not open is degraded, if it is. */
static enum pdegraded degraded_by(const struct provider_state *s, enum circuit c,
                                  uint32_t attempts, uint32_t failures)
{
    if (c == CIRCUIT_HALF_OPEN)
        return PDEGRADED_HALF_OPEN;
    if (attempts >= PSTATE_WINDOW_MIN_ATTEMPTS &&
        (double)failures >= PSTATE_DEGRADED_ERROR_RATE * (double)attempts)
        return PDEGRADED_ERRORS;
    if (s->check_count > 0 && !s->last_check_ok)
        return PDEGRADED_CHECK;
    return PDEGRADED_NO;
}

static enum pstatus status_of(const struct provider_state *s, int disabled, enum circuit c,
                              enum pdegraded why)
{
    if (disabled)
        return PSTATUS_DISABLED;
    if (c == CIRCUIT_OPEN)
        return PSTATUS_UNHEALTHY;
    if (s->attempts_total == 0 && s->check_count == 0)
        return PSTATUS_UNKNOWN;
    return why != PDEGRADED_NO ? PSTATUS_DEGRADED : PSTATUS_HEALTHY;
}

/* The later of two remaining spans, where no end beats any. */
static int64_t later_end(int64_t a, int64_t b)
{
    if (a == PSTATE_DISABLED_UNTIL_ENABLED || b == PSTATE_DISABLED_UNTIL_ENABLED)
        return PSTATE_DISABLED_UNTIL_ENABLED;
    return a > b ? a : b;
}

/* Fills r's disabled_* fields: which rule holds the provider off and for
 * how long yet (the later end wins). */
static void disabled_remaining(const struct provider_state *s, const struct zcfg *cfg,
                               int64_t now_wall_s, int64_t now_mono_ms, struct pstate_report *r)
{
    int64_t left = 0;
    for (size_t i = 0; i < cfg->n_disabled; i++) {
        const struct zcfg_disabled *d = &cfg->disabled[i];
        if (strcmp(d->name, s->name) != 0 ||
            !(d->expires_at == 0 || now_wall_s <= d->expires_at))
            continue;
        r->disabled_by_config = 1;
        /* expires_at is inclusive: the provider is back once it has passed. */
        left = later_end(left, d->expires_at ? (d->expires_at + 1 - now_wall_s) * 1000
                                             : PSTATE_DISABLED_UNTIL_ENABLED);
    }
    if (pstate_disabled(s, now_mono_ms)) {
        r->disabled_by_runtime = 1;
        left = later_end(left, s->disabled_until_ms ? s->disabled_until_ms - now_mono_ms
                                                    : PSTATE_DISABLED_UNTIL_ENABLED);
    }
    r->disabled_remaining_ms = left;
}

void pstate_report(const struct provider_state *s, const struct zcfg *cfg, int64_t now_wall_s,
                   int64_t now_mono_ms, struct pstate_report *r)
{
    memset(r, 0, sizeof(*r));
    r->name = s->name;
    r->circuit = pstate_circuit(s, now_mono_ms);
    r->disabled = pstate_is_disabled(cfg, s, s->name, now_wall_s, now_mono_ms);
    if (r->disabled)
        disabled_remaining(s, cfg, now_wall_s, now_mono_ms, r);
    pstate_window_counts(s, now_mono_ms, &r->window_attempts, &r->window_failures);
    r->degraded_by = degraded_by(s, r->circuit, r->window_attempts, r->window_failures);
    r->status = status_of(s, r->disabled, r->circuit, r->degraded_by);
    if (r->status != PSTATUS_DEGRADED)
        r->degraded_by = PDEGRADED_NO;
    r->cooldown_remaining_ms = pstate_cooldown_remaining_ms(s, now_mono_ms);
    r->consecutive_failures = s->consecutive_failures;
    r->last_error_type = s->last_error_type;
    r->last_status = s->last_status;
    r->last_error = s->last_error;
    r->check_error = s->check_error;
    r->last_check_wall_ms = s->last_check_wall_ms;
    r->check_latency_ms = s->check_latency_ms;
    r->success_rate = success_rate_of(r->window_attempts, r->window_failures);
    r->check_count = s->check_count;
    r->check_fail_count = s->check_fail_count;
    const struct zcfg_provider *p = zcfg_find_provider(cfg, s->name);
    r->wire = p ? wire_name(p, s->learned_wire, &r->wire_learned) : "?";
    r->ttfb_ewma_ms = s->ttfb_ewma_ms;
    r->ttfb_samples = s->ttfb_samples;
}

const char *pstatus_name(enum pstatus st)
{
    switch (st) {
    case PSTATUS_UNKNOWN: return "unknown";
    case PSTATUS_HEALTHY: return "healthy";
    case PSTATUS_DEGRADED: return "degraded";
    case PSTATUS_UNHEALTHY: return "unhealthy";
    case PSTATUS_DISABLED: return "disabled";
    }
    return "unknown";
}

int pstatus_up(enum pstatus st) { return st != PSTATUS_UNHEALTHY && st != PSTATUS_DISABLED; }
