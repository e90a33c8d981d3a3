#include "proxy_request.h"

#include <stdlib.h>
#include <string.h>

#include "answer.h"
#include "budget.h"
#include "forward_headers.h"
#include "grow.h"
#include "ledger.h"
#include "log.h"
#include "prices.h"
#include "provider_state.h"
#include "request_log.h"
#include "tr_ctx.h"
#include "timeutil.h"
#include "upstream.h"

/* One attempt inline (most requests need one), then 4, then the most. */
static const struct zgrow_policy attempts_growth = {1, 4, PROXY_MAX_ATTEMPTS};

struct policy_attempt *proxy_request_add_attempt(struct proxy_request *pr)
{
    struct policy_attempt *room = zgrow_room(pr->attempts, pr->n_attempts, &pr->attempts_cap,
                                             sizeof(*room), &pr->attempt_first, &attempts_growth);
    if (!room)
        return NULL;
    pr->attempts = room;
    struct policy_attempt *a = &pr->attempts[pr->n_attempts++];
    memset(a, 0, sizeof(*a));
    return a;
}

double proxy_request_elapsed_ms(double since_s) { return (ztime_mono_s() - since_s) * 1000.0; }

/* ---- the record: metrics and the request_completed log line ---- */

/* Did the client get a stream (passthrough or translated)? */
static int client_got_stream(const struct proxy_request *pr)
{
    return pr->is_stream || xlate_client_stream(&pr->xl);
}

/* The client body's model, or NULL when it named none. */
static const char *model_requested(const struct proxy_request *pr)
{
    return pr->model_requested[0] ? pr->model_requested : NULL;
}

/* A client's text (its path, its session name) as a JSON string even when
 * it is not UTF-8: each byte outside ASCII becomes '?'. A record that
 * could not be built would be a request with no trace at all. */
static json_t *client_text(const char *s)
{
    json_t *j = json_string(s);
    if (j)
        return j;
    char *copy = strdup(s);
    if (!copy)
        return json_string("?");
    for (char *p = copy; *p; p++)
        if ((unsigned char)*p >= 0x80)
            *p = '?';
    j = json_string(copy);
    free(copy);
    return j;
}

void proxy_request_log_received(const struct proxy_request *pr)
{
    if (!zlog_enabled(ZLOG_DEBUG))
        return;
    zlog_pack(ZLOG_DEBUG, "request_received", "{s:s, s:s, s:o, s:I}", "request_id",
              pr->req->request_id, "method", pr->req->method, "path",
              client_text(pr->req->target), "bytes_in", (json_int_t)zbuf_len(&pr->req->body));
}

/* The model and the tokens of request_completed: each only when known. */
static void add_usage_fields(const struct proxy_request *pr, json_t *f)
{
    static const char *const names[] = {"input_tokens", "output_tokens", "cache_read_tokens",
                                        "cache_write_tokens"};
    const int64_t counts[] = {pr->usage.input, pr->usage.output, pr->usage.cache_read,
                              pr->usage.cache_write};
    if (pr->model_sent[0])
        json_object_set_new(f, "model", client_text(pr->model_sent));
    for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++)
        if (counts[i] != USAGE_UNKNOWN)
            json_object_set_new(f, names[i], json_integer((json_int_t)counts[i]));
}

/* request_completed (docs/operations.md, "Log events"), at the level of
 * request_log.h; nothing is built when no sink takes that level. */
static void log_completed(const struct proxy_request *pr, const struct metrics_record *rec,
                          const char *error)
{
    struct request_outcome o = {
        .status = rec->status,
        .success = rec->success,
        .error_type = rec->error_type,
        .access_log = pr->cfg->daemon.access_log,
        .slow = rec->duration_ms > (double)pr->cfg->daemon.slow_request_ms,
    };
    for (size_t i = 0; i < rec->n_attempts; i++)
        o.failed_attempts += rec->attempts[i].error_type != ZERR_NONE;
    int level = request_log_level(&o);
    if (!zlog_enabled(level))
        return;
    json_t *f = json_pack("{s:s, s:o, s:s, s:s, s:o, s:i, s:s?, s:i, s:f, s:f, s:I, s:I, s:s}",
                          "request_id", pr->req->request_id, "session",
                          client_text(pr->route.session_key), "profile",
                          pr->route.profile ? pr->route.profile->name : "", "method",
                          pr->req->method, "path", client_text(pr->req->target), "status",
                          rec->status, "provider", rec->provider, "attempts",
                          (int)rec->n_attempts, "ttfb_ms",
                          answer_round_ms(rec->ttfb_ms < 0 ? 0 : rec->ttfb_ms), "duration_ms",
                          answer_round_ms(rec->duration_ms), "bytes_in",
                          (json_int_t)rec->bytes_in, "bytes_out", (json_int_t)rec->bytes_out,
                          "client_format", tr_format_name(pr->xl.fmt.format));
    if (!f)
        return;
    /* Only a stream can be cut short; a JSON answer has no such field. */
    if (client_got_stream(pr))
        json_object_set_new(f, "stream_completed",
                            json_boolean(rec->success && rec->error_type == ZERR_NONE));
    if (rec->scenario)
        json_object_set_new(f, "scenario", json_string(rec->scenario));
    if (rec->error_type != ZERR_NONE)
        json_object_set_new(f, "error_type", json_string(zen_error_type_name(rec->error_type)));
    if (error)
        json_object_set_new(f, "error", client_text(error));
    add_usage_fields(pr, f);
    zlog_emit(level, "request_completed", f);
}

void proxy_request_free_resp_headers(struct proxy_request *pr)
{
    fwdh_free_copy(pr->resp_headers, pr->n_resp_headers);
    pr->resp_headers = NULL;
    pr->n_resp_headers = 0;
}

void proxy_request_release_attempt(struct proxy_request *pr)
{
    pstate_unref(pr->pstate);
    pr->pstate = NULL;
    usage_reader_free(pr->usage_reader);
    pr->usage_reader = NULL;
    curl_slist_free_all(pr->up_headers);
    pr->up_headers = NULL;
    free(pr->url);
    pr->url = NULL;
    free(pr->body);
    pr->body = NULL;
}

static void send_reply(struct http_conn *c, const struct reply *r)
{
    switch (r->kind) {
    case REPLY_NONE:
        break;
    case REPLY_WHOLE:
        http_respond(c, r->status, r->headers, r->n_headers, r->body, r->body_len);
        break;
    case REPLY_ERROR:
        http_respond_error(c, r->status, r->type, r->message);
        break;
    case REPLY_END:
        http_response_end(c);
        break;
    case REPLY_ABORT:
        http_response_abort(c);
        break;
    }
}

/* The tokens of the served answer (docs/usage.md, "Tokens: where they come
 * from"): a translated one's from its decoder, a passthrough one's from the
 * usage reader that saw what the client got. An answer that was never
 * relayed (every attempt failed, a local answer) has none. */
static void settle_usage(struct proxy_request *pr)
{
    if (pr->state != REQ_RELAY)
        return;
    if (pr->xl.active)
        pr->usage = pr->xl.usage;
    else
        usage_reader_result(pr->usage_reader, &pr->usage);
}

/* The input of a turn for routing purposes: everything the model read,
 * cached or not; -1 when the answer did not say. */
static int64_t turn_input(const struct usage_tokens *u)
{
    if (u->input == USAGE_UNKNOWN)
        return -1;
    int64_t in = u->input;
    if (u->cache_read != USAGE_UNKNOWN && __builtin_add_overflow(in, u->cache_read, &in))
        return INT64_MAX;
    if (u->cache_write != USAGE_UNKNOWN && __builtin_add_overflow(in, u->cache_write, &in))
        return INT64_MAX;
    return in;
}

/* A served turn into the session memory (docs/routing.md, "Sessions"): its
 * provider, and the usage its answer reported, else the request's own
 * estimate. */
static void note_session(const struct proxy_request *pr)
{
    int64_t in = turn_input(&pr->usage);
    smem_note_served(pr->px->smem, pr->route.profile->name, route_session(&pr->route),
                     pr->provider->name, in >= 0 ? in : pr->input_estimate, pr->usage.output,
                     ztime_mono_ms());
}

/* The request's row in the usage ledger (docs/usage.md, "The ledger"), and
 * its cost into the budgets. Only requests that reached a profile are usage:
 * a bad path or a refused guard is not. A request no provider served was
 * billed nothing: its cost is 0, not unknown. */
static void record_usage(struct proxy_request *pr, const struct metrics_record *rec,
                         int64_t now_ms)
{
    struct proxy *px = pr->px;
    const char *profile = pr->route.profile->name;
    if (rec->provider && rec->cost_usd > 0)
        budget_add(px->budget, profile, rec->cost_usd, now_ms);
    if (!px->ledger)
        return;
    const char *session = route_session(&pr->route);
    struct ledger_row row = {
        .ts_ms = now_ms,
        .request_id = pr->req->request_id,
        .profile = profile,
        .session = session && *session ? session : NULL,
        .scenario = rec->scenario,
        .client_format = tr_format_name(pr->xl.fmt.format),
        .provider = rec->provider,
        .model_requested = model_requested(pr),
        .model_sent = rec->model,
        .status = rec->status,
        .attempts = (int)rec->n_attempts,
        .stream = client_got_stream(pr),
        .complete = rec->success && rec->error_type == ZERR_NONE,
        .tokens = pr->usage,
        .cost_usd = rec->provider ? rec->cost_usd : 0,
        .ttfb_ms = rec->ttfb_ms,
        .duration_ms = rec->duration_ms,
    };
    ledger_append(px->ledger, &row);
}

/* The record comes first because ending the response frees the http_request
 * it reads; nothing after send_reply reads pr->req. */
void proxy_request_end(struct proxy_request *pr, int status, int success, int error_type,
                       const char *error, const struct reply *reply)
{
    struct proxy *px = pr->px;
    settle_usage(pr);
    /* count_tokens is no turn of the conversation (and may be answered locally) */
    if (success && pr->provider && pr->route.profile && pr->n_candidates &&
        pr->xl.fmt.endpoint != TR_EP_COUNT_TOKENS)
        note_session(pr);
    struct metrics_attempt ma[PROXY_MAX_ATTEMPTS];
    for (size_t i = 0; i < pr->n_attempts; i++) {
        ma[i].provider = pr->attempts[i].provider->name;
        ma[i].status = pr->attempts[i].status;
        ma[i].error_type = pr->attempts[i].error_type;
        ma[i].duration_ms = pr->attempts[i].duration_ms;
    }
    double duration = proxy_request_elapsed_ms(pr->req->start_s);
    const char *served = success && pr->provider ? pr->provider->name : NULL;
    if (!served && pr->state == REQ_RELAY && pr->provider)
        served = pr->provider->name;
    struct metrics_record rec = {
        .status = status,
        .success = success,
        .provider = served,
        .duration_ms = duration,
        .ttfb_ms = pr->ttfb_ms,
        .scenario = pr->n_candidates ? zcfg_scenario_name(pr->scenario) : NULL,
        .first_pick = pr->n_candidates ? pr->cfg->providers[pr->candidates[0]].name : NULL,
        .attempts = ma,
        .n_attempts = pr->n_attempts,
        .error_type = error_type,
        .bytes_in = zbuf_len(&pr->req->body),
        .bytes_out = pr->bytes_out,
        .has_usage = served != NULL,
        .model = served && pr->model_sent[0] ? pr->model_sent : NULL,
        .tokens = pr->usage,
        .cost_usd = -1,
    };
    if (served)
        rec.cost_usd = prices_cost(pr->cfg, rec.model, model_requested(pr), &pr->usage);
    metrics_record(px->metrics, &rec);
    log_completed(pr, &rec, error);
    if (pr->route.profile)
        record_usage(pr, &rec, ztime_wall_ms());
    if (pr->transfer)
        upstream_cancel(pr->transfer);
    pr->transfer = NULL;
    send_reply(pr->conn, reply);
    pr->req = NULL;
    ev_timer_stop(px->loop, &pr->retry_timer);
    switch (pr->state) {
    case REQ_ARRIVED:
        break;
    case REQ_QUEUED:
        limiter_cancel(&px->limiter, &pr->waiter);
        metrics_set_queued(px->metrics, (int64_t)px->limiter.queued);
        break;
    case REQ_ATTEMPT:
    case REQ_RELAY:
        limiter_release(&px->limiter);
        break;
    }
    if (pr->drain == DRAIN_WAITED)
        px->drained++;
    else if (pr->drain == DRAIN_ABORTED)
        px->aborted++;
    proxy_request_release_attempt(pr);
    xlate_fini(&pr->xl);
    proxy_request_free_resp_headers(pr);
    zbuf_free(&pr->err_body);
    zcfg_unref(pr->cfg);
    zgrow_free(pr->attempts, &pr->attempt_first);
    LIST_REMOVE(pr, link);
    px->in_flight--;
    metrics_set_in_flight(px->metrics, (int64_t)px->in_flight);
    free(pr);
    if (px->in_flight == 0)
        proxy_idle(px);
    if (px->draining && px->in_flight == 0 && !ev_is_active(&px->drained_timer))
        ev_timer_start(px->loop, &px->drained_timer);
}
