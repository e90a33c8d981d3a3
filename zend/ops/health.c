#include "health.h"

#include <limits.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "common.h"
#include "config.h"
#include "log.h"
#include "metrics.h"
#include "procself.h"
#include "provider_state.h"
#include "proxy.h"
#include "timeutil.h"

struct resources {
    int64_t rss_bytes, heap_bytes, open_fds, fd_limit, threads;
};

static void read_resources(struct resources *r)
{
    memset(r, 0, sizeof(*r));
    r->rss_bytes = metrics_process_rss();
    r->open_fds = metrics_process_fds();
    struct mallinfo2 mi = mallinfo2();
    r->heap_bytes = (int64_t)mi.uordblks;
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
        r->fd_limit = rl.rlim_cur == RLIM_INFINITY ? -1 : (int64_t)rl.rlim_cur;
    procself_threads(&r->threads);
}

/* Is the provider used by any profile? Only those decide "unhealthy". */
static int used_by_a_profile(const struct zcfg *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->n_profiles; i++)
        for (size_t k = 0; k < cfg->profiles[i].n_providers; k++)
            if (strcmp(cfg->providers[cfg->profiles[i].providers[k]].name, name) == 0)
                return 1;
    return 0;
}

/* One report per provider, in config order (listings read like zen.json).
 * Returns how many were filled (at most max). */
static size_t provider_reports(const struct health_inputs *in, struct pstate_report *out,
                               size_t max)
{
    struct provider_states *ps = proxy_provider_states(in->proxy);
    int64_t now_mono = ztime_mono_ms(), now_wall_s = ztime_wall_ms() / 1000;
    size_t n = 0;
    for (size_t i = 0; i < in->cfg->n_providers && n < max; i++) {
        struct provider_state *s = pstates_get(ps, in->cfg->providers[i].name);
        if (s)
            pstate_report(s, in->cfg, now_wall_s, now_mono, &out[n++]);
    }
    return n;
}

static json_t *report_json(const struct pstate_report *r)
{
    char last_check[ZTIME_RFC3339_LEN] = "";
    if (r->last_check_wall_ms)
        ztime_format_rfc3339_ms(r->last_check_wall_ms, last_check);
    return json_pack("{s:s, s:s, s:s, s:I, s:i, s:s, s:s, s:s?, s:f, s:f, s:I, s:I, s:b, s:s, "
                     "s:b}",
                     "name", r->name, "status", pstatus_name(r->status), "circuit",
                     pstate_circuit_name(r->circuit), "cooldown_remaining_ms",
                     (json_int_t)r->cooldown_remaining_ms, "consecutive_failures",
                     r->consecutive_failures, "last_error_type",
                     r->last_error_type ? zen_error_type_name(r->last_error_type) : "",
                     "last_error", r->last_error, "last_check",
                     last_check[0] ? last_check : NULL, "latency_ms", r->check_latency_ms,
                     "success_rate", r->success_rate, "check_count",
                     (json_int_t)r->check_count, "fail_count", (json_int_t)r->check_fail_count,
                     "disabled", r->disabled, "wire", r->wire, "wire_learned", r->wire_learned);
}

static json_t *reports_json(const struct pstate_report *reports, size_t n)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, report_json(&reports[i]));
    return arr;
}

static void add_reason(json_t *reasons, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void add_reason(json_t *reasons, const char *fmt, ...)
{
    char text[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    json_array_append_new(reasons, json_string(text));
}

/* Daemon status from the provider reports and resources (docs/operations.md,
 * "Health"). */
static const char *daemon_status(const struct health_inputs *in,
                                 const struct pstate_report *reports, size_t n,
                                 const struct resources *r, json_t *reasons)
{
    const struct zcfg_daemon *dc = &in->cfg->daemon;
    int used = 0, usable = 0, troubled = 0;
    for (size_t i = 0; i < n; i++) {
        const struct pstate_report *p = &reports[i];
        switch (p->status) {
        case PSTATUS_UNHEALTHY:
            add_reason(reasons, "provider %s cooling down (%s, %lld s left)", p->name,
                       p->last_error_type ? zen_error_type_name(p->last_error_type)
                                          : "failure",
                       (long long)((p->cooldown_remaining_ms + 999) / 1000));
            break;
        case PSTATUS_DISABLED:
            add_reason(reasons, "provider %s disabled", p->name);
            break;
        case PSTATUS_DEGRADED:
            add_reason(reasons, "provider %s degraded (%.0f%% of recent attempts succeeded)",
                       p->name, 100.0 * p->success_rate);
            break;
        case PSTATUS_UNKNOWN:
        case PSTATUS_HEALTHY:
            break;
        }
        if (!used_by_a_profile(in->cfg, p->name))
            continue;
        used++;
        usable += pstatus_up(p->status);
        troubled += p->status != PSTATUS_HEALTHY && p->status != PSTATUS_UNKNOWN;
    }
    if (r->rss_bytes > dc->health_max_rss_mb * (int64_t)MIB) {
        add_reason(reasons, "rss %.0f MiB > %lld MiB", (double)r->rss_bytes / MIB,
                   (long long)dc->health_max_rss_mb);
        troubled++;
    }
    if (r->fd_limit > 0 && (double)r->open_fds > dc->health_max_fd_ratio * (double)r->fd_limit) {
        add_reason(reasons, "open fds %lld > %.0f%% of %lld", (long long)r->open_fds,
                   100.0 * dc->health_max_fd_ratio, (long long)r->fd_limit);
        troubled++;
    }
    /* Allowed by daemon.allow_remote_without_keys, so a warning, not a fault:
     * it does not change the status. */
    if (!zcfg_listen_is_loopback(dc) && dc->n_access_keys == 0)
        add_reason(reasons, "listening on a non-loopback address without access_keys");
    struct zlog_file_report lr;
    zlog_file_report(&lr);
    if (lr.failing) {
        add_reason(reasons, "log writes failing (%llu records lost; disk full?)",
                   (unsigned long long)lr.write_failed);
        troubled++;
    }
    if (in->config_error[0]) {
        /* zen.json does not load: the next start of zend would fail (78). */
        const char *base = strrchr(in->config_path, '/');
        char since[ZTIME_RFC3339_LEN], text[ZEN_ERRLEN + PATH_MAX + 256];
        ztime_format_rfc3339_ms(in->config_loaded_wall_ms, since);
        snprintf(text, sizeof(text), "%s is invalid (%s); serving the last good config from %s",
                 base ? base + 1 : in->config_path, in->config_error, since);
        json_array_append_new(reasons, json_string(text));
        troubled++;
    }
    size_t queued = proxy_queued(in->proxy);
    if (queued) {
        add_reason(reasons, "%zu request%s waiting for a slot", queued, queued == 1 ? "" : "s");
        troubled++;
    }
    if (in->draining) {
        json_array_insert_new(reasons, 0, json_string("draining: zend is shutting down"));
        return "draining";
    }
    if (used == 0) {
        add_reason(reasons, "no profile names a provider");
        return "unhealthy";
    }
    if (usable == 0)
        return "unhealthy";
    return troubled ? "degraded" : "healthy";
}

json_t *health_json(const struct health_inputs *in)
{
    struct resources r;
    read_resources(&r);
    struct pstate_report reports[ZCFG_MAX_PROVIDERS];
    size_t n = provider_reports(in, reports, ZEN_ARRAY_LEN(reports));
    json_t *reasons = json_array();
    const char *status = daemon_status(in, reports, n, &r, reasons);
    struct metrics_latency lat;
    metrics_latency_summary(in->metrics, &lat);
    struct provider_states *ps = proxy_provider_states(in->proxy);
    struct zlog_file_report lr;
    zlog_file_report(&lr);
    json_t *h = json_pack(
        "{s:s, s:o, s:s, s:f, s:i, s:i, s:i, s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I},"
        " s:I, s:{s:b, s:b}, s:f, s:o}",
        "status", status, "reasons", reasons, "version", ZEN_VERSION_STRING, "uptime_s",
        in->uptime_s, "pid", in->pid, "supervisor_pid", in->supervisor_pid,
        "restarts", (int)in->restarts, "resources", "rss_bytes", (json_int_t)r.rss_bytes,
        "heap_bytes", (json_int_t)r.heap_bytes, "open_fds", (json_int_t)r.open_fds, "fd_limit",
        (json_int_t)r.fd_limit, "threads", (json_int_t)r.threads, "client_connections",
        (json_int_t)proxy_client_connections(in->proxy), "upstream_connections",
        (json_int_t)proxy_upstream_transfers(in->proxy), "in_flight",
        (json_int_t)proxy_in_flight(in->proxy), "queued", (json_int_t)proxy_queued(in->proxy),
        "request_body_bytes", (json_int_t)proxy_body_bytes_held(in->proxy),
        "active_sessions", (json_int_t)proxy_active_sessions(in->proxy), "health_check",
        "enabled", in->cfg->health_check.enabled, "running",
        pstates_health_check_running(ps), "latency_p99_ms", lat.p99_ms, "providers",
        reports_json(reports, n));
    if (h) {
        json_object_set_new(h, "log_write_failed", json_integer((json_int_t)lr.write_failed));
        /* zenctl shows "N/M providers up" from this count: pstatus_up is
         * the one rule, and it lives here, not in every client. */
        json_int_t up = 0;
        for (size_t i = 0; i < n; i++)
            up += pstatus_up(reports[i].status);
        json_object_set_new(h, "providers_up", json_integer(up));
    }
    return h;
}

json_t *providers_json(const struct health_inputs *in)
{
    struct pstate_report reports[ZCFG_MAX_PROVIDERS];
    size_t n = provider_reports(in, reports, ZEN_ARRAY_LEN(reports));
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *p = report_json(&reports[i]);
        struct metrics_provider_summary pm;
        metrics_provider_summary(in->metrics, reports[i].name, &pm);
        json_object_set_new(p, "requests", json_integer((json_int_t)pm.requests));
        json_object_set_new(p, "errors", json_integer((json_int_t)pm.errors));
        json_object_set_new(p, "error_rate",
                            json_real(pm.requests ? (double)pm.errors / (double)pm.requests
                                                  : 0.0));
        json_object_set_new(p, "latency_p50_ms", json_real(pm.latency.p50_ms));
        json_object_set_new(p, "latency_p95_ms", json_real(pm.latency.p95_ms));
        json_object_set_new(p, "latency_p99_ms", json_real(pm.latency.p99_ms));
        json_array_append_new(list, p);
    }
    return json_pack("{s:o}", "providers", list);
}
