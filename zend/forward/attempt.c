#include "attempt.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "answer.h"
#include "common.h"
#include "forward_headers.h"
#include "log.h"
#include "provider_state.h"
#include "relay.h"
#include "rewrite.h"
#include "timeutil.h"
#include "upstream.h"

static void start_attempt(struct proxy_request *pr);

/* ---- answering ---- */

/* Relays a head: upstream headers minus hop-by-hop and framing, plus ours. */
static void relay_head(struct proxy_request *pr, int status, const struct http_header *h,
                       size_t n, int64_t content_length)
{
    relay_begin(pr->conn, status, h, n, content_length, pr->provider->name, pr->n_attempts);
    pr->ttfb_ms = proxy_request_elapsed_ms(pr->req->start_s);
}

/* Every candidate failed: the final answer (docs/operations.md, "Failover",
 * last bullet). */
static void answer_exhausted(struct proxy_request *pr)
{
    const struct policy_attempt *last = &pr->attempts[pr->n_attempts - 1];
    int own_answer;
    int status = policy_exhausted_status(pr->attempts, pr->n_attempts, &own_answer);
    if (own_answer) {
        /* Stay transparent: the client sees the provider's own answer. */
        struct http_conn *c = pr->conn;
        relay_head(pr, last->status, pr->resp_headers, pr->n_resp_headers,
                   (int64_t)zbuf_len(&pr->err_body));
        http_response_write(c, zbuf_head(&pr->err_body), zbuf_len(&pr->err_body));
        pr->bytes_out = zbuf_len(&pr->err_body);
        proxy_request_end(pr, last->status, 0, ZERR_NONE, last->detail,
                          &(struct reply){.kind = REPLY_END});
        return;
    }
    char retry_after[32] = "";
    if (status == 429) {
        int64_t wait = pr->retry_after_ms > 0 ? pr->retry_after_ms : 1000;
        snprintf(retry_after, sizeof(retry_after), "%lld", (long long)((wait + 999) / 1000));
    }
    zbuf msg;
    zbuf_init(&msg);
    char *body = answer_exhausted_body(pr->attempts, pr->n_attempts, &msg);
    struct http_header h[4] = {{"Content-Type", "application/json"}};
    size_t nh = 1;
    if (retry_after[0])
        h[nh++] = (struct http_header){"retry-after", retry_after};
    char attempts[16];
    relay_zen_headers(pr->provider->name, pr->n_attempts, attempts, sizeof(attempts), &h[nh]);
    nh += 2;
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
    if (pr->n_attempts >= PROXY_MAX_ATTEMPTS)
        return;
    struct policy_attempt *a = &pr->attempts[pr->n_attempts++];
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
        size_t i = pr->candidates[pr->next_candidate++];
        int last = pr->next_candidate == pr->n_candidates;
        struct provider_state *s = pstates_lookup(pr->px->states, &pr->cfg->providers[i]);
        if (policy_skip_candidate(s && pstate_cooling(s, now), last))
            continue;
        *idx = i;
        return 1;
    }
    return 0;
}

/* After a failed attempt: the next provider, a same-provider retry, or the
 * final answer. */
static void after_failure(struct proxy_request *pr)
{
    size_t idx;
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
    if (pr->pstate)
        pstate_failure(pr->pstate, error_type, status, a->detail,
                       error_type == ZERR_RATE_LIMIT ? pr->retry_after_ms : -1);
    proxy_request_release_attempt(pr);
    after_failure(pr);
}

static void on_up_head(void *ud, int status, const struct http_header *h, size_t n)
{
    struct proxy_request *pr = ud;
    pr->status = status;
    proxy_request_free_resp_headers(pr);
    zbuf_clear(&pr->err_body);
    if (policy_is_failure_status(status)) {
        /* Keep the head: with a single provider it is relayed as it is. */
        fwdh_copy(h, n, &pr->resp_headers, &pr->n_resp_headers);
        pr->retry_after_ms = status == 429 ? policy_retry_after_ms(h, n, ztime_wall_ms()) : -1;
        return;
    }
    if (pr->pstate)
        pstate_success(pr->pstate, "success");
    record_attempt(pr, status, ZERR_NONE, "");
    pr->is_stream = relay_is_stream(h, n);
    sse_detector_init(&pr->sse);
    pr->state = REQ_RELAY;
    relay_head(pr, status, h, n,
               relay_content_length(h, n, pr->req->method, status, pr->is_stream));
}

static int on_up_body(void *ud, const char *data, size_t len)
{
    struct proxy_request *pr = ud;
    if (pr->state != REQ_RELAY) {
        size_t room = PROXY_ERROR_BODY_MAX - zbuf_len(&pr->err_body);
        zbuf_append(&pr->err_body, data, len < room ? len : room);
        return UPSTREAM_CONTINUE;
    }
    pr->bytes_out += len;
    return relay_write(pr->conn, pr->is_stream ? &pr->sse : NULL, data, len);
}

static void on_up_done(void *ud, int result, const char *detail)
{
    struct proxy_request *pr = ud;
    pr->transfer = NULL;
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
        zlog_pack(ZLOG_WARN, "stream_interrupted", "{s:s, s:s, s:s, s:I}", "request_id",
                  pr->req->request_id, "provider", pr->provider->name, "detail", why,
                  "bytes_out", (json_int_t)http_response_bytes(pr->conn));
        if (pr->is_stream)
            relay_stream_error(pr->conn, why);
        /* No terminating chunk: the client must not take it as complete. */
        proxy_request_end(pr, pr->status, 0, ZERR_STREAM_INTERRUPTED, why,
                          &(struct reply){.kind = REPLY_ABORT});
        return;
    }
    if (pr->status > 0) {
        int type = policy_classify_status(pr->status, (const char *)zbuf_head(&pr->err_body),
                                          zbuf_len(&pr->err_body));
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

static void start_attempt(struct proxy_request *pr)
{
    static const struct upstream_callbacks cb = {on_up_head, on_up_body, on_up_done};
    const struct zcfg_provider *p = pr->provider;
    const struct zcfg_daemon *d = &pr->cfg->daemon;
    pr->state = REQ_ATTEMPT;
    pr->status = 0;
    pr->retry_after_ms = -1;
    pr->attempt_start_s = ztime_mono_s();
    pr->pstate = pstate_ref(pstates_lookup(pr->px->states, p));
    size_t url_len = strlen(p->base_url) + strlen(pr->route.upstream_path) + 2;
    pr->url = malloc(url_len);
    if (!pr->url || route_upstream_url(p->base_url, pr->route.upstream_path, pr->url,
                                       url_len) != ZEN_OK) {
        fail_attempt(pr, 0, ZERR_NETWORK, "upstream URL too long");
        return;
    }
    char from[PROXY_MODEL_NAME_MAX], to[PROXY_MODEL_NAME_MAX];
    pr->body = rewrite_model_body(p, (const char *)zbuf_head(&pr->req->body),
                                  zbuf_len(&pr->req->body), &pr->body_len, from, sizeof(from),
                                  to, sizeof(to));
    if (pr->body)
        zlog_pack(ZLOG_DEBUG, "model_mapped", "{s:s, s:s, s:s, s:s}", "request_id",
                  pr->req->request_id, "provider", p->name, "from", from, "to", to);
    pr->up_headers = fwdh_upstream_request(pr->req, pr->cfg, p, pr->key_header);
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
