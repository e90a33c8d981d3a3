#include "daemon.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "common.h"
#include "control.h"
#include "log.h"
#include "metrics.h"
#include "proxy.h"
#include "timeutil.h"

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

/* Runs once nothing is left in flight (today: at once; the drain of
 * in-flight requests plugs in here with the proxy). */
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

void zend_begin_shutdown(struct zend_daemon *d, const char *reason, int64_t drain_timeout_ms)
{
    if (d->state == ZEND_DRAINING)
        return;
    d->state = ZEND_DRAINING;
    proxy_stop_accepting(d->proxy);
    d->shutdown_reason = reason;
    d->drain_timeout_ms = drain_timeout_ms >= 0 ? drain_timeout_ms
                                                : d->cfg->daemon.drain_timeout_ms;
    /* Finish from the loop, not from inside the caller: an RPC handler's
     * answer must be queued before the shutdown.done that follows it. */
    ev_timer_init(&d->shutdown_timer, shutdown_finish_cb, 0., 0.);
    d->shutdown_timer.data = d;
    ev_timer_start(d->loop, &d->shutdown_timer);
}

static void signal_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
    struct zend_daemon *d = w->data;
    if (w->signum == SIGHUP) {
        /* Reload (operations.md §7) is not built yet; never die of HUP. */
        zlog_pack(ZLOG_WARN, "signal_ignored", "{s:s, s:s}", "signal", "SIGHUP", "detail",
                  "config reload is not implemented yet; restart zend to apply changes");
        return;
    }
    zend_begin_shutdown(d, "signal", -1);
}

json_t *zend_metrics_json(struct zend_daemon *d)
{
    metrics_sample_resources(d->metrics);
    json_t *m = metrics_to_json(d->metrics);
    if (m) {
        json_object_set_new(m, "uptime_s", json_real(zend_uptime_s(d)));
        json_object_set_new(m, "restarts", json_integer(d->restarts));
        json_object_set_new(m, "max_concurrent", json_integer(d->cfg->daemon.max_concurrent));
    }
    return m;
}

static void resource_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct zend_daemon *d = w->data;
    metrics_sample_resources(d->metrics);
}

int zend_worker_run(struct zend_daemon *d)
{
    struct ev_loop *loop = d->loop;
    ev_signal *sigs[] = {&d->sig_term, &d->sig_int, &d->sig_hup};
    int signums[] = {SIGTERM, SIGINT, SIGHUP};
    for (size_t i = 0; i < ZEN_ARRAY_LEN(sigs); i++) {
        ev_signal_init(sigs[i], signal_cb, signums[i]);
        sigs[i]->data = d;
        ev_signal_start(loop, sigs[i]);
    }
    control_start(d->control, loop);
    proxy_start(d->proxy);
    ev_timer_init(&d->resource_timer, resource_cb, ZEND_RESOURCE_SAMPLE_S, ZEND_RESOURCE_SAMPLE_S);
    d->resource_timer.data = d;
    ev_timer_start(loop, &d->resource_timer);
    metrics_sample_resources(d->metrics);
    d->state = ZEND_RUNNING;
    zlog_pack(ZLOG_INFO, "daemon_started", "{s:i, s:i, s:s, s:s, s:s, s:s}", "pid",
              (int)d->pid, "supervisor_pid", (int)d->supervisor_pid, "version",
              ZEN_VERSION_STRING, "listen", d->listen, "config_path", d->cfg->path,
              "config_hash", d->cfg->hash);
    ev_run(loop, 0);
    for (size_t i = 0; i < ZEN_ARRAY_LEN(sigs); i++)
        ev_signal_stop(loop, sigs[i]);
    ev_timer_stop(loop, &d->shutdown_timer);
    ev_timer_stop(loop, &d->resource_timer);
    return ZEN_EXIT_OK;
}
