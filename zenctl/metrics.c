/* metrics.c -- `zenctl metrics`: one snapshot as a table, JSON or
 * Prometheus text; with --watch, a stream of them (watch.c). */
#include <stdio.h>
#include <string.h>

#include "client.h"
#include "commands.h"
#include "common.h"
#include "methods.h"
#include "render_prom.h"
#include "usage_view.h"
#include "view.h"
#include "watch.h"

#define WATCH_DEFAULT_INTERVAL_S 1.0
#define WATCH_MAX_INTERVAL_S 86400.0

/* Prints "name n, name n" for a {name: count} map, or "none". */
static void print_counts(const char *label, const json_t *map)
{
    printf("  %-11s", label);
    const char *key;
    json_t *v;
    int any = 0;
    json_object_foreach((json_t *)map, key, v) {
        if (json_integer_value(v) == 0)
            continue;
        printf("%s%s %lld", any ? ", " : " ", key, (long long)json_integer_value(v));
        any = 1;
    }
    printf("%s\n", any ? "" : " none");
}

/* One line of tokens and cost summed over every (provider, model), when
 * zend has counted any. */
static void print_usage(const json_t *m)
{
    static const char *const kinds[] = {"input", "output", "cache_read"};
    static const char *const words[] = {"in", "out", "cache read"};
    const json_t *pairs = json_object_get(m, "tokens");
    if (json_array_size(pairs) == 0)
        return;
    long long sums[3] = {0};
    double cost = 0;
    size_t i;
    json_t *p;
    json_array_foreach(pairs, i, p) {
        for (size_t k = 0; k < ZEN_ARRAY_LEN(kinds); k++)
            sums[k] += zv_int(p, kinds[k]);
        cost += zv_num(p, "cost_usd");
    }
    printf("  %-11s", "tokens");
    for (size_t k = 0; k < ZEN_ARRAY_LEN(kinds); k++) {
        char n[48];
        zu_format_count(sums[k], n, sizeof(n));
        printf("%s %s %s", k ? "," : "", n, words[k]);
    }
    char usd[64];
    zu_format_usd(cost, usd, sizeof(usd));
    printf("; %s priced\n", usd);
}

static void print_table(const json_t *m)
{
    printf("  %-11s %lld total, %lld ok, %lld failed (%.1f%% success), %lld in flight\n",
           "requests", zv_int(m, "requests_total"), zv_int(m, "success_count"),
           zv_int(m, "error_count"), 100.0 * zv_num(m, "success_rate"), zv_int(m, "in_flight"));
    char p50[16], p95[16], p99[16], pmax[16], attempts[48], failovers[48];
    zv_ms(zv_num(m, "latency_p50_ms"), p50, sizeof(p50));
    zv_ms(zv_num(m, "latency_p95_ms"), p95, sizeof(p95));
    zv_ms(zv_num(m, "latency_p99_ms"), p99, sizeof(p99));
    zv_ms(zv_num(m, "latency_max_ms"), pmax, sizeof(pmax));
    printf("  %-11s p50 %s  p95 %s  p99 %s  max %s\n", "latency", p50, p95, p99, pmax);
    zv_ms(zv_num(m, "ttfb_p50_ms"), p50, sizeof(p50));
    zv_ms(zv_num(m, "ttfb_p95_ms"), p95, sizeof(p95));
    zv_ms(zv_num(m, "ttfb_p99_ms"), p99, sizeof(p99));
    printf("  %-11s p50 %s  p95 %s  p99 %s\n", "ttfb", p50, p95, p99);
    zv_count(zv_int(m, "attempts_total"), "attempt", NULL, attempts, sizeof(attempts));
    zv_count(zv_int(m, "failovers_total"), "failover", NULL, failovers, sizeof(failovers));
    printf("  %-11s %s, %s\n", "attempts", attempts, failovers);
    printf("  %-11s %lld routed, %lld served by the strategy's first pick\n", "routing",
           zv_int(m, "routed_total"), zv_int(m, "served_by_first_pick"));
    print_counts("first pick", json_object_get(m, "picked_first"));
    print_counts("scenarios", json_object_get(m, "requests_by_scenario"));
    print_counts("status", json_object_get(m, "status_codes"));
    print_counts("errors", json_object_get(m, "errors_by_type"));
    print_counts("by provider", json_object_get(m, "errors_by_provider"));
    print_usage(m);
}

/* -o prom: for a scrape, "zend is down" is a value (zend_up 0), not just
 * an exit code, so a cron job that writes the file anyway lets Prometheus
 * alert on it. The exit code still says 3. */
static int print_prom(struct zc_ctx *ctx)
{
    struct zc_client c;
    char err[ZEN_ERRLEN];
    int code;
    json_t *m = NULL;
    int st = zc_connect(&c, ctx->sock_path, ctx->timeout_ms, err, sizeof(err));
    if (st == ZC_OK)
        st = zc_call(&c, RPC_METRICS, NULL, &m, &code, err, sizeof(err));
    zc_close(&c);
    if (st != ZC_OK) {
        if (st == ZC_UNREACHABLE)
            zprom_write_down(stdout);
        return zc_fail(st, err);
    }
    zprom_write_metrics(stdout, m);
    json_decref(m);
    return ZEN_EXIT_OK;
}

int zc_cmd_metrics(struct zc_ctx *ctx)
{
    const char *interval = zc_flag_value(ctx, "interval");
    double interval_s = WATCH_DEFAULT_INTERVAL_S;
    if (!zc_flag_value(ctx, "watch")) {
        if (interval) {
            zc_error("-i/--interval only applies with --watch");
            return ZEN_EXIT_USAGE;
        }
    } else {
        if (ctx->output == ZC_OUT_PROM) {
            zc_error("--watch has no prom output; let Prometheus scrape -o prom instead");
            return ZEN_EXIT_USAGE;
        }
        if (interval && zc_parse_seconds("-i/--interval", interval, WATCH_MIN_INTERVAL_S,
                                         WATCH_MAX_INTERVAL_S, &interval_s) != ZEN_OK)
            return ZEN_EXIT_USAGE;
        return zc_watch_metrics(ctx, interval_s);
    }
    if (ctx->output == ZC_OUT_PROM)
        return print_prom(ctx);
    json_t *m = NULL;
    int rc = zc_call_once(ctx, RPC_METRICS, NULL, &m);
    if (rc != ZEN_EXIT_OK)
        return rc;
    if (ctx->output == ZC_OUT_JSON) {
        zc_print_json(m);
    } else {
        m = zv_escaped_take(m);
        print_table(m);
    }
    json_decref(m);
    return ZEN_EXIT_OK;
}
