#include "proxy.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "answer.h"
#include "attempt.h"
#include "budget.h"
#include "common.h"
#include "guard.h"
#include "heap_trim.h"
#include "http_server.h"
#include "ledger.h"
#include "limiter.h"
#include "log.h"
#include "profile_traffic.h"
#include "provider_state.h"
#include "proxy_request.h"
#include "relay.h"
#include "route.h"
#include "sessions.h"
#include "timeutil.h"
#include "tr_detect.h"
#include "upstream.h"
#include "wire.h"
#include "zjson.h"

static void drain_timeout_cb(struct ev_loop *loop, ev_timer *w, int revents);
static void drained_cb(struct ev_loop *loop, ev_timer *w, int revents);
static void idle_cb(struct ev_loop *loop, ev_timer *w, int revents);

/* ---- admission: the limiter (docs/operations.md, "Limiter and shutdown") ---- */

static void respond_overloaded(struct proxy_request *pr, const char *msg)
{
    const struct http_header h[] = {{"Content-Type", "application/json"},
                                    {"retry-after", "1"}};
    char *body = xlate_own_error(&pr->xl, "overloaded_error", msg, NULL);
    const char *text = body ? body : "{}";
    pr->bytes_out = strlen(text);
    proxy_request_end(pr, 503, 0, ZERR_CONCURRENCY, msg,
                      &(struct reply){.kind = REPLY_WHOLE, .status = 503, .headers = h,
                                      .n_headers = ZEN_ARRAY_LEN(h), .body = text,
                                      .body_len = strlen(text)});
    free(body);
}

static struct proxy_request *waiter_request(struct limiter_waiter *w)
{
    return (struct proxy_request *)((char *)w - offsetof(struct proxy_request, waiter));
}

/* A waiting request got its slot (from the loop, oldest first). */
static void on_admitted(void *ctx, struct limiter_waiter *w)
{
    struct proxy *px = ctx;
    metrics_set_queued(px->metrics, (int64_t)px->limiter.queued);
    attempt_begin(waiter_request(w));
}

/* A request waited queue_timeout_ms for a slot: 503; the end takes it out of
 * the queue. */
static void on_queue_timeout(void *ctx, struct limiter_waiter *w)
{
    struct proxy_request *pr = waiter_request(w);
    char msg[160];
    snprintf(msg, sizeof(msg), "zend is at daemon.max_concurrent (%lld) and the request "
             "waited %lld ms for a slot", (long long)pr->cfg->daemon.max_concurrent,
             (long long)pr->cfg->daemon.queue_timeout_ms);
    zlog_pack(ZLOG_WARN, "concurrency_limited", "{s:s, s:s, s:I, s:I}", "request_id",
              pr->req->request_id, "session", pr->route.session_key, "max_concurrent",
              (json_int_t)pr->cfg->daemon.max_concurrent, "queue_timeout_ms",
              (json_int_t)pr->cfg->daemon.queue_timeout_ms);
    respond_overloaded(pr, msg);
}

/* Takes a slot now, or waits in FIFO order for one up to queue_timeout_ms. */
static void admit(struct proxy_request *pr)
{
    struct proxy *px = pr->px;
    if (limiter_enter(&px->limiter, &pr->waiter,
                      (double)pr->cfg->daemon.queue_timeout_ms / 1000.0)) {
        attempt_begin(pr);
        return;
    }
    pr->state = REQ_QUEUED;
    metrics_set_queued(px->metrics, (int64_t)px->limiter.queued);
}

/* ---- entry: one request from the HTTP server ---- */

/* A request zend will not finish because it is shutting down. */
static void refuse_draining(struct proxy_request *pr)
{
    respond_overloaded(pr, "zend is shutting down");
}

/* Answers before any attempt (guards, routing, nothing to try), in the
 * client's format once it is known (Anthropic's before). */
/* zend's own answer before any attempt, in the client's format; retry_after
 * (seconds, as text) may be NULL. */
static void refuse_with(struct proxy_request *pr, int status, const char *type, const char *msg,
                        const char *retry_after)
{
    metrics_note_rejected(pr->px->metrics);
    char *body = xlate_own_error(&pr->xl, type, msg, NULL);
    if (!body) {
        proxy_request_end(pr, status, 0, ZERR_NONE, msg,
                          &(struct reply){.kind = REPLY_ERROR, .status = status, .type = type,
                                          .message = msg});
        return;
    }
    char seconds[32];
    snprintf(seconds, sizeof(seconds), "%s", retry_after ? retry_after : "");
    const struct http_header h[] = {{"Content-Type", "application/json"},
                                    {"retry-after", seconds}};
    proxy_request_end(pr, status, 0, ZERR_NONE, msg,
                      &(struct reply){.kind = REPLY_WHOLE, .status = status, .headers = h,
                                      .n_headers = retry_after ? 2 : 1, .body = body,
                                      .body_len = strlen(body)});
    free(body);
}

static void refuse_before_attempt(struct proxy_request *pr, int status, const char *type,
                                  const char *msg)
{
    refuse_with(pr, status, type, msg, NULL);
}

/* ---- budgets (docs/usage.md, "Budgets") ---- */

static int budgets_configured(const struct zcfg *cfg)
{
    for (int i = 0; i < ZCFG_BUDGET_PERIODS; i++)
        if (cfg->budgets.period[i].set)
            return 1;
    return 0;
}

/* Checks a request that costs money against the budgets: 1 when it was
 * answered (a block: 429 budget_exceeded with retry-after until the period
 * resets), 0 to go on (pr->downgrade set when its models go one tier
 * cheaper; route_candidates applies it). count_tokens and models lists
 * cost nothing and are never checked. */
static int budget_refused(struct proxy_request *pr)
{
    enum tr_endpoint ep = pr->xl.fmt.endpoint;
    if (!budgets_configured(pr->cfg) ||
        (ep != TR_EP_MESSAGES && ep != TR_EP_CHAT && ep != TR_EP_RESPONSES))
        return 0;
    int64_t now = ztime_wall_ms();
    struct budget_verdict v;
    budget_check(pr->px->budget, pr->cfg, pr->route.profile->name, now, &v);
    if (v.action == BUDGET_DOWNGRADE)
        pr->downgrade = 1;
    if (v.action != BUDGET_BLOCK)
        return 0;
    char msg[512], retry[32];
    budget_message(&v, now, msg, sizeof(msg));
    int64_t wait_s = (v.reset_ms - now + 999) / 1000;
    snprintf(retry, sizeof(retry), "%lld", (long long)(wait_s < 1 ? 1 : wait_s));
    refuse_with(pr, 429, "budget_exceeded", msg, retry);
    return 1;
}

/* What routing needs of provider i's state. */
static void fill_view(struct proxy_request *pr, size_t i, int64_t now_s, int64_t now_mono,
                      struct routing_provider_view *v)
{
    const struct zcfg_provider *p = &pr->cfg->providers[i];
    struct provider_state *s = pstates_lookup(pr->px->states, p);
    v->disabled = pstates_provider_disabled(pr->px->states, pr->cfg, p->name, now_s);
    v->cooling = s && pstate_cooling(s, now_mono);
    v->ttfb_ewma_ms = s ? s->ttfb_ewma_ms : 0;
    v->ttfb_samples = s ? s->ttfb_samples : 0;
}

/* Can provider i's attempt be a translated one for this client? Then the
 * tree routing parses is kept for it. */
static int translates_for(struct proxy_request *pr, size_t i)
{
    const struct zcfg_provider *p = &pr->cfg->providers[i];
    const struct provider_state *s = pstates_lookup(pr->px->states, p);
    return wire_for(p, s ? s->learned_wire : -1, pr->xl.fmt.format) != pr->xl.fmt.format;
}

static int profile_may_translate(struct proxy_request *pr, const struct zcfg_profile *prof)
{
    for (size_t i = 0; i < prof->n_providers; i++)
        if (translates_for(pr, prof->providers[i]))
            return 1;
    for (int sc = 0; sc < ZCFG_N_SCENARIOS; sc++)
        for (size_t i = 0; i < prof->routes[sc].n_providers; i++)
            if (translates_for(pr, prof->routes[sc].providers[i].provider))
                return 1;
    return 0;
}

/* The facts routing reads from the body: only the endpoints that carry a
 * conversation have any. The body is scanned, not parsed (a tree of a
 * 100 KB conversation costs thousands of allocations), unless a tree is
 * needed anyway: for the longContext token estimate, or for a profile whose
 * providers may translate (xlate reuses it). */
static void read_facts(struct proxy_request *pr, const struct zcfg_profile *prof,
                       struct routing_facts *f)
{
    enum tr_endpoint ep = pr->xl.fmt.endpoint;
    const char *body = (const char *)zbuf_head(&pr->req->body);
    size_t len = zbuf_len(&pr->req->body);
    int want_tokens = prof->routes[ZCFG_SCENARIO_LONG_CONTEXT].present;
    int conversation = ep == TR_EP_MESSAGES || ep == TR_EP_CHAT || ep == TR_EP_RESPONSES;
    json_t *doc = NULL;
    if (conversation || ep == TR_EP_COUNT_TOKENS) {
        int tree = want_tokens || (conversation && profile_may_translate(pr, prof));
        if (!tree && routing_scan_facts((int)pr->xl.fmt.format, body, len, f) == 0)
            return;
        doc = zjson_load(body, len, 0);
    }
    routing_facts_from_doc((int)pr->xl.fmt.format, doc, want_tokens, f);
    xlate_keep_doc(&pr->xl, doc); /* parsed once: a translated attempt reuses it */
}

/* Classifies the request and fills pr->candidates (docs/routing.md);
 * returns their count (0: every provider it could use is disabled). */
static size_t route_candidates(struct proxy_request *pr, const struct zcfg_profile *prof)
{
    struct proxy *px = pr->px;
    int64_t now_mono = ztime_mono_ms(), now_s = ztime_wall_ms() / 1000;
    if (now_mono - px->smem_swept_ms >= PROXY_SMEM_SWEEP_MS) {
        smem_sweep(px->smem, now_mono);
        px->smem_swept_ms = now_mono;
    }
    const char *session = route_session(&pr->route);
    struct routing_facts f;
    read_facts(pr, prof, &f);
    const struct smem_entry *e = smem_get(px->smem, prof->name, session, now_mono);
    struct routing_session rs = {e != NULL, e ? e->input_tokens : 0,
                                 e ? e->last_provider : NULL};
    struct routing_choice c;
    routing_classify(prof, &f, &rs, &c);
    if (c.forget_session)
        smem_forget_tokens(px->smem, prof->name, session);
    struct routing_provider_view views[ZCFG_MAX_PROVIDERS];
    for (size_t i = 0; i < prof->n_providers; i++)
        fill_view(pr, prof->providers[i], now_s, now_mono, &views[prof->providers[i]]);
    if (c.route >= 0)
        for (size_t i = 0; i < prof->routes[c.route].n_providers; i++)
            fill_view(pr, prof->routes[c.route].providers[i].provider, now_s, now_mono,
                      &views[prof->routes[c.route].providers[i].provider]);
    struct routing_candidate cand[PROXY_MAX_ATTEMPTS];
    size_t n = routing_order(px->routing, pr->cfg, prof, &c, &f, views,
                             routing_affinity_provider(session, &rs), cand, PROXY_MAX_ATTEMPTS);
    for (size_t i = 0; i < n; i++) {
        pr->candidates[i] = cand[i].provider;
        pr->candidate_models[i] = cand[i].model;
    }
    /* A budget's downgrade: each provider gets its own cheaper tier; a route's
     * explicit model is left as written. */
    for (size_t i = 0; pr->downgrade && i < n; i++)
        if (!pr->candidate_models[i])
            pr->candidate_models[i] =
                budget_downgrade_model(&pr->cfg->providers[cand[i].provider], f.model);
    pr->n_candidates = n;
    pr->scenario = c.scenario;
    pr->input_estimate = f.input_tokens;
    snprintf(pr->model_requested, sizeof(pr->model_requested), "%s", f.model);
    smem_note_request(px->smem, prof->name, session, c.scenario, now_mono);
    return n;
}

/* The disabled providers of the profile and its routes, for the message
 * of a request that has none left. */
static void list_disabled(struct proxy_request *pr, const struct zcfg_profile *prof, zbuf *out)
{
    int64_t now_s = ztime_wall_ms() / 1000;
    for (size_t i = 0; i < pr->cfg->n_providers; i++) {
        const char *name = pr->cfg->providers[i].name;
        int used = 0;
        for (size_t k = 0; k < prof->n_providers; k++)
            used |= prof->providers[k] == i;
        for (int sc = 0; sc < ZCFG_N_SCENARIOS; sc++)
            for (size_t k = 0; k < prof->routes[sc].n_providers; k++)
                used |= prof->routes[sc].providers[k].provider == i;
        if (used && pstates_provider_disabled(pr->px->states, pr->cfg, name, now_s)) {
            zbuf_append_str(out, zbuf_len(out) ? ", " : "");
            zbuf_append_str(out, name);
        }
    }
    zbuf_append(out, "", 1);
}

static void on_request(void *ctx, struct http_conn *c, struct http_request *req)
{
    struct proxy *px = ctx;
    struct proxy_request *pr = calloc(1, sizeof(*pr));
    if (!pr) {
        http_respond_error(c, 503, "overloaded_error", "out of memory");
        return;
    }
    pr->px = px;
    pr->conn = c;
    pr->req = req;
    pr->attempts = &pr->attempt_first;
    pr->attempts_cap = 1;
    pr->cfg = zcfg_ref(px->cfg);
    pr->ttfb_ms = -1;
    pr->scenario = ZCFG_SCENARIO_DEFAULT;
    pr->input_estimate = -1;
    zbuf_init(&pr->err_body);
    xlate_init(&pr->xl, px->loop, c, &attempt_xlate_hooks, pr);
    pr->usage = USAGE_TOKENS_NONE;
    /* Stopped at the end whether or not it ran; attempt.c arms it for a retry. */
    ev_timer_init(&pr->retry_timer, NULL, 0., 0.);
    LIST_INSERT_HEAD(&px->requests, pr, link);
    if (px->in_flight++ == 0)
        ev_timer_stop(px->loop, &px->idle_timer);
    metrics_set_in_flight(px->metrics, (int64_t)px->in_flight);
    http_conn_set_handler_data(c, pr);
    proxy_request_log_received(pr);
    if (px->draining) {
        refuse_before_attempt(pr, 503, "overloaded_error", "zend is shutting down");
        return;
    }

    struct guard_verdict v;
    guard_check(pr->cfg, req, &v);
    if (v.status) {
        refuse_before_attempt(pr, v.status, v.error_type, v.message);
        return;
    }
    pr->key_header = v.key_header;
    char err[512];
    int rs = route_parse(pr->cfg, req->target, &pr->route, err, sizeof(err));
    if (rs != ROUTE_OK) {
        refuse_before_attempt(pr, rs == ROUTE_INVALID_PATH ? 400 : 404,
                              rs == ROUTE_INVALID_PATH ? "invalid_path" : "profile_not_found",
                              err);
        return;
    }
    xlate_detect(&pr->xl, req, pr->route.upstream_path);
    const struct zcfg_profile *prof = pr->route.profile;
    ptraffic_note(px->traffic, prof->name, ztime_mono_ms());
    if (prof->n_providers == 0) {
        /* Loaded with a config_warning (GoZen writes empty profiles). */
        snprintf(err, sizeof(err), "profile \"%s\" names no provider zend knows (zend "
                 "--check-config lists the config's warnings)", prof->name);
        refuse_before_attempt(pr, 503, "profile_empty", err);
        return;
    }
    if (budget_refused(pr))
        return;
    if (route_candidates(pr, prof) == 0) {
        zbuf disabled;
        zbuf_init(&disabled);
        list_disabled(pr, prof, &disabled);
        snprintf(err, sizeof(err), "every provider of profile \"%s\" is disabled: %s",
                 prof->name, (const char *)zbuf_head(&disabled));
        zbuf_free(&disabled);
        refuse_before_attempt(pr, 503, "all_providers_unavailable", err);
        return;
    }
    sessions_note(px->sessions, pr->route.session_key, ztime_mono_ms());
    admit(pr);
}

static void on_abort(void *ctx, struct http_conn *c, void *handler_data)
{
    struct proxy_request *pr = handler_data;
    if (!pr)
        return;
    proxy_request_end(pr, http_response_started(c) ? pr->status : 0, 0, ZERR_CLIENT_CLOSED,
                      "client closed the connection", &(struct reply){.kind = REPLY_NONE});
}

static void on_writable(void *ctx, struct http_conn *c, void *handler_data)
{
    struct proxy_request *pr = handler_data;
    if (pr && pr->xl.committed == 1 && xlate_on_writable(&pr->xl) != XLATE_GOING)
        return; /* still full, or the client is gone (on_abort follows) */
    if (pr && pr->transfer)
        upstream_resume(pr->transfer);
}

static void on_rejected(void *ctx, int status)
{
    struct proxy *px = ctx;
    metrics_note_rejected(px->metrics);
}

static void on_connections(void *ctx, size_t count)
{
    struct proxy *px = ctx;
    metrics_set_client_connections(px->metrics, (int64_t)count);
}

/* ---- lifecycle ---- */

static void limits_from_config(const struct zcfg *cfg, struct http_limits *l)
{
    const struct zcfg_daemon *d = &cfg->daemon;
    l->max_header_bytes = (size_t)d->max_header_bytes;
    l->max_body_bytes = (size_t)d->max_body_bytes;
    l->header_timeout_s = (double)d->client_header_timeout_ms / 1000.0;
    l->body_timeout_s = (double)d->client_body_timeout_ms / 1000.0;
    l->max_body_bytes_total = (size_t)d->max_body_bytes_total;
    l->body_total_timeout_s = (double)d->client_body_total_timeout_ms / 1000.0;
    l->keepalive_timeout_s = (double)d->keepalive_timeout_ms / 1000.0;
    /* A client that reads nothing for as long as an idle keep-alive
     * connection may live is gone for our purposes. */
    l->write_stall_timeout_s = l->keepalive_timeout_s;
}

struct proxy *proxy_new(struct ev_loop *loop, int listen_fd, struct zcfg *cfg,
                        struct metrics *metrics, char *err, size_t errlen)
{
    static const struct http_callbacks cb = {on_request, on_abort, on_writable, on_rejected,
                                             on_connections};
    struct proxy *px = calloc(1, sizeof(*px));
    if (!px) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    px->loop = loop;
    px->metrics = metrics;
    px->cfg = zcfg_ref(cfg);
    limiter_init(&px->limiter, loop, (size_t)cfg->daemon.max_concurrent, on_admitted,
                 on_queue_timeout, px);
    ev_timer_init(&px->drain_timer, drain_timeout_cb, 0., 0.);
    ev_timer_init(&px->drained_timer, drained_cb, 0., 0.);
    px->drain_timer.data = px->drained_timer.data = px;
    ev_timer_init(&px->idle_timer, idle_cb, 0., HEAP_TRIM_IDLE_S);
    px->idle_timer.data = px;
    struct http_limits limits;
    limits_from_config(cfg, &limits);
    px->upstream = upstream_new(loop);
    px->states = px->upstream ? pstates_new(loop, px->upstream) : NULL;
    px->http = http_server_new(loop, listen_fd, &limits, &cb, px);
    px->sessions = sessions_new();
    px->traffic = ptraffic_new();
    px->routing = routing_state_new();
    px->smem = smem_new(0, 0);
    px->budget = budget_new();
    if (!px->upstream || !px->states || !px->http || !px->sessions || !px->traffic ||
        !px->routing || !px->smem || !px->budget) {
        snprintf(err, errlen, "cannot set up the proxy (out of memory or curl failed)");
        proxy_free(px);
        return NULL;
    }
    pstates_apply_config(px->states, cfg);
    return px;
}

void proxy_start(struct proxy *px) { http_server_start(px->http); }

void proxy_set_config(struct proxy *px, struct zcfg *cfg)
{
    struct zcfg *old = px->cfg;
    px->cfg = zcfg_ref(cfg);
    zcfg_unref(old);
    struct http_limits limits;
    limits_from_config(cfg, &limits);
    http_server_set_limits(px->http, &limits);
    limiter_set_max(&px->limiter, (size_t)cfg->daemon.max_concurrent);
    pstates_apply_config(px->states, cfg);
}

void proxy_stop_accepting(struct proxy *px) { http_server_stop_accepting(px->http); }

size_t proxy_queued(const struct proxy *px) { return px->limiter.queued; }

struct provider_states *proxy_provider_states(const struct proxy *px) { return px->states; }

struct sessions *proxy_sessions(const struct proxy *px) { return px->sessions; }

struct routing_state *proxy_routing_state(const struct proxy *px) { return px->routing; }

struct smem *proxy_session_memory(const struct proxy *px) { return px->smem; }

void proxy_set_ledger(struct proxy *px, struct ledger *l) { px->ledger = l; }

struct budget_tracker *proxy_budget(const struct proxy *px) { return px->budget; }

size_t proxy_active_sessions(const struct proxy *px)
{
    return sessions_active(px->sessions, ztime_mono_ms());
}

int proxy_profile_recent(const struct proxy *px, const char *profile)
{
    return ptraffic_recent(px->traffic, profile, ztime_mono_ms());
}

/* Ends a request the drain budget ran out on. */
static void abort_for_drain(struct proxy_request *pr)
{
    struct http_conn *c = pr->conn;
    pr->drain = DRAIN_ABORTED;
    if (pr->state == REQ_RELAY && http_response_started(c)) {
        if (pr->is_stream || xlate_client_stream(&pr->xl))
            xlate_stream_error(&pr->xl, "zend is shutting down");
        proxy_request_end(pr, pr->status, 0, ZERR_STREAM_INTERRUPTED, "drain timeout",
                          &(struct reply){.kind = REPLY_ABORT});
        return;
    }
    refuse_draining(pr);
}

static void drain_timeout_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct proxy *px = w->data;
    while (!LIST_EMPTY(&px->requests))
        abort_for_drain(LIST_FIRST(&px->requests));
}

static void drained_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct proxy *px = w->data;
    ev_timer_stop(loop, &px->drain_timer);
    if (px->on_drained) {
        proxy_drained_fn done = px->on_drained;
        px->on_drained = NULL;
        done(px->drained_ctx, px->drained, px->aborted);
    }
}

void proxy_drain(struct proxy *px, double timeout_s, proxy_drained_fn done, void *ctx)
{
    if (px->draining)
        return;
    px->draining = 1;
    px->on_drained = done;
    px->drained_ctx = ctx;
    struct proxy_request *inflight;
    LIST_FOREACH(inflight, &px->requests, link)
        inflight->drain = DRAIN_WAITED;
    limiter_close(&px->limiter);
    http_server_drain(px->http);
    /* Requests still waiting for a slot never started: they get 503 now. */
    struct limiter_waiter *w;
    while ((w = limiter_first(&px->limiter))) {
        struct proxy_request *pr = waiter_request(w);
        pr->drain = DRAIN_ABORTED;
        refuse_draining(pr);
    }
    if (px->in_flight == 0) {
        ev_timer_start(px->loop, &px->drained_timer);
        return;
    }
    ev_timer_set(&px->drain_timer, timeout_s, 0.);
    ev_timer_start(px->loop, &px->drain_timer);
}

void proxy_idle(struct proxy *px)
{
    ev_timer_again(px->loop, &px->idle_timer); /* HEAP_TRIM_IDLE_S from now (its repeat) */
}

/* Idle for HEAP_TRIM_IDLE_S: what a burst left behind goes back to the
 * kernel (heap_trim.h). */
static void idle_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct proxy *px = w->data;
    ev_timer_stop(loop, w);
    upstream_shrink_pool(px->upstream);
    heap_trim();
    if (px->ledger)
        ledger_idle(px->ledger);
}

void proxy_free(struct proxy *px)
{
    if (!px)
        return;
    /* Closing the connections aborts their requests (proxy_request_end). */
    px->on_drained = NULL;
    http_server_free(px->http);
    limiter_fini(&px->limiter);
    ev_timer_stop(px->loop, &px->drain_timer);
    ev_timer_stop(px->loop, &px->drained_timer);
    ev_timer_stop(px->loop, &px->idle_timer);
    pstates_free(px->states);
    upstream_free(px->upstream);
    sessions_free(px->sessions);
    ptraffic_free(px->traffic);
    routing_state_free(px->routing);
    smem_free(px->smem);
    budget_free(px->budget);
    zcfg_unref(px->cfg);
    free(px);
}

size_t proxy_in_flight(const struct proxy *px) { return px->in_flight; }

size_t proxy_client_connections(const struct proxy *px)
{
    return http_server_connection_count(px->http);
}

size_t proxy_body_bytes_held(const struct proxy *px)
{
    return http_server_body_bytes_held(px->http);
}

size_t proxy_upstream_transfers(const struct proxy *px)
{
    return upstream_active_count(px->upstream);
}
