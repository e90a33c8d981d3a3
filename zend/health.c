#include "health.h"

#include <limits.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "common.h"
#include "daemon.h"
#include "log.h"
#include "metrics.h"
#include "provider_state.h"
#include "proxy.h"
#include "timeutil.h"

#define MIB (1024.0 * 1024.0)

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
    FILE *f = fopen("/proc/self/status", "re");
    if (f) {
        char line[256];
        long threads;
        while (fgets(line, sizeof(line), f))
            if (sscanf(line, "Threads: %ld", &threads) == 1)
                r->threads = threads;
        fclose(f);
    }
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

static int config_disabled(const struct zcfg *cfg, const char *name)
{
    return zcfg_provider_disabled(cfg, name, ztime_wall_ms() / 1000);
}

static const char *provider_status(const struct provider_state *s, int disabled, int64_t now)
{
    if (disabled)
        return "disabled";
    enum circuit c = pstate_circuit(s, now);
    if (c == CIRCUIT_OPEN)
        return "unhealthy";
    if (s->recent_len == 0 && s->check_count == 0)
        return "unknown";
    if (c == CIRCUIT_HALF_OPEN || pstate_success_rate(s) < 1.0 - HEALTH_DEGRADED_ERROR_RATE ||
        (s->check_count > 0 && !s->last_check_ok))
        return "degraded";
    return "healthy";
}

const char *health_provider_status(const struct zcfg *cfg, const struct provider_state *s)
{
    int64_t now = ztime_mono_ms();
    return provider_status(s, config_disabled(cfg, s->name) || pstate_disabled(s, now), now);
}

static json_t *provider_entry(const struct zcfg *cfg, const struct provider_state *s,
                              int64_t now)
{
    int disabled = config_disabled(cfg, s->name) || pstate_disabled(s, now);
    char last_check[ZTIME_RFC3339_LEN] = "";
    if (s->last_check_wall_ms)
        ztime_format_rfc3339_ms(s->last_check_wall_ms, last_check);
    return json_pack("{s:s, s:s, s:s, s:I, s:i, s:s, s:s, s:s?, s:f, s:f, s:I, s:I, s:b}",
                     "name", s->name, "status", provider_status(s, disabled, now), "circuit",
                     pstate_circuit_name(pstate_circuit(s, now)), "cooldown_remaining_ms",
                     (json_int_t)pstate_cooldown_remaining_ms(s, now), "consecutive_failures",
                     s->consecutive_failures, "last_error_type",
                     s->last_error_type ? zen_error_type_name(s->last_error_type) : "",
                     "last_error", s->last_error, "last_check",
                     last_check[0] ? last_check : NULL, "latency_ms", s->check_latency_ms,
                     "success_rate", pstate_success_rate(s), "check_count",
                     (json_int_t)s->check_count, "fail_count", (json_int_t)s->check_fail_count,
                     "disabled", disabled);
}

static json_t *provider_list(struct zend_daemon *d)
{
    struct provider_states *ps = proxy_provider_states(d->proxy);
    int64_t now = ztime_mono_ms();
    json_t *arr = json_array();
    /* In config order, so listings read like zen.json. */
    for (size_t i = 0; i < d->cfg->n_providers; i++) {
        struct provider_state *s = pstates_get(ps, d->cfg->providers[i].name);
        if (s)
            json_array_append_new(arr, provider_entry(d->cfg, s, now));
    }
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

/* Daemon status from the provider list and resources (operations.md §9). */
static const char *daemon_status(struct zend_daemon *d, const json_t *providers,
                                 const struct resources *r, json_t *reasons)
{
    const struct zcfg_daemon *dc = &d->cfg->daemon;
    int used = 0, usable = 0, troubled = 0;
    size_t i;
    json_t *p;
    json_array_foreach(providers, i, p) {
        const char *name = json_string_value(json_object_get(p, "name"));
        const char *st = json_string_value(json_object_get(p, "status"));
        int64_t left = json_integer_value(json_object_get(p, "cooldown_remaining_ms"));
        if (strcmp(st, "unhealthy") == 0) {
            const char *type = json_string_value(json_object_get(p, "last_error_type"));
            add_reason(reasons, "provider %s cooling down (%s, %lld s left)", name,
                       type && *type ? type : "failure", (long long)((left + 999) / 1000));
        } else if (strcmp(st, "disabled") == 0) {
            add_reason(reasons, "provider %s disabled", name);
        } else if (strcmp(st, "degraded") == 0) {
            add_reason(reasons, "provider %s degraded (%.0f%% of recent attempts succeeded)",
                       name, 100.0 * json_number_value(json_object_get(p, "success_rate")));
        }
        if (!used_by_a_profile(d->cfg, name))
            continue;
        used++;
        usable += strcmp(st, "unhealthy") != 0 && strcmp(st, "disabled") != 0;
        troubled += strcmp(st, "healthy") != 0 && strcmp(st, "unknown") != 0;
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
    if (d->config_error[0]) {
        /* zen.json does not load: the next start of zend would fail (78). */
        const char *base = strrchr(d->paths.config, '/');
        char since[ZTIME_RFC3339_LEN], text[ZEN_ERRLEN + PATH_MAX + 256];
        ztime_format_rfc3339_ms(d->config_loaded_wall_ms, since);
        snprintf(text, sizeof(text), "%s is invalid (%s); serving the last good config from %s",
                 base ? base + 1 : d->paths.config, d->config_error, since);
        json_array_append_new(reasons, json_string(text));
        troubled++;
    }
    size_t queued = proxy_queued(d->proxy);
    if (queued) {
        add_reason(reasons, "%zu request%s waiting for a slot", queued, queued == 1 ? "" : "s");
        troubled++;
    }
    if (d->state == ZEND_DRAINING) {
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

json_t *health_json(struct zend_daemon *d)
{
    struct resources r;
    read_resources(&r);
    json_t *providers = provider_list(d);
    json_t *reasons = json_array();
    const char *status = daemon_status(d, providers, &r, reasons);
    json_t *m = metrics_to_json(d->metrics);
    double p99 = json_number_value(json_object_get(m, "latency_p99_ms"));
    json_decref(m);
    struct provider_states *ps = proxy_provider_states(d->proxy);
    struct zlog_file_report lr;
    zlog_file_report(&lr);
    json_t *h = json_pack(
        "{s:s, s:o, s:s, s:f, s:i, s:i, s:i, s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I},"
        " s:I, s:{s:b, s:b}, s:f, s:o}",
        "status", status, "reasons", reasons, "version", ZEN_VERSION_STRING, "uptime_s",
        zend_uptime_s(d), "pid", (int)d->pid, "supervisor_pid", (int)d->supervisor_pid,
        "restarts", (int)d->restarts, "resources", "rss_bytes", (json_int_t)r.rss_bytes,
        "heap_bytes", (json_int_t)r.heap_bytes, "open_fds", (json_int_t)r.open_fds, "fd_limit",
        (json_int_t)r.fd_limit, "threads", (json_int_t)r.threads, "client_connections",
        (json_int_t)proxy_client_connections(d->proxy), "upstream_connections",
        (json_int_t)proxy_upstream_transfers(d->proxy), "in_flight",
        (json_int_t)proxy_in_flight(d->proxy), "queued", (json_int_t)proxy_queued(d->proxy),
        "request_body_bytes", (json_int_t)proxy_body_bytes_held(d->proxy),
        "active_sessions", (json_int_t)proxy_active_sessions(d->proxy), "health_check",
        "enabled", d->cfg->health_check.enabled, "running",
        pstates_health_check_running(ps), "latency_p99_ms", p99, "providers", providers);
    if (h)
        json_object_set_new(h, "log_write_failed", json_integer((json_int_t)lr.write_failed));
    return h;
}

json_t *providers_json(struct zend_daemon *d)
{
    json_t *list = provider_list(d);
    json_t *m = metrics_to_json(d->metrics);
    json_t *per = json_object_get(m, "providers");
    size_t i;
    json_t *p;
    json_array_foreach(list, i, p) {
        json_t *pm = json_object_get(per, json_string_value(json_object_get(p, "name")));
        json_int_t requests = json_integer_value(json_object_get(pm, "requests"));
        json_int_t errors = json_integer_value(json_object_get(pm, "errors"));
        json_object_set_new(p, "requests", json_integer(requests));
        json_object_set_new(p, "errors", json_integer(errors));
        json_object_set_new(p, "error_rate",
                            json_real(requests ? (double)errors / (double)requests : 0.0));
        static const char *const lat[] = {"latency_p50_ms", "latency_p95_ms", "latency_p99_ms"};
        for (size_t k = 0; k < ZEN_ARRAY_LEN(lat); k++)
            json_object_set_new(p, lat[k], json_real(json_number_value(json_object_get(pm, lat[k]))));
    }
    json_decref(m);
    return json_pack("{s:o}", "providers", list);
}
