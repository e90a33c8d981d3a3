#include "health.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "budget.h"
#include "common.h"
#include "config.h"
#include "ledger.h"
#include "log.h"
#include "metrics.h"
#include "provider_state.h"
#include "proxy.h"
#include "timeutil.h"

/* The daemon's last resource sample (metrics_sample_resources, once a
 * second): health walks neither /proc/self/fd nor the heap per call. */
static void read_resources(const struct health_inputs *in, struct metrics_resources *r)
{
    metrics_resources(in->metrics, r);
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

/* The length of the longest prefix of s[0..n) that does not end inside a
 * UTF-8 sequence (a cut error text must stay a valid JSON string). */
static size_t utf8_prefix(const char *s, size_t n)
{
    size_t i = n;
    while (i > 0 && ((unsigned char)s[i - 1] & 0xC0) == 0x80)
        i--;
    if (i == 0)
        return 0;
    unsigned char lead = (unsigned char)s[i - 1];
    size_t need = lead < 0xC0 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
    return n - (i - 1) >= need ? n : i - 1;
}

/* At most max bytes of src on one line (control characters become spaces),
 * "..." when cut. */
static void one_line(const char *src, size_t max, char *out, size_t outlen)
{
    size_t len = strlen(src), n = utf8_prefix(src, len < max ? len : max);
    if (n > outlen - 4)
        n = utf8_prefix(src, outlen - 4);
    for (size_t i = 0; i < n; i++)
        out[i] = (unsigned char)src[i] < 0x20 || src[i] == 0x7f ? ' ' : src[i];
    snprintf(out + n, outlen - n, "%s", n < len ? "..." : "");
}

static json_t *report_json(const struct pstate_report *r)
{
    char last_check[ZTIME_RFC3339_LEN] = "";
    /* As the provider said it (a body cut to fit may end inside a character). */
    int last_error_len = (int)utf8_prefix(r->last_error, strlen(r->last_error));
    if (r->last_check_wall_ms)
        ztime_format_rfc3339_ms(r->last_check_wall_ms, last_check);
    return json_pack("{s:s, s:s, s:s, s:I, s:i, s:s, s:s#, s:s?, s:f, s:f, s:I, s:I, s:b, s:s, "
                     "s:b, s:I, s:I}",
                     "name", r->name, "status", pstatus_name(r->status), "circuit",
                     pstate_circuit_name(r->circuit), "cooldown_remaining_ms",
                     (json_int_t)r->cooldown_remaining_ms, "consecutive_failures",
                     r->consecutive_failures, "last_error_type",
                     r->last_error_type ? zen_error_type_name(r->last_error_type) : "",
                     "last_error", r->last_error, last_error_len, "last_check",
                     last_check[0] ? last_check : NULL, "latency_ms", r->check_latency_ms,
                     "success_rate", r->success_rate, "check_count",
                     (json_int_t)r->check_count, "fail_count", (json_int_t)r->check_fail_count,
                     "disabled", r->disabled, "wire", r->wire, "wire_learned", r->wire_learned,
                     "recent_attempts", (json_int_t)r->window_attempts, "recent_failures",
                     (json_int_t)r->window_failures);
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

/* The error text quoted in a reason: enough to recognise it, on one line. */
#define REASON_ERROR_MAX 80

/* What failed last: "server 503: overloaded", "network: connection refused". */
static void failure_text(const struct pstate_report *p, char *out, size_t outlen)
{
    char status[16] = "", text[REASON_ERROR_MAX + 4];
    if (p->last_status)
        snprintf(status, sizeof(status), " %d", p->last_status);
    one_line(p->last_error, REASON_ERROR_MAX, text, sizeof(text));
    snprintf(out, outlen, "%s%s%s%s",
             p->last_error_type ? zen_error_type_name(p->last_error_type) : "failure", status,
             text[0] ? ": " : "", text);
}

/* The reason a provider that is not healthy gives: its name, what failed
 * and the number behind it (docs/operations.md, "Health"). */
static void provider_reason(json_t *reasons, const struct pstate_report *p, int used)
{
    char what[REASON_ERROR_MAX + 64];
    const char *unused = used ? "" : "; no profile uses it";
    failure_text(p, what, sizeof(what));
    char left[32];
    switch (p->status) {
    case PSTATUS_UNHEALTHY:
        ztime_format_span((double)((p->cooldown_remaining_ms + 999) / 1000), left, sizeof(left));
        add_reason(reasons, "provider %s cooling down after %s (%s left, %d consecutive "
                   "failure%s%s)", p->name, what, left, p->consecutive_failures,
                   p->consecutive_failures == 1 ? "" : "s", unused);
        return;
    case PSTATUS_DISABLED:
        if (p->disabled_remaining_ms > 0) {
            ztime_format_span((double)((p->disabled_remaining_ms + 999) / 1000), left,
                              sizeof(left));
            add_reason(reasons, "provider %s disabled (%s left%s)", p->name, left, unused);
        } else {
            add_reason(reasons, "provider %s disabled%s", p->name,
                       used ? "" : " (no profile uses it)");
        }
        return;
    case PSTATUS_DEGRADED:
        break;
    case PSTATUS_UNKNOWN:
    case PSTATUS_HEALTHY:
        return;
    }
    switch (p->degraded_by) {
    case PDEGRADED_HALF_OPEN:
        add_reason(reasons, "provider %s degraded: cooldown over after %s, not yet back (%d "
                   "consecutive failure%s%s)", p->name, what, p->consecutive_failures,
                   p->consecutive_failures == 1 ? "" : "s", unused);
        return;
    case PDEGRADED_ERRORS:
        add_reason(reasons, "provider %s degraded: %u of %u attempts failed in the last %d min "
                   "(last: %s%s)", p->name, p->window_failures, p->window_attempts,
                   (int)(PSTATE_WINDOW_MS / 60000), what, unused);
        return;
    case PDEGRADED_CHECK: {
        char check[REASON_ERROR_MAX + 4];
        one_line(p->check_error, REASON_ERROR_MAX, check, sizeof(check));
        add_reason(reasons, "provider %s degraded: last health check failed: %s (%llu of %llu "
                   "checks failed%s)", p->name, check, (unsigned long long)p->check_fail_count,
                   (unsigned long long)p->check_count, unused);
        return;
    }
    case PDEGRADED_NO:
        return;
    }
}

static const struct pstate_report *report_named(const struct pstate_report *reports, size_t n,
                                                const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(reports[i].name, name) == 0)
            return &reports[i];
    return NULL;
}

/* Profiles that matter (the default one, and any with a request in the last
 * ten minutes) and have no usable provider: each gets a reason naming its
 * providers' states. Returns how many. A provider without state has no
 * report and counts as usable (nothing says otherwise). */
static int stranded_profiles(const struct health_inputs *in, const struct pstate_report *reports,
                             size_t n, json_t *reasons)
{
    const struct zcfg *cfg = in->cfg;
    int stranded = 0;
    for (size_t i = 0; i < cfg->n_profiles; i++) {
        const struct zcfg_profile *prof = &cfg->profiles[i];
        int is_default = cfg->default_profile && strcmp(prof->name, cfg->default_profile) == 0;
        if (!is_default && !proxy_profile_recent(in->proxy, prof->name))
            continue;
        char list[512] = "";
        size_t len = 0;
        int usable = 0;
        for (size_t k = 0; k < prof->n_providers && !usable; k++) {
            const char *name = cfg->providers[prof->providers[k]].name;
            const struct pstate_report *p = report_named(reports, n, name);
            usable = !p || pstatus_up(p->status);
            if (p && len < sizeof(list))
                len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%s %s",
                                        len ? ", " : "", name, pstatus_name(p->status));
        }
        if (usable)
            continue;
        stranded++;
        add_reason(reasons, "profile %s has no usable provider (%s)%s", prof->name,
                   prof->n_providers ? list : "it names none",
                   is_default ? "" : "; it served requests in the last 10 min");
    }
    return stranded;
}

/* Daemon status from the provider reports and resources (docs/operations.md,
 * "Health"). */
static const char *daemon_status(const struct health_inputs *in,
                                 const struct pstate_report *reports, size_t n,
                                 const struct metrics_resources *r, json_t *reasons)
{
    const struct zcfg_daemon *dc = &in->cfg->daemon;
    int used = 0, troubled = 0;
    int stranded = stranded_profiles(in, reports, n, reasons);
    for (size_t i = 0; i < n; i++) {
        const struct pstate_report *p = &reports[i];
        int is_used = used_by_a_profile(in->cfg, p->name);
        provider_reason(reasons, p, is_used);
        if (!is_used)
            continue; /* a provider no profile uses never changes the daemon's status */
        used++;
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
    if (in->ledger) {
        struct ledger_status ls;
        ledger_status(in->ledger, &ls);
        if (!ls.available) {
            char text[REASON_ERROR_MAX + 4];
            one_line(ls.error, REASON_ERROR_MAX, text, sizeof(text));
            add_reason(reasons, "usage ledger unavailable: %s", text);
            troubled++;
        }
    }
    /* A limit the user set and zend enforces is news, not a fault: the
     * status stays as it is (docs/usage.md, "Budgets"). */
    budget_health_reasons(proxy_budget(in->proxy), in->cfg, ztime_wall_ms(), reasons);
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
    if (stranded)
        return "unhealthy";
    return troubled ? "degraded" : "healthy";
}

json_t *health_json(const struct health_inputs *in)
{
    struct metrics_resources r;
    read_resources(in, &r);
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

/* disabled_remaining_ms (null when not disabled, or disabled until
 * enabled) and disabled_by: which rules hold it off, "config" (zen.json's
 * disabled_providers) and/or "runtime" (provider.disable); [] when none. */
static void add_disabled_span(json_t *p, const struct pstate_report *r)
{
    json_t *by = json_array();
    if (r->disabled_by_config)
        json_array_append_new(by, json_string("config"));
    if (r->disabled_by_runtime)
        json_array_append_new(by, json_string("runtime"));
    json_object_set_new(p, "disabled_remaining_ms",
                        r->disabled && r->disabled_remaining_ms > 0
                            ? json_integer((json_int_t)r->disabled_remaining_ms)
                            : json_null());
    json_object_set_new(p, "disabled_by", by);
}

/* Where the provider is and how zend signs in there; a token only ever as
 * its fingerprint. */
static void add_endpoint(json_t *p, const struct zcfg_provider *cp)
{
    if (!cp)
        return;
    char *url = zcfg_url_redacted(cp->base_url);
    json_object_set_new(p, "base_url", json_string(url));
    free(url);
    json_object_set_new(p, "auth", json_string(zcfg_auth_mode(cp)));
    json_object_set_new(p, "auth_env", cp->token_env ? json_string(cp->token_env) : json_null());
    json_object_set_new(p, "auth_fingerprint", cp->token_fingerprint[0]
                                                   ? json_string(cp->token_fingerprint)
                                                   : json_null());
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
        /* least-latency's view (docs/routing.md): successful attempts only */
        json_object_set_new(p, "ttfb_ewma_ms", json_real(reports[i].ttfb_ewma_ms));
        json_object_set_new(p, "ttfb_samples", json_integer((json_int_t)reports[i].ttfb_samples));
        add_disabled_span(p, &reports[i]);
        add_endpoint(p, zcfg_find_provider(in->cfg, reports[i].name));
        json_array_append_new(list, p);
    }
    return json_pack("{s:o}", "providers", list);
}
