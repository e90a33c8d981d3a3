#include "daemon.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "budget.h"
#include "common.h"
#include "control.h"
#include "health.h"
#include "lastgood.h"
#include "ledger.h"
#include "log.h"
#include "log_events.h"
#include "metrics.h"
#include "provider_state.h"
#include "proxy.h"
#include "timeutil.h"
#include "worker_notify.h"

const char *zend_state_name(enum zend_state s)
{
    switch (s) {
    case ZEND_STARTING: return "starting";
    case ZEND_RUNNING: return "running";
    case ZEND_DRAINING: return "draining";
    }
    return "unknown";
}

double zend_uptime_s(const struct zend_daemon *d)
{
    return (double)(ztime_mono_ms() - d->started_mono_ms) / 1000.0;
}

/* Runs once nothing is left in flight. */
static void shutdown_finish_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct zend_daemon *d = w->data;
    double uptime = zend_uptime_s(d);
    zlog_pack(ZLOG_INFO, "daemon_shutdown", "{s:f, s:s, s:i, s:i, s:i}", "uptime_s", uptime,
              "reason", d->shutdown_reason, "drained", (int)d->drained, "aborted",
              (int)d->aborted, "pid", (int)d->pid);
    json_t *summary = json_pack("{s:i, s:i, s:f}", "drained", (int)d->drained, "aborted",
                                (int)d->aborted, "uptime_s", uptime);
    control_notify_shutdown_done(d->control, summary);
    json_decref(summary);
    ev_break(loop, EVBREAK_ALL);
}

void zend_notify_supervisor(struct zend_daemon *d, char what)
{
    if (d->notify_fd >= 0)
        (void)!write(d->notify_fd, &what, 1);
}

static void drained_cb(void *ctx, unsigned drained, unsigned aborted)
{
    struct zend_daemon *d = ctx;
    d->drained = drained;
    d->aborted = aborted;
    /* Finish from the loop, not from inside the caller: an RPC handler's
     * answer must be queued before the shutdown.done that follows it. */
    ev_timer_init(&d->shutdown_timer, shutdown_finish_cb, 0., 0.);
    d->shutdown_timer.data = d;
    ev_timer_start(d->loop, &d->shutdown_timer);
}

void zend_begin_shutdown(struct zend_daemon *d, const char *reason, int64_t drain_timeout_ms)
{
    if (d->state == ZEND_DRAINING)
        return;
    d->state = ZEND_DRAINING;
    d->shutdown_reason = reason;
    d->drain_timeout_ms = drain_timeout_ms >= 0 ? drain_timeout_ms
                                                : d->cfg->daemon.drain_timeout_ms;
    zlog_pack(ZLOG_INFO, "daemon_draining", "{s:s, s:I, s:i}", "reason", reason,
              "drain_timeout_ms", (json_int_t)d->drain_timeout_ms, "in_flight",
              (int)proxy_in_flight(d->proxy));
    /* When zend ends, new connections are refused from now on, not left in
     * the backlog: the supervisor closes its copy of the socket when told,
     * we close ours. The shutdown RPC ends zend; a signal that reached this
     * worker alone (not forwarded by the supervisor) only gets it replaced,
     * and the supervisor keeps the sockets for the next worker. */
    if (strcmp(reason, "rpc") == 0)
        zend_notify_supervisor(d, WORKER_NOTIFY_SHUTDOWN);
    zend_notify_supervisor(d, WORKER_NOTIFY_DRAINING);
    proxy_stop_accepting(d->proxy);
    if (d->listen_fd >= 0) {
        close(d->listen_fd);
        d->listen_fd = -1;
    }
    ev_stat_stop(d->loop, &d->config_watch);
    ev_timer_stop(d->loop, &d->reload_debounce);
    proxy_drain(d->proxy, (double)d->drain_timeout_ms / 1000.0, drained_cb, d);
}

/* ---- reload (README "Running it for real"; docs/operations.md) ---- */

static int same_string(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static int provider_changed(const struct zcfg_provider *a, const struct zcfg_provider *b)
{
    return !same_string(a->base_url, b->base_url) ||
           strcmp(a->token_fingerprint, b->token_fingerprint) != 0 ||
           a->auth_header != b->auth_header || a->type != b->type ||
           !same_string(a->proxy_url, b->proxy_url) || !same_string(a->ca_file, b->ca_file) ||
           !same_string(a->model, b->model) || !same_string(a->sonnet_model, b->sonnet_model) ||
           !same_string(a->opus_model, b->opus_model) ||
           !same_string(a->haiku_model, b->haiku_model) ||
           !same_string(a->reasoning_model, b->reasoning_model) ||
           a->n_env_headers != b->n_env_headers;
}

static json_t *provider_diff(const struct zcfg *old, const struct zcfg *new, json_t **removed,
                             json_t **changed)
{
    json_t *added = json_array();
    *removed = json_array();
    *changed = json_array();
    for (size_t i = 0; i < new->n_providers; i++) {
        const struct zcfg_provider *was = zcfg_find_provider(old, new->providers[i].name);
        if (!was)
            json_array_append_new(added, json_string(new->providers[i].name));
        else if (provider_changed(was, &new->providers[i]))
            json_array_append_new(*changed, json_string(new->providers[i].name));
    }
    for (size_t i = 0; i < old->n_providers; i++)
        if (!zcfg_find_provider(new, old->providers[i].name))
            json_array_append_new(*removed, json_string(old->providers[i].name));
    return added;
}

/* Settings read once at start: a reload reports them instead of applying. */
static json_t *restart_required(const struct zcfg *old, const struct zcfg *new)
{
    const struct zcfg_daemon *a = &old->daemon, *b = &new->daemon;
    json_t *keys = json_array();
    if (strcmp(a->listen_host, b->listen_host) != 0 || a->listen_port != b->listen_port)
        json_array_append_new(keys, json_string("listen"));
    if (strcmp(a->log_file, b->log_file) != 0 || a->log_max_bytes != b->log_max_bytes ||
        a->log_keep != b->log_keep)
        json_array_append_new(keys, json_string("log_file"));
    if (a->log_ring != b->log_ring)
        json_array_append_new(keys, json_string("log_ring"));
    if (!a->control_read_socket != !b->control_read_socket ||
        (a->control_read_socket && strcmp(a->control_read_socket, b->control_read_socket) != 0))
        json_array_append_new(keys, json_string("control_read_socket"));
    if (a->restart_max != b->restart_max || a->restart_window_s != b->restart_window_s ||
        a->restart_backoff_initial_ms != b->restart_backoff_initial_ms ||
        a->restart_backoff_max_ms != b->restart_backoff_max_ms)
        json_array_append_new(keys, json_string("restart"));
    return keys;
}

/* What identifies a ZLOG_EV_ONCE note: its event and fields, keys sorted. */
static char *note_key(const json_t *note)
{
    json_t *id = json_pack("{s:O?, s:O?}", "event", json_object_get(note, "event"), "fields",
                           json_object_get(note, "fields"));
    char *key = id ? json_dumps(id, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(id);
    return key;
}

void zend_log_config_notes(struct zend_daemon *d, const struct zcfg *cfg)
{
    /* The once-notes of this config; those the last config had too were
     * logged then. A note that went away and comes back is logged again. */
    json_t *once = json_object();
    size_t i;
    json_t *n;
    json_array_foreach(cfg->notes, i, n) {
        const char *event = json_string_value(json_object_get(n, "event"));
        if (zlog_event_once(event)) {
            char *key = note_key(n);
            int seen = key && json_object_get(d->notes_logged, key);
            if (key && once)
                json_object_set_new(once, key, json_true());
            free(key);
            if (seen)
                continue;
        }
        int level = ZLOG_INFO;
        zlog_level_parse(json_string_value(json_object_get(n, "level")), &level);
        zlog_emit(level, event, json_incref(json_object_get(n, "fields")));
    }
    json_decref(d->notes_logged);
    d->notes_logged = once;
}

/* What a config changes at run time: health checking, log levels. */
static void apply_runtime_config(struct zend_daemon *d)
{
    const struct zcfg_health_check *hc = &d->cfg->health_check;
    pstates_health_check(proxy_provider_states(d->proxy), hc->enabled,
                         (double)hc->interval_secs, (double)hc->timeout_secs);
}

/* The ledger's spend of the current periods, from before this process:
 * the budgets' starting point (docs/usage.md, "Budgets"). Runs on the loop,
 * possibly from ledger_close after the proxy is gone. */
static void spend_loaded(void *ud, const int64_t since_ms[3], const struct ledger_spend *rows,
                         size_t n)
{
    struct zend_daemon *d = ud;
    if (!d->proxy)
        return;
    for (size_t i = 0; i < n; i++)
        budget_set_base(proxy_budget(d->proxy), since_ms, rows[i].profile, rows[i].cost_usd);
}

void zend_apply_usage_config(struct zend_daemon *d)
{
    const struct zcfg_daemon *dc = &d->cfg->daemon;
    if (!dc->usage_enabled) {
        if (d->proxy)
            proxy_set_ledger(d->proxy, NULL);
        ledger_close(d->ledger); /* flushes what is queued */
        d->ledger = NULL;
        return;
    }
    if (d->ledger) {
        ledger_set_retention(d->ledger, dc->usage_retention_days);
        return;
    }
    char path[PATH_MAX], err[ZEN_ERRLEN];
    if (zpaths_join(path, sizeof(path), d->paths.home, LEDGER_FILE) != ZEN_OK) {
        zlog_pack(ZLOG_ERROR, "usage_store_failed", "{s:s}", "detail", "ZEN_HOME path too long");
        return;
    }
    struct ledger_options o = {.path = path, .retention_days = dc->usage_retention_days};
    d->ledger = ledger_open(d->loop, &o, err, sizeof(err));
    if (!d->ledger) {
        zlog_pack(ZLOG_ERROR, "usage_store_failed", "{s:s, s:s}", "path", path, "detail", err);
        return;
    }
    if (d->proxy)
        proxy_set_ledger(d->proxy, d->ledger);
    /* Once per process: a ledger reopened by a reload holds this process's
     * own rows, which the tracker has counted already. */
    if (!d->spend_loaded && d->proxy) {
        int64_t now = ztime_wall_ms(), since[BUDGET_N_PERIODS];
        for (int p = 0; p < BUDGET_N_PERIODS; p++)
            since[p] = budget_period_start((enum budget_period)p, now);
        ledger_load_spend(d->ledger, since, spend_loaded, d);
        d->spend_loaded = 1;
    }
}

void zend_save_last_good(struct zend_daemon *d)
{
    char err[ZEN_ERRLEN];
    if (lastgood_save(d->paths.home, d->paths.config, d->cfg->hash, err, sizeof(err)) != ZEN_OK)
        zlog_pack(ZLOG_WARN, "config_last_good_unsaved", "{s:s}", "detail", err);
}

int zend_reload(struct zend_daemon *d, const char *source, json_t **summary, char *err,
                size_t errlen)
{
    struct zcfg *new = zcfg_load_file(d->paths.config, err, errlen);
    if (!new) {
        zlog_pack(ZLOG_ERROR, "config_reload_failed", "{s:s, s:s}", "source", source, "detail",
                  err);
        snprintf(d->config_error, sizeof(d->config_error), "%s", err);
        return ZEN_ERR;
    }
    if (d->config_error[0]) {
        d->config_error[0] = '\0';
        zlog_pack(ZLOG_INFO, "config_recovered", "{s:s, s:s}", "source", source, "config_hash",
                  new->hash);
    }
    if (strcmp(new->hash, d->cfg->hash) == 0) {
        /* Touched, saved without changes, or a HUP out of habit: nothing to
         * switch, and nothing worth an info record. */
        zlog_pack(ZLOG_DEBUG, "config_unchanged", "{s:s, s:s}", "source", source, "config_hash",
                  new->hash);
        if (summary)
            *summary = json_pack("{s:s, s:b, s:[], s:[], s:[], s:[]}", "config_hash", new->hash,
                                 "unchanged", 1, "added", "removed", "changed",
                                 "restart_required");
        zcfg_unref(new);
        return ZEN_OK;
    }
    struct zcfg *old = d->cfg;
    json_t *removed, *changed;
    json_t *added = provider_diff(old, new, &removed, &changed);
    json_t *restart = restart_required(old, new);
    /* The listen address stays as bound; everything else switches now. */
    if (json_array_size(restart))
        zlog_pack(ZLOG_WARN, "config_restart_required", "{s:O}", "keys", restart);
    d->cfg = new;
    d->config_loaded_wall_ms = ztime_wall_ms();
    zend_save_last_good(d);
    proxy_set_config(d->proxy, new);
    zlog_set_level(new->daemon.log_level);
    apply_runtime_config(d);
    zend_apply_usage_config(d);
    zend_log_config_notes(d, new);
    zlog_pack(ZLOG_INFO, "config_reloaded", "{s:s, s:s, s:O, s:O, s:O, s:O}", "source", source,
              "config_hash", new->hash, "added", added, "removed", removed, "changed", changed,
              "restart_required", restart);
    if (summary)
        *summary = json_pack("{s:s, s:b, s:o, s:o, s:o, s:o}", "config_hash", new->hash,
                             "unchanged", 0, "added", added, "removed", removed, "changed",
                             changed, "restart_required", restart);
    else {
        json_decref(added);
        json_decref(removed);
        json_decref(changed);
        json_decref(restart);
    }
    zcfg_unref(old);
    return ZEN_OK;
}

static void reload_debounce_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct zend_daemon *d = w->data;
    char err[ZEN_ERRLEN];
    zend_reload(d, "watch", NULL, err, sizeof(err));
}

static void config_watch_cb(struct ev_loop *loop, ev_stat *w, int revents)
{
    struct zend_daemon *d = w->data;
    ev_timer_stop(loop, &d->reload_debounce);
    ev_timer_set(&d->reload_debounce, ZEND_RELOAD_DEBOUNCE_S, 0.);
    ev_timer_start(loop, &d->reload_debounce);
}

static void signal_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
    struct zend_daemon *d = w->data;
    if (w->signum == SIGUSR1) {
        struct health_inputs in;
        zend_health_inputs(d, &in);
        monitor_state_dump(&in, zend_state_name(d->state));
        return;
    }
    if (w->signum == SIGHUP) {
        char err[ZEN_ERRLEN];
        zend_reload(d, "signal", NULL, err, sizeof(err));
        return;
    }
    zend_begin_shutdown(d, "signal", -1);
}

void zend_health_inputs(const struct zend_daemon *d, struct health_inputs *in)
{
    *in = (struct health_inputs){
        .cfg = d->cfg,
        .proxy = d->proxy,
        .metrics = d->metrics,
        .config_path = d->paths.config,
        .config_error = d->config_error,
        .config_loaded_wall_ms = d->config_loaded_wall_ms,
        .draining = d->state == ZEND_DRAINING,
        .uptime_s = zend_uptime_s(d),
        .pid = (int)d->pid,
        .supervisor_pid = (int)d->supervisor_pid,
        .restarts = d->restarts,
        .ledger = d->ledger,
    };
}

void zend_monitor_inputs(const struct zend_daemon *d, struct monitor_inputs *in)
{
    *in = (struct monitor_inputs){.dc = &d->cfg->daemon, .proxy = d->proxy,
                                  .metrics = d->metrics};
}

static void sample_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct zend_daemon *d = w->data;
    metrics_sample_resources(d->metrics);
}

static void resource_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct zend_daemon *d = w->data;
    struct monitor_inputs in;
    zend_monitor_inputs(d, &in);
    monitor_sample(&d->monitor, &in);
}

int zend_worker_run(struct zend_daemon *d)
{
    struct ev_loop *loop = d->loop;
    ev_signal *sigs[] = {&d->sig_term, &d->sig_int, &d->sig_hup, &d->sig_usr1};
    int signums[] = {SIGTERM, SIGINT, SIGHUP, SIGUSR1};
    for (size_t i = 0; i < ZEN_ARRAY_LEN(sigs); i++) {
        ev_signal_init(sigs[i], signal_cb, signums[i]);
        sigs[i]->data = d;
        ev_signal_start(loop, sigs[i]);
    }
    proxy_start(d->proxy);
    apply_runtime_config(d);
    ev_stat_init(&d->config_watch, config_watch_cb, d->paths.config, 0.);
    d->config_watch.data = d;
    ev_stat_start(loop, &d->config_watch);
    ev_timer_init(&d->reload_debounce, reload_debounce_cb, ZEND_RELOAD_DEBOUNCE_S, 0.);
    d->reload_debounce.data = d;
    double sample_s = ZEND_RESOURCE_SAMPLE_S;
    const char *test_ms = getenv(MONITOR_TEST_INTERVAL_ENV);
    if (test_ms && atof(test_ms) > 0)
        sample_s = atof(test_ms) / 1000.0;
    ev_timer_init(&d->resource_timer, resource_cb, sample_s, sample_s);
    d->resource_timer.data = d;
    ev_timer_start(loop, &d->resource_timer);
    ev_timer_init(&d->sample_timer, sample_cb, ZEND_SAMPLE_S, ZEND_SAMPLE_S);
    d->sample_timer.data = d;
    ev_timer_start(loop, &d->sample_timer);
    metrics_sample_resources(d->metrics);
    d->state = ZEND_RUNNING;
    zend_notify_supervisor(d, WORKER_NOTIFY_READY);
    zlog_pack(ZLOG_INFO, "daemon_started", "{s:i, s:i, s:s, s:s, s:s, s:s}", "pid",
              (int)d->pid, "supervisor_pid", (int)d->supervisor_pid, "version",
              ZEN_VERSION_STRING, "listen", d->listen, "config_path", d->cfg->path,
              "config_hash", d->cfg->hash);
    ev_run(loop, 0);
    for (size_t i = 0; i < ZEN_ARRAY_LEN(sigs); i++)
        ev_signal_stop(loop, sigs[i]);
    ev_timer_stop(loop, &d->shutdown_timer);
    ev_timer_stop(loop, &d->resource_timer);
    ev_timer_stop(loop, &d->sample_timer);
    ev_stat_stop(loop, &d->config_watch);
    ev_timer_stop(loop, &d->reload_debounce);
    return ZEN_EXIT_OK;
}
