/* control_methods.c -- the RPC method table: name, handler, read-only flag.
 *
 * Handlers are read-only views of daemon state except where the table says
 * otherwise; they must answer in well under a millisecond. proto/PROTOCOL.md
 * documents each with an example exchange. */
#include "control_methods.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "budget.h"
#include "common.h"
#include "control_access.h"
#include "control_front.h"
#include "daemon.h"
#include "health.h"
#include "ledger.h"
#include "log.h"
#include "logbus.h"
#include "provider_state.h"
#include "methods.h"
#include "metrics.h"
#include "proxy.h"
#include "session_memory.h"
#include "timeutil.h"

static json_t *method_hello(struct zend_daemon *d, struct control_conn *c,
                            const json_t *params, struct rpc_error *err)
{
    char started[ZTIME_RFC3339_LEN];
    ztime_format_rfc3339_ms(d->started_wall_ms, started);
    return json_pack("{s:i, s:s, s:i, s:i, s:s}", "proto", RPC_PROTO_VERSION, "version",
                     ZEN_VERSION_STRING, "pid", (int)d->pid, "supervisor_pid",
                     (int)d->supervisor_pid, "started_at", started);
}

/* status' `usage`: the ledger's state and counters (drops show here). */
static json_t *usage_status_json(struct zend_daemon *d)
{
    struct ledger_status ls = {0};
    if (d->ledger)
        ledger_status(d->ledger, &ls);
    return json_pack("{s:b, s:b, s:I, s:I, s:I, s:s?}", "enabled", d->ledger != NULL,
                     "available", d->ledger && ls.available, "written", (json_int_t)ls.written,
                     "dropped", (json_int_t)ls.dropped, "queued", (json_int_t)ls.queued, "error",
                     ls.error[0] ? ls.error : NULL);
}

static json_t *method_status(struct zend_daemon *d, struct control_conn *c,
                             const json_t *params, struct rpc_error *err)
{
    json_t *s = json_pack("{s:s, s:i, s:i, s:f, s:s, s:s, s:s, s:s, s:i, s:i}", "version",
                     ZEN_VERSION_STRING, "pid", (int)d->pid, "supervisor_pid",
                     (int)d->supervisor_pid, "uptime_s", zend_uptime_s(d), "state",
                     zend_state_name(d->state), "listen", d->listen, "config_path",
                     d->cfg->path, "config_hash", d->cfg->hash, "restarts", (int)d->restarts,
                     "in_flight", (int)proxy_in_flight(d->proxy));
    if (s)
        json_object_set_new(s, "usage", usage_status_json(d));
    return s;
}

/* A provider's state in its metrics entry: status and circuit (the live
 * views), and the Prometheus gauges' up, disabled and cooldown_s. */
static void set_provider_state(json_t *entry, const struct provider_state *s,
                               const struct zcfg *cfg, int64_t now_wall_s, int64_t now_mono)
{
    struct pstate_report r;
    pstate_report(s, cfg, now_wall_s, now_mono, &r);
    json_object_set_new(entry, "status", json_string(pstatus_name(r.status)));
    json_object_set_new(entry, "circuit", json_string(pstate_circuit_name(r.circuit)));
    json_object_set_new(entry, "up", json_boolean(pstatus_up(r.status)));
    json_object_set_new(entry, "disabled", json_boolean(r.disabled));
    json_object_set_new(entry, "cooldown_s", json_real((double)r.cooldown_remaining_ms / 1000.0));
}

/* The `metrics` RPC result, also pushed to metrics.subscribe subscribers:
 * the counters of proto/PROTOCOL.md `metrics`, plus uptime and restarts so a
 * reader knows what the counters cover (they reset when a worker restarts). */
static json_t *metrics_view(struct zend_daemon *d)
{
    metrics_sample_resources(d->metrics);
    double spend[BUDGET_N_PERIODS];
    budget_spend_now(proxy_budget(d->proxy), ztime_wall_ms(), spend);
    metrics_set_budget_spend(d->metrics, spend);
    json_t *m = metrics_to_json(d->metrics);
    if (m) {
        json_object_set_new(m, "version", json_string(ZEN_VERSION_STRING));
        json_object_set_new(m, "uptime_s", json_real(zend_uptime_s(d)));
        json_object_set_new(m, "restarts", json_integer(d->restarts));
        json_object_set_new(m, "max_concurrent", json_integer(d->cfg->daemon.max_concurrent));
        /* Live views (zenctl metrics --watch) and Prometheus get each
         * configured provider's state with its numbers, without polling
         * health as well; one with no attempt yet gets an entry of its own. */
        int64_t now_mono = ztime_mono_ms(), now_wall_s = ztime_wall_ms() / 1000;
        json_t *providers = json_object_get(m, "providers");
        for (size_t i = 0; providers && i < d->cfg->n_providers; i++) {
            const char *name = d->cfg->providers[i].name;
            struct provider_state *s = pstates_get(proxy_provider_states(d->proxy), name);
            json_t *entry = json_object_get(providers, name);
            if (!s)
                continue;
            if (!entry) {
                entry = json_object();
                if (json_object_set_new(providers, name, entry) != 0)
                    continue;
            }
            set_provider_state(entry, s, d->cfg, now_wall_s, now_mono);
        }
    }
    return m;
}

static json_t *metrics_tick(void *ctx) { return metrics_view(ctx); }

static json_t *method_metrics(struct zend_daemon *d, struct control_conn *c,
                              const json_t *params, struct rpc_error *err)
{
    return metrics_view(d);
}

static json_t *bad_params(struct rpc_error *err, const char *msg)
{
    err->code = RPC_ERR_BAD_PARAMS;
    snprintf(err->message, sizeof(err->message), "%s", msg);
    return NULL;
}

/* params: {interval_ms >= 100}. Answers {} then pushes ["metrics", [map]]. */
static json_t *method_metrics_subscribe(struct zend_daemon *d, struct control_conn *c,
                                        const json_t *params, struct rpc_error *err)
{
    const json_t *v = json_object_get(params, "interval_ms");
    json_int_t ms = 1000;
    if (v) {
        if (!json_is_integer(v) || json_integer_value(v) < CONTROL_MIN_METRICS_INTERVAL_MS)
            return bad_params(err, "interval_ms must be an integer >= 100");
        ms = json_integer_value(v);
    }
    control_conn_subscribe_ticks(c, RPC_NOTIFY_METRICS, (double)ms / 1000.0, metrics_tick, d);
    return json_object();
}

/* params: {backlog: N, level?, events?: [..], follow: bool}. */
static json_t *method_logs_subscribe(struct zend_daemon *d, struct control_conn *c,
                                     const json_t *params, struct rpc_error *err)
{
    const json_t *backlog = json_object_get(params, "backlog");
    const json_t *level = json_object_get(params, "level");
    const json_t *events = json_object_get(params, "events");
    const json_t *follow = json_object_get(params, "follow");
    struct log_filter f = {ZLOG_DEBUG, NULL};
    if (backlog && (!json_is_integer(backlog) || json_integer_value(backlog) < 0))
        return bad_params(err, "backlog must be a non-negative integer");
    if (level && (!json_is_string(level) ||
                  zlog_level_parse(json_string_value(level), &f.min_level) != ZEN_OK))
        return bad_params(err, "level must be debug, info, warn or error");
    if (events) {
        size_t i;
        json_t *e;
        if (!json_is_array(events))
            return bad_params(err, "events must be an array of event names");
        json_array_foreach(events, i, e)
            if (!json_is_string(e))
                return bad_params(err, "events must be an array of event names");
        f.events = events;
    }
    if (follow && !json_is_boolean(follow))
        return bad_params(err, "follow must be true or false");
    size_t want = backlog ? (size_t)json_integer_value(backlog) : 0;
    if (want > CONTROL_LOG_QUEUE)
        want = CONTROL_LOG_QUEUE;
    json_t *records[CONTROL_LOG_QUEUE];
    size_t n = d->logbus ? logbus_backlog(d->logbus, &f, records, want) : 0;
    control_conn_subscribe_logs(c, records, n, &f, json_is_true(follow));
    return json_object();
}

static json_t *method_logs_unsubscribe(struct zend_daemon *d, struct control_conn *c,
                                       const json_t *params, struct rpc_error *err)
{
    control_conn_unsubscribe_logs(c);
    return json_object();
}

/* params: {drain_timeout_ms?}. The caller's connection stays open and gets
 * shutdown.done right before zend exits. */
static json_t *method_shutdown(struct zend_daemon *d, struct control_conn *c,
                               const json_t *params, struct rpc_error *err)
{
    json_int_t drain_ms = -1;
    const json_t *v = json_object_get(params, "drain_timeout_ms");
    if (v) {
        if (!json_is_integer(v) || json_integer_value(v) < 0) {
            err->code = RPC_ERR_BAD_PARAMS;
            snprintf(err->message, sizeof(err->message),
                     "drain_timeout_ms must be a non-negative integer");
            return NULL;
        }
        drain_ms = json_integer_value(v);
    }
    control_conn_want_shutdown_done(c);
    zend_begin_shutdown(d, "rpc", drain_ms);
    return json_pack("{s:b, s:i, s:i, s:I}", "draining", 1, "in_flight",
                     (int)proxy_in_flight(d->proxy), "pid",
                     (int)d->supervisor_pid, "drain_timeout_ms",
                     (json_int_t)d->drain_timeout_ms);
}

static json_t *method_health(struct zend_daemon *d, struct control_conn *c,
                             const json_t *params, struct rpc_error *err)
{
    struct health_inputs in;
    zend_health_inputs(d, &in);
    return health_json(&in);
}

json_t *control_methods_health(void *ctx)
{
    struct health_inputs in;
    zend_health_inputs(ctx, &in);
    return health_json(&in);
}

static json_t *method_providers(struct zend_daemon *d, struct control_conn *c,
                                const json_t *params, struct rpc_error *err)
{
    struct health_inputs in;
    zend_health_inputs(d, &in);
    return providers_json(&in);
}

struct sessions_sink {
    json_t *list;
    int64_t now_ms;
};

static void session_json(void *ud, const struct smem_entry *e)
{
    struct sessions_sink *sink = ud;
    json_t *o = json_pack("{s:s, s:s, s:I, s:s, s:s?, s:I, s:I, s:f}", "profile", e->profile,
                          "session", e->session, "requests", (json_int_t)e->requests,
                          "scenario", zcfg_scenario_name(e->last_scenario), "provider",
                          e->last_provider, "input_tokens", (json_int_t)e->input_tokens,
                          "output_tokens", (json_int_t)e->output_tokens, "idle_s",
                          (double)(sink->now_ms - e->last_seen_ms) / 1000.0);
    if (o)
        json_array_append_new(sink->list, o);
}

/* The session memory (docs/routing.md), most recently seen first. */
static json_t *method_sessions(struct zend_daemon *d, struct control_conn *c,
                               const json_t *params, struct rpc_error *err)
{
    struct sessions_sink sink = {json_array(), ztime_mono_ms()};
    smem_each(proxy_session_memory(d->proxy), sink.now_ms, session_json, &sink);
    return json_pack("{s:o}", "sessions", sink.list);
}

/* ---- usage.query / usage.repair: answered later, from the ledger's thread ---- */

static json_t *usage_off(struct zend_daemon *d, struct rpc_error *err)
{
    err->code = RPC_ERR_UNAVAILABLE;
    snprintf(err->message, sizeof(err->message),
             "the usage ledger is off (daemon.usage.enabled is false)");
    return NULL;
}

static json_t *defer_failed(struct rpc_error *err)
{
    err->code = RPC_ERR_INTERNAL;
    snprintf(err->message, sizeof(err->message), "out of memory");
    return NULL;
}

static void usage_query_done(void *ud, json_t *result, const char *message)
{
    struct rpc_error e = {RPC_ERR_UNAVAILABLE, ""};
    if (!result)
        snprintf(e.message, sizeof(e.message), "%s", message);
    control_reply_send(ud, result, &e);
}

/* An optional instant: a non-negative integer of ms since the epoch, or null. */
static int ms_param(const json_t *params, const char *name, int64_t *out, struct rpc_error *err)
{
    const json_t *v = json_object_get(params, name);
    *out = 0;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < 0) {
        err->code = RPC_ERR_BAD_PARAMS;
        snprintf(err->message, sizeof(err->message),
                 "%s must be milliseconds since the epoch (an integer >= 0) or null", name);
        return -1;
    }
    *out = json_integer_value(v);
    return 0;
}

static int text_param(const json_t *params, const char *name, const char **out,
                      struct rpc_error *err)
{
    const json_t *v = json_object_get(params, name);
    *out = NULL;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v)) {
        err->code = RPC_ERR_BAD_PARAMS;
        snprintf(err->message, sizeof(err->message), "%s must be a string or null", name);
        return -1;
    }
    *out = json_string_value(v);
    return 0;
}

/* params: {since_ms?, until_ms?, by? (default "day"), profile?, provider?}. */
static json_t *method_usage_query(struct zend_daemon *d, struct control_conn *c,
                                  const json_t *params, struct rpc_error *err)
{
    struct ledger_query q = {.by = LEDGER_BY_DAY};
    const char *by;
    if (ms_param(params, "since_ms", &q.since_ms, err) ||
        ms_param(params, "until_ms", &q.until_ms, err) || text_param(params, "by", &by, err) ||
        text_param(params, "profile", &q.profile, err) ||
        text_param(params, "provider", &q.provider, err))
        return NULL;
    if (by) {
        int g = ledger_group_parse(by);
        if (g < 0)
            return bad_params(err, "by must be day, hour, provider, model, profile, session or "
                                   "scenario");
        q.by = (enum ledger_group)g;
    }
    if (q.since_ms && q.until_ms && q.until_ms <= q.since_ms)
        return bad_params(err, "until_ms must be later than since_ms");
    if (!d->ledger)
        return usage_off(d, err);
    struct control_reply *r = control_reply_defer(c);
    if (!r)
        return defer_failed(err);
    ledger_query(d->ledger, &q, usage_query_done, r);
    return NULL;
}

struct usage_repair_call {
    struct control_reply *reply;
    struct ledger *ledger;
};

static void usage_repair_done(void *ud, const char *renamed_to, const char *message)
{
    struct usage_repair_call *call = ud;
    struct ledger_status ls;
    ledger_status(call->ledger, &ls);
    control_reply_send(call->reply,
                       json_pack("{s:s?, s:b, s:s}", "renamed_to", renamed_to, "available",
                                 ls.available, "message", message),
                       NULL);
    free(call);
}

/* Renames a corrupt usage.db aside and opens a new one (ledger_repair). */
static json_t *method_usage_repair(struct zend_daemon *d, struct control_conn *c,
                                   const json_t *params, struct rpc_error *err)
{
    if (!d->ledger)
        return usage_off(d, err);
    struct usage_repair_call *call = malloc(sizeof(*call));
    if (!call || !(call->reply = control_reply_defer(c))) {
        free(call);
        return defer_failed(err);
    }
    call->ledger = d->ledger;
    ledger_repair(d->ledger, usage_repair_done, call);
    return NULL;
}

/* Each configured budget limit with its spend (docs/usage.md, "Budgets"):
 * answered from memory, so it works with the ledger off too. */
static json_t *method_usage_budget(struct zend_daemon *d, struct control_conn *c,
                                   const json_t *params, struct rpc_error *err)
{
    json_t *limits = budget_report(proxy_budget(d->proxy), d->cfg, ztime_wall_ms());
    return json_pack("{s:b, s:o}", "per_project", d->cfg->budgets.per_project, "limits",
                     limits ? limits : json_array());
}

/* The config in force (the last one loaded, reloads included), key by key
 * with each value's source (zcfg_effective), and where the state directory
 * and zen.json came from (flag, environment, default). */
static json_t *method_config_get(struct zend_daemon *d, struct control_conn *c,
                                 const json_t *params, struct rpc_error *err)
{
    char loaded[ZTIME_RFC3339_LEN];
    ztime_format_rfc3339_ms(d->config_loaded_wall_ms, loaded);
    return json_pack("{s:{s:s, s:s}, s:{s:s, s:s, s:s, s:s}, s:o}", "home", "path",
                     d->paths.home, "source",
                     d->paths.home_source ? d->paths.home_source : "default", "file", "path",
                     d->cfg->path, "source",
                     d->paths.config_source ? d->paths.config_source : "default", "hash",
                     d->cfg->hash, "loaded_at", loaded, "values", zcfg_effective(d->cfg));
}

/* params: {name, for_s?}. Runtime only: zen.json is never written. */
static json_t *set_provider_disabled(struct zend_daemon *d, const json_t *params,
                                     struct rpc_error *err, int disable)
{
    const char *name = json_string_value(json_object_get(params, "name"));
    const json_t *for_s = json_object_get(params, "for_s");
    if (!name)
        return bad_params(err, "name (a provider name) is required");
    if (for_s && (!json_is_number(for_s) || !isfinite(json_number_value(for_s)) ||
                  !(json_number_value(for_s) > 0) ||
                  json_number_value(for_s) > RPC_DISABLE_MAX_S)) {
        err->code = RPC_ERR_BAD_PARAMS;
        snprintf(err->message, sizeof(err->message),
                 "for_s must be a number of seconds, more than 0 and at most %.0f (10 years)",
                 RPC_DISABLE_MAX_S);
        return NULL;
    }
    struct provider_state *s = pstates_get(proxy_provider_states(d->proxy), name);
    if (!s) {
        snprintf(err->message, sizeof(err->message), "no provider named \"%s\"", name);
        err->code = RPC_ERR_BAD_PARAMS;
        return NULL;
    }
    if (disable) {
        /* At least 1 ms: 0 would mean "until enabled". */
        int64_t for_ms = for_s ? (int64_t)(json_number_value(for_s) * 1000.0) : 0;
        if (for_s && for_ms < 1)
            for_ms = 1;
        pstate_disable(s, for_ms);
    }
    else
        pstate_enable(s);
    zlog_pack(ZLOG_INFO, disable ? "provider_disabled" : "provider_enabled", "{s:s, s:f}",
              "provider", name, "for_s", for_s ? json_number_value(for_s) : 0.0);
    json_t *r = json_pack("{s:s, s:b}", "name", name, "disabled", disable);
    if (disable && for_s)
        json_object_set_new(r, "until_s", json_real(json_number_value(for_s)));
    return r;
}

static json_t *method_provider_disable(struct zend_daemon *d, struct control_conn *c,
                                       const json_t *params, struct rpc_error *err)
{
    return set_provider_disabled(d, params, err, 1);
}

static json_t *method_provider_enable(struct zend_daemon *d, struct control_conn *c,
                                      const json_t *params, struct rpc_error *err)
{
    return set_provider_disabled(d, params, err, 0);
}

static json_t *method_reload(struct zend_daemon *d, struct control_conn *c,
                             const json_t *params, struct rpc_error *err)
{
    json_t *summary = NULL;
    char msg[ZEN_ERRLEN];
    if (zend_reload(d, "rpc", &summary, msg, sizeof(msg)) != ZEN_OK) {
        err->code = RPC_ERR_CONFIG;
        snprintf(err->message, sizeof(err->message), "%s", msg);
        return NULL;
    }
    return summary;
}

/* A method handler returns the result map, or NULL with err filled in. */
typedef json_t *(*method_fn)(struct zend_daemon *d, struct control_conn *c,
                             const json_t *params, struct rpc_error *err);

struct control_method {
    const char *name;
    method_fn handler;
    int read_only; /* read-only methods still answer while zend drains */
    int monitor;   /* allowed on the read-only socket (daemon.control_readers): state and
                      numbers, never logs (they name paths, hosts and clients) */
};

static const struct control_method methods[] = {
    {RPC_HELLO, method_hello, 1, 1},
    {RPC_STATUS, method_status, 1, 1},
    {RPC_METRICS, method_metrics, 1, 1},
    {RPC_METRICS_SUBSCRIBE, method_metrics_subscribe, 1, 1},
    {RPC_LOGS_SUBSCRIBE, method_logs_subscribe, 1, 0},
    {RPC_LOGS_UNSUBSCRIBE, method_logs_unsubscribe, 1, 0},
    {RPC_HEALTH, method_health, 1, 1},
    {RPC_PROVIDERS, method_providers, 1, 1},
    {RPC_SESSIONS, method_sessions, 1, 0},
    {RPC_USAGE_QUERY, method_usage_query, 1, 1},
    {RPC_USAGE_BUDGET, method_usage_budget, 1, 1},
    {RPC_USAGE_REPAIR, method_usage_repair, 0, 0},
    /* zen.json without its secrets still names hosts, paths, users and
     * groups: for zend's own user, not for the read-only socket's readers. */
    {RPC_CONFIG_GET, method_config_get, 1, 0},
    {RPC_PROVIDER_DISABLE, method_provider_disable, 0, 0},
    {RPC_PROVIDER_ENABLE, method_provider_enable, 0, 0},
    {RPC_RELOAD, method_reload, 0, 0},
    {RPC_SHUTDOWN, method_shutdown, 0, 0},
};

static const struct control_method *find_method(const char *name)
{
    for (size_t i = 0; i < ZEN_ARRAY_LEN(methods); i++)
        if (strcmp(methods[i].name, name) == 0)
            return &methods[i];
    return NULL;
}

static int printable(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
            return 0;
    return 1;
}

json_t *control_methods_dispatch(void *ctx, struct control_conn *c, const char *name,
                                 const json_t *params, struct rpc_error *err)
{
    struct zend_daemon *d = ctx;
    const struct control_method *method = find_method(name);
    if (!method) {
        err->code = RPC_ERR_UNKNOWN_METHOD;
        snprintf(err->message, sizeof(err->message), "unknown method \"%s\"",
                 printable(name) ? name : "?");
        return NULL;
    }
    if (!method->monitor && control_conn_read_only(c)) {
        err->code = RPC_ERR_PERMISSION;
        snprintf(err->message, sizeof(err->message),
                 "permission denied: %s is not a method of the read-only socket", method->name);
        return NULL;
    }
    /* Policy, not transport: a draining zend still answers questions but
     * takes no new orders. */
    if (!method->read_only && d->state == ZEND_DRAINING) {
        err->code = RPC_ERR_SHUTTING_DOWN;
        snprintf(err->message, sizeof(err->message), "zend is shutting down");
        return NULL;
    }
    json_t *result = method->handler(d, c, params, err);
    if (!method->read_only)
        control_front_publish(d->control_front);
    return result;
}

int control_methods_reader_allowed(void *ctx, uid_t uid, gid_t gid)
{
    const struct zend_daemon *d = ctx;
    const struct zcfg_daemon *dc = &d->cfg->daemon;
    return control_access_is_reader(dc->control_readers, dc->n_control_readers, uid, gid,
                                    &control_ids_system);
}
