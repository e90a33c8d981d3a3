/* health.c -- health, providers, provider enable|disable, and the provider
 * name list the completion scripts call.
 *
 * `health` speaks the monitoring-plugin convention (Nagios, Icinga, a
 * systemd ExecCondition): the first line is the verdict, further lines the
 * reasons, and the exit code is 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "client.h"
#include "commands.h"
#include "common.h"
#include "methods.h"
#include "view.h"

enum plugin_exit { PLUGIN_OK = 0, PLUGIN_WARNING = 1, PLUGIN_CRITICAL = 2, PLUGIN_UNKNOWN = 3 };

/* The completion scripts wait on this while the user waits on <Tab>. */
#define NAME_LIST_TIMEOUT_MS 1000

static int plugin_exit_for(const char *status)
{
    if (strcmp(status, "healthy") == 0)
        return PLUGIN_OK;
    if (strcmp(status, "degraded") == 0 || strcmp(status, "draining") == 0)
        return PLUGIN_WARNING;
    if (strcmp(status, "unhealthy") == 0)
        return PLUGIN_CRITICAL;
    return PLUGIN_UNKNOWN; /* a status this zenctl does not know */
}

int zc_cmd_health(struct zc_ctx *ctx)
{
    struct zc_client c;
    char err[ZEN_ERRLEN];
    int code;
    json_t *h = NULL;
    int st = zc_connect(&c, ctx->sock_path, ctx->timeout_ms, err, sizeof(err));
    if (st == ZC_OK)
        st = zc_call(&c, RPC_HEALTH, NULL, &h, &code, err, sizeof(err));
    zc_close(&c);
    if (st != ZC_OK) {
        /* Whatever stopped us from asking, the answer is UNKNOWN; a plugin
         * says so on stdout, which is what the monitoring system shows. */
        if (ctx->output == ZC_OUT_JSON)
            zc_error("%s", err);
        else
            printf("zend unknown - %s\n", err);
        return PLUGIN_UNKNOWN;
    }
    const char *status = zv_str(h, "status", "unknown");
    int rc = plugin_exit_for(status);
    if (ctx->output == ZC_OUT_JSON) {
        zc_print_json(h);
        json_decref(h);
        return rc;
    }
    /* status pointed into h: read it again from the escaped copy. */
    h = zv_escaped_take(h);
    status = zv_str(h, "status", "unknown");
    const json_t *providers = json_object_get(h, "providers");
    /* zend decides what "up" means (providers_up); zenctl only shows it. */
    long long up = zv_int(h, "providers_up");
    size_t i;
    char p99[16];
    zv_ms(zv_num(h, "latency_p99_ms"), p99, sizeof(p99));
    char of[48];
    zv_count((long long)json_array_size(providers), "provider", NULL, of, sizeof(of));
    printf("zend %s%s%s - %lld/%s up, p99 %s\n", ctx->color ? zv_status_color(status) : "",
           status, ctx->color ? ZV_RESET : "", up, of, p99);
    json_t *reason;
    json_array_foreach(json_object_get(h, "reasons"), i, reason)
        if (json_is_string(reason))
            printf("%s\n", json_string_value(reason));
    json_decref(h);
    return rc;
}

/* "41s", "2m 5s" (rounded up to whole seconds: it is time still to wait),
 * or "-" when not cooling down. */
static void cooldown_text(double ms, char *out, size_t outlen)
{
    if (ms <= 0)
        snprintf(out, outlen, "-");
    else
        zv_duration(ceil(ms / 1000.0), out, outlen);
}

/* "rate_limit: 429 from upstream", "timeout", or "-". */
static void last_error_text(const json_t *p, char *out, size_t outlen)
{
    const char *type = zv_str(p, "last_error_type", "");
    const char *msg = zv_str(p, "last_error", "");
    if (*type && *msg)
        snprintf(out, outlen, "%s: %s", type, msg);
    else
        snprintf(out, outlen, "%s", *type ? type : (*msg ? msg : "-"));
}

/* "disabled (29m 58s left)" while a disable runs out by itself; the status
 * word alone otherwise. */
static void disabled_status(const json_t *p, const char *status, char *out, size_t outlen)
{
    double left_ms = zv_num(p, "disabled_remaining_ms");
    if (strcmp(status, "disabled") == 0 && left_ms > 0) {
        char span[32];
        zv_duration(ceil(left_ms / 1000.0), span, sizeof(span));
        snprintf(out, outlen, "%s (%s left)", status, span);
    } else {
        snprintf(out, outlen, "%s", status);
    }
}

/* "token", "env:NAME", "passthrough", "passthrough (env:NAME unset)". */
static void auth_text(const json_t *p, char *out, size_t outlen)
{
    const char *mode = zv_str(p, "auth", "-");
    const char *env = zv_str(p, "auth_env", NULL);
    if (env && strcmp(mode, "env") == 0)
        snprintf(out, outlen, "env:%s", env);
    else if (env)
        snprintf(out, outlen, "%s (env:%s unset)", mode, env);
    else
        snprintf(out, outlen, "%s", mode);
}

/* The second table of `providers`: where each provider is and how zend
 * signs in. Apart from the numbers, so each table fits 100 columns. */
static void print_endpoints(const json_t *providers, int color)
{
    struct zv_table t;
    zv_table_init(&t, 3, 0);
    zv_table_cell(&t, NULL, "NAME");
    zv_table_cell(&t, NULL, "BASE URL");
    zv_table_cell(&t, NULL, "AUTH");
    size_t i;
    json_t *p;
    json_array_foreach(providers, i, p) {
        char auth[256];
        auth_text(p, auth, sizeof(auth));
        zv_table_cell(&t, NULL, "%s", zv_str(p, "name", "?"));
        zv_table_cell(&t, NULL, "%s", zv_str(p, "base_url", "-"));
        zv_table_cell(&t, NULL, "%s", auth);
    }
    printf("\n");
    zv_table_print(&t, stdout, color);
    zv_table_free(&t);
}

int zc_cmd_providers(struct zc_ctx *ctx)
{
    json_t *res;
    int rc = zc_call_for_view(ctx, RPC_PROVIDERS, &res);
    if (rc != ZEN_EXIT_OK || !res)
        return rc; /* a failure, or -o json already printed */
    static const char *const head[] = {"NAME", "WIRE", "STATUS", "CIRCUIT", "COOLDOWN",
                                       "REQUESTS", "ERR%", "P50", "P95", "P99", "TTFB",
                                       "LAST ERROR"};
    struct zv_table t;
    /* REQUESTS..TTFB (columns 5..10) are numbers: right-aligned. */
    zv_table_init(&t, (int)ZEN_ARRAY_LEN(head), 0x7E0u);
    for (size_t i = 0; i < ZEN_ARRAY_LEN(head); i++)
        zv_table_cell(&t, NULL, "%s", head[i]);
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(res, "providers"), i, p) {
        const char *status = zv_str(p, "status", "unknown");
        const char *circuit = zv_str(p, "circuit", "-");
        char cooldown[32], p50[16], p95[16], p99[16], last[512];
        cooldown_text(zv_num(p, "cooldown_remaining_ms"), cooldown, sizeof(cooldown));
        zv_ms(zv_num(p, "latency_p50_ms"), p50, sizeof(p50));
        zv_ms(zv_num(p, "latency_p95_ms"), p95, sizeof(p95));
        zv_ms(zv_num(p, "latency_p99_ms"), p99, sizeof(p99));
        last_error_text(p, last, sizeof(last));
        zv_table_cell(&t, NULL, "%s", zv_str(p, "name", "?"));
        /* A wire learned from a fallback is marked: it lasts until the next reload. */
        zv_table_cell(&t, NULL, "%s%s", zv_str(p, "wire", "-"),
                      json_is_true(json_object_get(p, "wire_learned")) ? " (learned)" : "");
        char status_text[64];
        disabled_status(p, status, status_text, sizeof(status_text));
        zv_table_cell(&t, zv_status_color(status), "%s", status_text);
        zv_table_cell(&t, zv_status_color(circuit), "%s", circuit);
        zv_table_cell(&t, NULL, "%s", cooldown);
        zv_table_cell(&t, NULL, "%lld", zv_int(p, "requests"));
        zv_table_cell(&t, NULL, "%.1f", 100.0 * zv_num(p, "error_rate"));
        zv_table_cell(&t, NULL, "%s", p50);
        zv_table_cell(&t, NULL, "%s", p95);
        zv_table_cell(&t, NULL, "%s", p99);
        /* least-latency's EWMA of successful attempts' TTFB, and its sample count */
        long long samples = zv_int(p, "ttfb_samples");
        char ttfb[16];
        zv_ms(zv_num(p, "ttfb_ewma_ms"), ttfb, sizeof(ttfb));
        if (samples > 0)
            zv_table_cell(&t, NULL, "%s/%lld", ttfb, samples);
        else
            zv_table_cell(&t, NULL, "-");
        zv_table_cell(&t, NULL, "%s", last);
    }
    zv_table_print(&t, stdout, ctx->color);
    zv_table_free(&t);
    if (json_array_size(json_object_get(res, "providers")))
        print_endpoints(json_object_get(res, "providers"), ctx->color);
    json_decref(res);
    return ZEN_EXIT_OK;
}

/* provider enable|disable NAME [--for DURATION]: runtime only; zen.json is
 * not touched, so a restart forgets it. */
int zc_cmd_provider(struct zc_ctx *ctx)
{
    const char *action = ctx->positional[0], *name = ctx->positional[1];
    const char *method = strcmp(action, "enable") == 0    ? RPC_PROVIDER_ENABLE
                         : strcmp(action, "disable") == 0 ? RPC_PROVIDER_DISABLE
                                                          : NULL;
    if (!method) {
        zc_error("provider takes enable or disable, not '%s'", action);
        return ZEN_EXIT_USAGE;
    }
    json_t *params = json_pack("{s:s}", "name", name);
    const char *for_v = zc_flag_value(ctx, "for");
    double for_s = 0;
    if (for_v) {
        if (zc_parse_seconds("--for", for_v, 1, RPC_DISABLE_MAX_S, &for_s) != ZEN_OK) {
            json_decref(params);
            return ZEN_EXIT_USAGE;
        }
        /* Whole seconds travel as an integer, the type zend's other
         * duration params use. */
        json_object_set_new(params, "for_s", for_s == floor(for_s)
                                                 ? json_integer((json_int_t)for_s)
                                                 : json_real(for_s));
    }
    json_t *res = NULL;
    int rc = zc_call_once(ctx, method, params, &res);
    json_decref(params);
    if (rc != ZEN_EXIT_OK)
        return rc;
    if (ctx->output == ZC_OUT_JSON) {
        zc_print_json(res);
    } else {
        res = zv_escaped_take(res);
        const json_t *disabled = json_object_get(res, "disabled");
        int is_disabled = disabled ? json_is_true(disabled) : strcmp(action, "disable") == 0;
        const json_t *until = json_object_get(res, "until_s");
        char span[64];
        if (is_disabled && json_is_number(until)) {
            zv_duration(json_number_value(until), span, sizeof(span));
            printf("%s disabled for %s (until then zend skips it)\n", name, span);
        } else if (is_disabled) {
            printf("%s disabled until `zenctl provider enable %s` or a restart\n", name, name);
        } else {
            printf("%s enabled\n", name);
        }
    }
    json_decref(res);
    return ZEN_EXIT_OK;
}

/* Hidden: provider names one a line, for the completion scripts. Silent on
 * every error (a completion must not spill text on the prompt). A zend
 * without the providers method still names the providers it has served,
 * in its metrics. */
int zc_cmd_provider_names(struct zc_ctx *ctx)
{
    struct zc_client c;
    char err[ZEN_ERRLEN];
    int code;
    json_t *res = NULL;
    int timeout = zc_flag_value(ctx, "timeout") ? ctx->timeout_ms : NAME_LIST_TIMEOUT_MS;
    int st = zc_connect(&c, ctx->sock_path, timeout, err, sizeof(err));
    if (st == ZC_OK)
        st = zc_call(&c, RPC_PROVIDERS, NULL, &res, &code, err, sizeof(err));
    if (st == ZC_REMOTE_ERROR && code == RPC_ERR_UNKNOWN_METHOD)
        st = zc_call(&c, RPC_METRICS, NULL, &res, &code, err, sizeof(err));
    zc_close(&c);
    if (st != ZC_OK)
        return st == ZC_REMOTE_ERROR ? ZEN_EXIT_FAILURE : st;
    res = zv_escaped_take(res); /* the shell may echo these names */
    const json_t *providers = json_object_get(res, "providers");
    size_t i;
    const char *name;
    json_t *p;
    if (json_is_array(providers)) {
        json_array_foreach(providers, i, p)
            if (json_is_string(json_object_get(p, "name")))
                printf("%s\n", zv_str(p, "name", ""));
    } else {
        json_object_foreach((json_t *)providers, name, p)
            printf("%s\n", name);
    }
    json_decref(res);
    return ZEN_EXIT_OK;
}
