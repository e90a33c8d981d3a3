#include "attempt.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "answer.h"
#include "commit.h"
#include "common.h"
#include "forward_headers.h"
#include "log.h"
#include "provider_state.h"
#include "relay.h"
#include "rewrite.h"
#include "timeutil.h"
#include "tr_ctx.h"
#include "upstream.h"

static void start_attempt(struct proxy_request *pr);

/* ---- answering ---- */

/* Relays answer bytes to the client: the usage reader (NULL: none) and the
 * stream's end-marker detector see them first. */
static int relay_body(struct proxy_request *pr, const char *data, size_t len)
{
    pr->bytes_out += len;
    usage_reader_feed(pr->usage_reader, data, len);
    return relay_write(pr->conn, pr->is_stream ? &pr->sse : NULL, data, len);
}

/* Relays a head: upstream headers minus hop-by-hop and framing, plus ours. */
static void relay_head(struct proxy_request *pr, int status, const struct http_header *h,
                       size_t n, int64_t content_length)
{
    relay_begin(pr->conn, status, h, n, content_length, pr->provider->name,
                zcfg_scenario_name(pr->scenario), pr->n_attempts);
    pr->ttfb_ms = proxy_request_elapsed_ms(pr->req->start_s);
}

/* The headers kept when an upstream error is relayed translated. */
static size_t kept_error_headers(const struct proxy_request *pr, struct http_header *out,
                                 size_t max)
{
    static const char *const kept[] = {"retry-after", "request-id", "x-request-id"};
    size_t n = 0;
    for (size_t i = 0; i < ZEN_ARRAY_LEN(kept) && n < max; i++) {
        const char *v = fwdh_find(pr->resp_headers, pr->n_resp_headers, kept[i]);
        if (v)
            out[n++] = (struct http_header){(char *)kept[i], (char *)v};
    }
    return n;
}

/* The provider's own error answer, in the client's format when the attempt
 * crossed families (docs/translate.md, "Errors"), else byte for byte. */
static void relay_own_answer(struct proxy_request *pr)
{
    const struct policy_attempt *last = &pr->attempts[pr->n_attempts - 1];
    int status = last->status;
    char *translated = xlate_error_body(&pr->xl, &status, (const char *)zbuf_head(&pr->err_body),
                                        zbuf_len(&pr->err_body));
    if (!translated) {
        /* Stay transparent: the client sees the provider's own answer. */
        relay_head(pr, last->status, pr->resp_headers, pr->n_resp_headers,
                   (int64_t)zbuf_len(&pr->err_body));
        http_response_write(pr->conn, zbuf_head(&pr->err_body), zbuf_len(&pr->err_body));
        pr->bytes_out = zbuf_len(&pr->err_body);
        proxy_request_end(pr, last->status, 0, ZERR_NONE, last->detail,
                          &(struct reply){.kind = REPLY_END});
        return;
    }
    struct http_header h[8] = {{"Content-Type", "application/json"}};
    size_t nh = 1 + kept_error_headers(pr, &h[1], 3);
    char attempts[16];
    relay_zen_headers(pr->provider->name, zcfg_scenario_name(pr->scenario), pr->n_attempts,
                      attempts, sizeof(attempts), &h[nh]);
    nh += RELAY_ZEN_HEADERS;
    pr->bytes_out = strlen(translated);
    proxy_request_end(pr, status, 0, ZERR_NONE, last->detail,
                      &(struct reply){.kind = REPLY_WHOLE, .status = status, .headers = h,
                                      .n_headers = nh, .body = translated,
                                      .body_len = strlen(translated)});
    free(translated);
}

/* Every candidate failed: the final answer (docs/operations.md, "Failover",
 * last bullet), in the client's format. */
static void answer_exhausted(struct proxy_request *pr)
{
    int own_answer;
    int status = policy_exhausted_status(pr->attempts, pr->n_attempts, &own_answer);
    if (own_answer) {
        relay_own_answer(pr);
        return;
    }
    char retry_after[32] = "";
    if (status == 429) {
        int64_t wait = pr->retry_after_ms > 0 ? pr->retry_after_ms : 1000;
        snprintf(retry_after, sizeof(retry_after), "%lld", (long long)((wait + 999) / 1000));
    }
    zbuf msg;
    zbuf_init(&msg);
    answer_exhausted_message(pr->attempts, pr->n_attempts, &msg);
    json_t *attempts_extra = answer_attempts(pr->attempts, pr->n_attempts);
    char *body = xlate_own_error(&pr->xl, "all_providers_failed", (const char *)zbuf_head(&msg),
                                 attempts_extra);
    json_decref(attempts_extra);
    struct http_header h[6] = {{"Content-Type", "application/json"}};
    size_t nh = 1;
    if (retry_after[0])
        h[nh++] = (struct http_header){"retry-after", retry_after};
    char attempts[16];
    relay_zen_headers(pr->provider->name, zcfg_scenario_name(pr->scenario), pr->n_attempts,
                      attempts, sizeof(attempts), &h[nh]);
    nh += RELAY_ZEN_HEADERS;
    const char *text = body ? body : "{}";
    pr->bytes_out = strlen(text);
    /* h names the provider from pr's config: it is sent before that goes. */
    proxy_request_end(pr, status, 0, ZERR_NONE, (const char *)zbuf_head(&msg),
                      &(struct reply){.kind = REPLY_WHOLE, .status = status, .headers = h,
                                      .n_headers = nh, .body = text, .body_len = strlen(text)});
    free(body);
    zbuf_free(&msg);
}

/* ---- the attempt loop ---- */

static void record_attempt(struct proxy_request *pr, int status, int error_type,
                           const char *detail)
{
    struct policy_attempt *a = proxy_request_add_attempt(pr);
    if (!a)
        return;
    a->provider = pr->provider;
    a->status = status;
    a->error_type = error_type;
    a->duration_ms = proxy_request_elapsed_ms(pr->attempt_start_s);
    snprintf(a->detail, sizeof(a->detail), "%s", detail ? detail : "");
}

static void retry_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    start_attempt(w->data);
}

/* Picks the next provider index, skipping cooling ones unless last. */
static int next_candidate(struct proxy_request *pr, size_t *idx)
{
    int64_t now = ztime_mono_ms();
    while (pr->next_candidate < pr->n_candidates) {
        size_t k = pr->next_candidate++;
        size_t i = pr->candidates[k];
        int last = pr->next_candidate == pr->n_candidates;
        struct provider_state *s = pstates_lookup(pr->px->states, &pr->cfg->providers[i]);
        if (policy_skip_candidate(s && pstate_cooling(s, now), last))
            continue;
        *idx = i;
        pr->model_override = pr->candidate_models[k];
        return 1;
    }
    return 0;
}

/* After a failed attempt: the next provider, a same-provider retry, or the
 * final answer. */
static void after_failure(struct proxy_request *pr)
{
    size_t idx;
    pr->xl.fallback = 0; /* a wire fallback is one retry on its provider, no more */
    if (pr->n_attempts < PROXY_MAX_ATTEMPTS && next_candidate(pr, &idx)) {
        pr->provider = &pr->cfg->providers[idx];
        start_attempt(pr);
        return;
    }
    const struct policy_attempt *last = &pr->attempts[pr->n_attempts - 1];
    const struct zcfg_daemon *d = &pr->cfg->daemon;
    int64_t wait = pr->retry_after_ms;
    if (pr->retries_left > 0 && pr->n_attempts < PROXY_MAX_ATTEMPTS &&
        policy_transient(last->error_type, last->status, wait, d->max_retry_wait_ms)) {
        pr->retries_left--;
        if (wait < 0)
            wait = PROXY_RETRY_JITTER_MIN_MS +
                   (int64_t)randombytes_uniform(PROXY_RETRY_JITTER_SPAN_MS);
        ev_timer_init(&pr->retry_timer, retry_cb, (double)wait / 1000.0, 0.);
        pr->retry_timer.data = pr;
        ev_timer_start(pr->px->loop, &pr->retry_timer);
        return;
    }
    answer_exhausted(pr);
}

static void fail_attempt(struct proxy_request *pr, int status, int error_type,
                         const char *detail)
{
    record_attempt(pr, status, error_type, detail);
    const struct policy_attempt *a = &pr->attempts[pr->n_attempts - 1];
    zlog_pack(ZLOG_WARN, "provider_failed", "{s:s, s:s, s:s, s:s, s:i, s:f, s:s}",
              "request_id", pr->req->request_id, "session", pr->route.session_key, "provider",
              pr->provider->name, "error_type", zen_error_type_name(error_type), "status",
              status, "duration_ms", answer_round_ms(a->duration_ms), "detail", a->detail);
    /* A wire fallback that failed moves on without marking the provider
     * (docs/translate.md, "Choosing the OpenAI wire"). */
    if (pr->pstate && !pr->xl.fallback) {
        int64_t wait = error_type == ZERR_RATE_LIMIT ? pr->retry_after_ms : -1;
        /* A same-provider retry doubles the cooldown at most once per request. */
        if (policy_cooled_earlier(pr->attempts, pr->n_attempts))
            pstate_failure_again(pr->pstate, error_type, status, a->detail, wait);
        else
            pstate_failure(pr->pstate, error_type, status, a->detail, wait);
    }
    if (pr->transfer) {
        upstream_cancel(pr->transfer);
        pr->transfer = NULL;
    }
    proxy_request_release_attempt(pr);
    after_failure(pr);
}

/* ---- a translated answer (xlate.h) ---- */

/* The attempt is served: the one place a success is recorded. */
static void attempt_served(struct proxy_request *pr)
{
    if (pr->pstate) {
        pstate_success(pr->pstate, "success");
        pstate_note_ttfb(pr->pstate, (ztime_mono_s() - pr->attempt_start_s) * 1000.0);
        if (pr->xl.fallback && pr->pstate->learned_wire != (int)pr->xl.wire) {
            /* Sticky until the next reload: the next request costs one call. */
            pstate_learn_wire(pr->pstate, (int)pr->xl.wire);
            zlog_pack(ZLOG_INFO, "provider_wire_learned", "{s:s, s:s}", "provider",
                      pr->provider->name, "wire", tr_format_name(pr->xl.wire));
        }
    }
    record_attempt(pr, pr->status, ZERR_NONE, "");
    pr->state = REQ_RELAY;
}

/* xlate's commit point: the translated stream's head goes out. */
static void on_xlate_commit(void *ud)
{
    struct proxy_request *pr = ud;
    attempt_served(pr);
    struct http_header h[8];
    size_t n = xlate_head_headers(&pr->xl, h);
    char attempts[16];
    relay_zen_headers(pr->provider->name, zcfg_scenario_name(pr->scenario), pr->n_attempts,
                      attempts, sizeof(attempts), &h[n]);
    http_response_begin(pr->conn, 200, h, n + RELAY_ZEN_HEADERS, -1);
    pr->ttfb_ms = proxy_request_elapsed_ms(pr->req->start_s);
}

/* The error type of a translated answer that failed before its commit
 * point, from what the upstream said (its error class). */
static int xlate_failure_type(enum tr_err_class c)
{
    switch (c) {
    case TR_ERR_RATE_LIMIT: return ZERR_RATE_LIMIT;
    case TR_ERR_AUTHENTICATION:
    case TR_ERR_BILLING:
    case TR_ERR_PERMISSION: return ZERR_AUTH;
    case TR_ERR_INVALID_REQUEST:
    case TR_ERR_TOO_LARGE:
    case TR_ERR_NOT_FOUND: return ZERR_REQUEST;
    case TR_ERR_TIMEOUT: return ZERR_TIMEOUT;
    default: return ZERR_SERVER;
    }
}

/* A provider that broke a stream after its commit point is blamed
 * (docs/operations.md, "Commit point"): its served attempt becomes a failed
 * one of type stream, and it cools down as after any failure. */
static void blame_broken_stream(struct proxy_request *pr, const char *why)
{
    if (pr->n_attempts == 0 || pr->attempts[pr->n_attempts - 1].provider != pr->provider)
        return;
    struct policy_attempt *a = &pr->attempts[pr->n_attempts - 1];
    /* A client that hung up blames nobody, even when the upstream broke
     * before zend wrote to it and noticed (a silent stream, say). */
    if (http_conn_peer_eof(pr->conn))
        return;
    a->error_type = ZERR_STREAM;
    snprintf(a->detail, sizeof(a->detail), "%s", why);
    zlog_pack(ZLOG_WARN, "provider_failed", "{s:s, s:s, s:s, s:s, s:i, s:f, s:s}",
              "request_id", pr->req->request_id, "session", pr->route.session_key, "provider",
              pr->provider->name, "error_type", zen_error_type_name(ZERR_STREAM), "status",
              pr->status, "duration_ms", answer_round_ms(a->duration_ms), "detail", a->detail);
    if (pr->pstate)
        pstate_failure(pr->pstate, ZERR_STREAM, 0, a->detail, -1);
}

/* The upstream broke the answer after its head went out (never the
 * client's hang-up: that ends through on_abort and blames nobody). */
static void end_interrupted(struct proxy_request *pr, const char *why)
{
    blame_broken_stream(pr, why);
    zlog_pack(ZLOG_WARN, "stream_interrupted", "{s:s, s:s, s:s, s:I}", "request_id",
              pr->req->request_id, "provider", pr->provider->name, "detail", why,
              "bytes_out", (json_int_t)http_response_bytes(pr->conn));
    pr->bytes_out = http_response_bytes(pr->conn);
    /* No terminating chunk: the client must not take it as complete. */
    proxy_request_end(pr, pr->status, 0, ZERR_STREAM_INTERRUPTED, why,
                      &(struct reply){.kind = REPLY_ABORT});
}

/* Acts on what the translated answer said at its end (or a timer's). */
static void xlate_conclude(struct proxy_request *pr, enum xlate_step st)
{
    switch (st) {
    case XLATE_FINISHED:
        if (xlate_client_stream(&pr->xl)) {
            pr->bytes_out = http_response_bytes(pr->conn);
            proxy_request_end(pr, pr->status, 1, ZERR_NONE, NULL,
                              &(struct reply){.kind = REPLY_END});
            return;
        }
        attempt_served(pr);
        pr->ttfb_ms = proxy_request_elapsed_ms(pr->req->start_s);
        size_t len;
        const char *body = xlate_whole_body(&pr->xl, &len);
        struct http_header h[8];
        size_t n = xlate_head_headers(&pr->xl, h);
        char attempts[16];
        relay_zen_headers(pr->provider->name, zcfg_scenario_name(pr->scenario), pr->n_attempts,
                          attempts, sizeof(attempts), &h[n]);
        pr->bytes_out = len;
        proxy_request_end(pr, pr->status, 1, ZERR_NONE, NULL,
                          &(struct reply){.kind = REPLY_WHOLE, .status = pr->status,
                                          .headers = h, .n_headers = n + RELAY_ZEN_HEADERS,
                                          .body = body ? body : "", .body_len = len});
        return;
    case XLATE_FAILED: {
        char detail[PROXY_DETAIL_MAX];
        snprintf(detail, sizeof(detail), "%s", pr->xl.err_msg);
        fail_attempt(pr, 0, xlate_failure_type(pr->xl.err_class), detail);
        return;
    }
    case XLATE_CLIENT_GONE:
        return; /* on_abort follows */
    case XLATE_BROKEN:
    default:
        end_interrupted(pr, pr->xl.err_msg[0] ? pr->xl.err_msg : "stream ended early");
        return;
    }
}

static int commit_held_stream(struct proxy_request *pr);

static void on_xlate_timer_step(void *ud, enum xlate_step st)
{
    if (st == XLATE_COMMIT) { /* a held passthrough stream's commit deadline */
        commit_held_stream(ud);
        return;
    }
    xlate_conclude(ud, st);
}

const struct xlate_hooks attempt_xlate_hooks = {on_xlate_commit, on_xlate_timer_step};

static int translating_answer(const struct proxy_request *pr)
{
    return pr->xl.active && pr->status >= 200 && pr->status < 300;
}

/* ---- the commit point of a passthrough answer (commit.h) ---- */

/* A held passthrough answer commits: the attempt is served, the kept head
 * goes out, then the held bytes, seen first by the stream's end-marker
 * detector. Returns what relay_write says. */
static int commit_held(struct proxy_request *pr, const char *held, size_t len)
{
    attempt_served(pr);
    sse_detector_init(&pr->sse);
    relay_head(pr, pr->status, pr->resp_headers, pr->n_resp_headers,
               relay_content_length(pr->resp_headers, pr->n_resp_headers, pr->req->method,
                                    pr->status, pr->is_stream));
    if (len == 0)
        return UPSTREAM_CONTINUE;
    return relay_body(pr, held, len);
}

static int commit_held_stream(struct proxy_request *pr)
{
    size_t len;
    const char *held = xlate_held(&pr->xl, &len);
    int rc = commit_held(pr, held, len);
    xlate_hold_release(&pr->xl);
    return rc;
}

/* A passthrough 2xx answer waits for its commit point: a stream of a
 * Messages, Chat or Responses endpoint until its first content event
 * (xlate_hold_begin), a small JSON body until it is whole
 * (commit_json_held). The head is kept meanwhile. Returns 1 when held. */
static int hold_answer(struct proxy_request *pr, const struct http_header *h, size_t n)
{
    if (pr->status < 200 || pr->status >= 300)
        return 0;
    if (xlate_hold_begin(&pr->xl, h, n) <= 0 &&
        (pr->is_stream || !commit_json_held(pr->status, pr->req->method, h, n)))
        return 0;
    fwdh_copy(h, n, &pr->resp_headers, &pr->n_resp_headers);
    return 1;
}

/* A held JSON answer: a passthrough 2xx not served yet and not a stream. */
static int holding_json(const struct proxy_request *pr)
{
    return pr->state == REQ_ATTEMPT && pr->status >= 200 && pr->status < 300 &&
           !pr->xl.active && !xlate_holding(&pr->xl);
}

static int hold_stream_body(struct proxy_request *pr, const char *data, size_t len)
{
    switch (xlate_hold_body(&pr->xl, data, len)) {
    case XLATE_COMMIT: return commit_held_stream(pr);
    case XLATE_FAILED: return UPSTREAM_ABORT; /* concluded in on_done */
    default: return UPSTREAM_CONTINUE;
    }
}

/* A held JSON answer grew past COMMIT_HOLD_MAX: too big to be an error
 * object, it is the answer. */
static int commit_big_json(struct proxy_request *pr, const char *data, size_t len)
{
    int rc = commit_held(pr, (const char *)zbuf_head(&pr->err_body), zbuf_len(&pr->err_body));
    zbuf_clear(&pr->err_body);
    if (rc == UPSTREAM_ABORT)
        return rc;
    int more = relay_body(pr, data, len);
    return more != UPSTREAM_CONTINUE ? more : rc;
}

/* "<result>: <detail>", what a transfer's end says. */
static void transfer_why(int result, const char *detail, char *why, size_t len)
{
    snprintf(why, len, "%s%s%s", upstream_result_name(result), detail && *detail ? ": " : "",
             detail ? detail : "");
}

/* A held stream's transfer ended before its commit point. A complete
 * stream commits (1: relayed on as usual); otherwise the attempt failed (0):
 * typed by the upstream's in-band error, else by how the transfer ended. */
static int held_stream_done(struct proxy_request *pr, int result, const char *detail)
{
    char why[300];
    transfer_why(result, detail, why, sizeof(why));
    int in_band = pr->xl.failed;
    if (xlate_hold_end(&pr->xl, result == UPSTREAM_OK, result == UPSTREAM_OK ? NULL : why) ==
        XLATE_COMMIT) {
        commit_held_stream(pr);
        return 1;
    }
    if (!in_band && result != UPSTREAM_OK) {
        fail_attempt(pr, 0, policy_classify_result(result), why);
        return 0;
    }
    char msg[PROXY_DETAIL_MAX];
    snprintf(msg, sizeof(msg), "%s", pr->xl.err_msg);
    fail_attempt(pr, 0, xlate_failure_type(pr->xl.err_class), msg);
    return 0;
}

/* A held JSON answer ended: whole and not an error object, it commits (1);
 * an error object (docs/operations.md, "A 2xx that is an error") or a cut
 * body is a failed attempt (0). */
static int held_json_done(struct proxy_request *pr, int result, const char *detail)
{
    if (result != UPSTREAM_OK) {
        fail_attempt(pr, 0, policy_classify_result(result),
                     detail && *detail ? detail : upstream_result_name(result));
        return 0;
    }
    const char *body = (const char *)zbuf_head(&pr->err_body);
    size_t len = zbuf_len(&pr->err_body);
    if (commit_json_is_error(body, len)) {
        char msg[PROXY_DETAIL_MAX];
        snprintf(msg, sizeof(msg), "%.*s", (int)(len < sizeof(msg) ? len : sizeof(msg) - 1),
                 body);
        fail_attempt(pr, pr->status, ZERR_SERVER, msg);
        return 0;
    }
    commit_held(pr, body, len);
    zbuf_clear(&pr->err_body);
    return 1;
}

/* A passthrough 2xx answer of a Messages, Chat or Responses endpoint gets
 * a usage reader (docs/usage.md, "Tokens: where they come from"): it sees
 * every byte the client gets, held ones included, once. Other answers cost
 * nothing. Out of memory, the answer is relayed unread. */
static void start_usage_reader(struct proxy_request *pr)
{
    enum tr_endpoint ep = pr->xl.fmt.endpoint;
    usage_reader_free(pr->usage_reader);
    pr->usage_reader = NULL;
    if (pr->status < 200 || pr->status >= 300 ||
        (ep != TR_EP_MESSAGES && ep != TR_EP_CHAT && ep != TR_EP_RESPONSES))
        return;
    pr->usage_reader = usage_reader_new(pr->xl.fmt.format, pr->is_stream);
}

/* ---- upstream callbacks ---- */

static void on_up_head(void *ud, int status, const struct http_header *h, size_t n)
{
    struct proxy_request *pr = ud;
    pr->status = status;
    proxy_request_free_resp_headers(pr);
    zbuf_clear(&pr->err_body);
    if (policy_is_failure_status(status) || (pr->xl.active && !translating_answer(pr)) ||
        xlate_fallback_wire(&pr->xl, pr->provider, status, NULL, 0) >= 0) {
        /* Keep the head: with a single provider it is relayed as it is (or
         * translated, when the attempt was). */
        fwdh_copy(h, n, &pr->resp_headers, &pr->n_resp_headers);
        pr->retry_after_ms = status == 429 ? policy_retry_after_ms(h, n, ztime_wall_ms()) : -1;
        return;
    }
    if (pr->xl.active) {
        /* Nothing reaches the client before the commit point (xlate.h). */
        pr->xl_step = xlate_on_head(&pr->xl, h, n) == 0 ? XLATE_GOING : XLATE_FAILED;
        if (pr->xl_step == XLATE_FAILED)
            snprintf(pr->xl.err_msg, sizeof(pr->xl.err_msg), "out of memory");
        return;
    }
    pr->is_stream = relay_is_stream(h, n);
    start_usage_reader(pr);
    if (hold_answer(pr, h, n))
        return; /* nothing reaches the client before the commit point */
    attempt_served(pr);
    sse_detector_init(&pr->sse);
    relay_head(pr, status, h, n,
               relay_content_length(h, n, pr->req->method, status, pr->is_stream));
}

static int on_up_body(void *ud, const char *data, size_t len)
{
    struct proxy_request *pr = ud;
    if (translating_answer(pr)) {
        if (pr->xl_step != XLATE_GOING && pr->xl_step != XLATE_PAUSE &&
            pr->xl_step != XLATE_FINISHED)
            return UPSTREAM_ABORT;
        pr->xl_step = xlate_on_body(&pr->xl, data, len);
        switch (pr->xl_step) {
        case XLATE_GOING:
        case XLATE_FINISHED: return UPSTREAM_CONTINUE; /* the end comes with on_done */
        case XLATE_PAUSE: return UPSTREAM_PAUSE;
        default: return UPSTREAM_ABORT;               /* concluded in on_done */
        }
    }
    if (pr->state != REQ_RELAY) {
        if (xlate_holding(&pr->xl))
            return hold_stream_body(pr, data, len);
        if (holding_json(pr) && zbuf_len(&pr->err_body) + len > COMMIT_HOLD_MAX)
            return commit_big_json(pr, data, len);
        size_t room = PROXY_ERROR_BODY_MAX - zbuf_len(&pr->err_body);
        zbuf_append(&pr->err_body, data, len < room ? len : room);
        return UPSTREAM_CONTINUE;
    }
    return relay_body(pr, data, len);
}

static void on_translated_done(struct proxy_request *pr, int result, const char *detail)
{
    enum xlate_step st = pr->xl_step;
    if (st == XLATE_GOING || st == XLATE_PAUSE || st == XLATE_FINISHED) {
        char why[300];
        snprintf(why, sizeof(why), "%s%s%s", upstream_result_name(result),
                 detail && *detail ? ": " : "", detail ? detail : "");
        st = xlate_on_end(&pr->xl, result == UPSTREAM_OK, result == UPSTREAM_OK ? NULL : why);
    }
    if (pr->state == REQ_RELAY) /* committed: the served attempt runs until now */
        pr->attempts[pr->n_attempts - 1].duration_ms =
            proxy_request_elapsed_ms(pr->attempt_start_s);
    xlate_conclude(pr, st);
}

/* A wire fallback (docs/translate.md, "Choosing the OpenAI wire"): the same
 * provider once more in its other OpenAI API, the failure not recorded. */
static int try_wire_fallback(struct proxy_request *pr)
{
    int wire = xlate_fallback_wire(&pr->xl, pr->provider, pr->status,
                                   (const char *)zbuf_head(&pr->err_body), zbuf_len(&pr->err_body));
    if (wire < 0)
        return 0;
    zlog_pack(ZLOG_INFO, "provider_wire_fallback", "{s:s, s:s, s:i, s:s}", "request_id",
              pr->req->request_id, "provider", pr->provider->name, "status", pr->status, "wire",
              tr_format_name((enum tr_format)wire));
    pr->xl.fallback = 1;
    pr->xl.fallback_wire = (enum tr_format)wire;
    proxy_request_release_attempt(pr);
    start_attempt(pr);
    return 1;
}

static void on_up_done(void *ud, int result, const char *detail)
{
    struct proxy_request *pr = ud;
    pr->transfer = NULL;
    if (translating_answer(pr)) {
        on_translated_done(pr, result, detail);
        return;
    }
    if (xlate_holding(&pr->xl) && !held_stream_done(pr, result, detail))
        return;
    if (holding_json(pr) && !held_json_done(pr, result, detail))
        return;
    if (pr->state == REQ_RELAY) {
        pr->attempts[pr->n_attempts - 1].duration_ms =
            proxy_request_elapsed_ms(pr->attempt_start_s);
        int whole = result == UPSTREAM_OK && (!pr->is_stream || sse_detector_complete(&pr->sse));
        if (whole) {
            proxy_request_end(pr, pr->status, pr->status < 400, ZERR_NONE, NULL,
                              &(struct reply){.kind = REPLY_END});
            return;
        }
        if (result == UPSTREAM_ERR_ABORTED) {
            /* Our write failed: the client is gone; on_abort follows. */
            return;
        }
        char why[300];
        if (result == UPSTREAM_OK)
            snprintf(why, sizeof(why), "stream ended before its end marker");
        else
            snprintf(why, sizeof(why), "%s%s%s", upstream_result_name(result),
                     detail && *detail ? ": " : "", detail ? detail : "");
        if (pr->is_stream)
            xlate_stream_error(&pr->xl, why);
        end_interrupted(pr, why);
        return;
    }
    if (pr->status > 0) {
        if (try_wire_fallback(pr))
            return;
        int type = policy_classify_status(pr->status, (const char *)zbuf_head(&pr->err_body),
                                          zbuf_len(&pr->err_body));
        if (!policy_is_failure_status(pr->status) ||
            policy_client_credential_refused(pr->status, !pr->provider->auth_token)) {
            /* A translated attempt's non-2xx answer that is not a failure
             * (400, 404 ...) is the answer: relayed, in the client's format.
             * So is a passthrough provider's 401/403: the client's
             * credential was refused, which says nothing of the provider
             * (no cooldown, no failover, no retry). */
            record_attempt(pr, pr->status, ZERR_NONE, "");
            relay_own_answer(pr);
            return;
        }
        char detail_body[PROXY_DETAIL_MAX];
        size_t n = zbuf_len(&pr->err_body) < sizeof(detail_body) - 1 ? zbuf_len(&pr->err_body)
                                                                     : sizeof(detail_body) - 1;
        memcpy(detail_body, zbuf_head(&pr->err_body), n);
        detail_body[n] = '\0';
        fail_attempt(pr, pr->status, type, detail_body);
        return;
    }
    fail_attempt(pr, 0, policy_classify_result(result), detail && *detail ? detail
                                                                   : upstream_result_name(result));
}

/* ---- starting an attempt ---- */

static void log_model(struct proxy_request *pr, const char *from, const char *to, int defaulted)
{
    if (!from || !to || strcmp(from, to) == 0)
        return;
    zlog_pack(ZLOG_DEBUG, "model_mapped", "{s:s, s:s, s:s, s:s}", "request_id",
              pr->req->request_id, "provider", pr->provider->name, "from", from, "to", to);
    if (defaulted && pr->pstate && !pr->pstate->model_default_logged) {
        pr->pstate->model_default_logged = 1;
        zlog_pack(ZLOG_INFO, "model_default_applied", "{s:s, s:s, s:s}", "provider",
                  pr->provider->name, "from", from, "to", to);
    }
}

/* An answer zend gives without the provider: a translated request that is
 * bad (400, no failover: every provider of that type would refuse it), or
 * the local count_tokens estimate. */
static void answer_locally(struct proxy_request *pr, const struct xlate_attempt *xa)
{
    int ok = xa->plan == XLATE_LOCAL_ANSWER;
    struct http_header h[4] = {{"Content-Type", "application/json"}};
    size_t nh = 1;
    if (ok)
        h[nh++] = (struct http_header){"x-zen-token-estimate", "1"};
    const char *body = xa->body ? xa->body : "{}";
    if (ok)
        record_attempt(pr, 200, ZERR_NONE, "local estimate");
    pr->bytes_out = strlen(body);
    proxy_request_end(pr, xa->status, ok, ZERR_NONE, ok ? NULL : body,
                      &(struct reply){.kind = REPLY_WHOLE, .status = xa->status, .headers = h,
                                      .n_headers = nh, .body = body, .body_len = strlen(body)});
}

/* The URL and body of a passthrough attempt: the client's path and query,
 * the body model-mapped (and stripped of zend's carriers: xa->body). */
static int passthrough_request(struct proxy_request *pr, struct xlate_attempt *xa)
{
    const struct zcfg_provider *p = pr->provider;
    size_t url_len = strlen(p->base_url) + strlen(pr->route.upstream_path) + 2;
    pr->url = malloc(url_len);
    if (!pr->url || route_upstream_url(p->base_url, pr->route.upstream_path, pr->url,
                                       url_len) != ZEN_OK)
        return -1;
    const char *src = xa->body ? xa->body : (const char *)zbuf_head(&pr->req->body);
    size_t src_len = xa->body ? xa->body_len : zbuf_len(&pr->req->body);
    char from[PROXY_MODEL_NAME_MAX], to[PROXY_MODEL_NAME_MAX];
    pr->body = pr->model_override
                   ? rewrite_model_body_to(pr->model_override, src, src_len, &pr->body_len, from,
                                           sizeof(from), to, sizeof(to))
                   : rewrite_model_body(p, src, src_len, &pr->body_len, from, sizeof(from), to,
                                        sizeof(to));
    if (pr->body) {
        log_model(pr, from, to, 0);
        snprintf(pr->model_sent, sizeof(pr->model_sent), "%s", to);
        free(xa->body);
    } else {
        pr->body = xa->body;
        pr->body_len = xa->body_len;
    }
    xa->body = NULL;
    pr->up_headers = fwdh_upstream_request(pr->req, pr->cfg, p, pr->key_header);
    return 0;
}

static int translated_request(struct proxy_request *pr, struct xlate_attempt *xa)
{
    const struct zcfg_provider *p = pr->provider;
    size_t url_len = strlen(p->base_url) + strlen(xa->path) + 2;
    pr->url = malloc(url_len);
    if (!pr->url || route_upstream_url(p->base_url, xa->path, pr->url, url_len) != ZEN_OK)
        return -1;
    log_model(pr, xa->model_from, xa->model_to, xa->model_defaulted);
    if (xa->model_to)
        snprintf(pr->model_sent, sizeof(pr->model_sent), "%s", xa->model_to);
    pr->body = xa->body;
    pr->body_len = xa->body_len;
    xa->body = NULL;
    pr->up_headers = fwdh_translated_request(pr->req, pr->cfg, p, pr->key_header,
                                             pr->xl.wire == TR_FORMAT_A,
                                             pr->xl.ctx.client_stream);
    return 0;
}

static void start_attempt(struct proxy_request *pr)
{
    static const struct upstream_callbacks cb = {on_up_head, on_up_body, on_up_done};
    const struct zcfg_provider *p = pr->provider;
    const struct zcfg_daemon *d = &pr->cfg->daemon;
    pr->state = REQ_ATTEMPT;
    pr->status = 0;
    pr->retry_after_ms = -1;
    pr->xl_step = XLATE_GOING;
    pr->xl.commit_timeout_ms = d->commit_timeout_ms;
    pr->attempt_start_s = ztime_mono_s();
    pr->pstate = pstate_ref(pstates_lookup(pr->px->states, p));
    pr->xl.model_override = pr->model_override;
    memcpy(pr->model_sent, pr->model_requested, sizeof(pr->model_sent)); /* unless mapped */
    struct xlate_attempt xa;
    xlate_begin_attempt(&pr->xl, p, pr->pstate ? pr->pstate->learned_wire : -1,
                        (const char *)zbuf_head(&pr->req->body), zbuf_len(&pr->req->body), &xa);
    if (xa.plan == XLATE_REJECT || xa.plan == XLATE_LOCAL_ANSWER) {
        answer_locally(pr, &xa);
        free(xa.body);
        return;
    }
    int rc = xa.plan == XLATE_TRANSLATE ? translated_request(pr, &xa)
                                        : passthrough_request(pr, &xa);
    free(xa.body);
    if (rc != 0) {
        fail_attempt(pr, 0, ZERR_NETWORK, "upstream URL too long");
        return;
    }
    if (!pr->up_headers) {
        /* Never send the request short of a header (its credentials, say).
         * Our memory, not the provider's fault: it is not cooled. */
        pstate_unref(pr->pstate);
        pr->pstate = NULL;
        fail_attempt(pr, 0, ZERR_NETWORK, "out of memory building the upstream request headers");
        return;
    }
    struct upstream_request ureq = {
        .method = pr->req->method,
        .url = pr->url,
        .headers = pr->up_headers,
        .body = pr->body ? pr->body : (const char *)zbuf_head(&pr->req->body),
        .body_len = pr->body ? pr->body_len : zbuf_len(&pr->req->body),
        .proxy_url = p->proxy_url,
        .ca_file = p->ca_file,
        .connect_timeout_ms = (long)d->connect_timeout_ms,
        .first_byte_timeout_ms = (long)d->first_byte_timeout_ms,
        .idle_timeout_ms = (long)d->idle_timeout_ms,
        .total_timeout_ms = (long)d->total_timeout_ms,
    };
    char err[256];
    pr->transfer = upstream_start(pr->px->upstream, &ureq, &cb, pr, err, sizeof(err));
    if (!pr->transfer)
        fail_attempt(pr, 0, ZERR_NETWORK, err);
}

/* The request holds a slot from here until it ends. */
void attempt_begin(struct proxy_request *pr)
{
    pr->state = REQ_ATTEMPT;
    pr->retries_left = pr->cfg->daemon.retry_same_provider;
    size_t idx = 0;
    next_candidate(pr, &idx); /* the last candidate is never skipped: always found */
    pr->provider = &pr->cfg->providers[idx];
    start_attempt(pr);
}
