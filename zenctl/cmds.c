/* cmds.c -- handlers for zenctl's commands (the rows of table.c). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client.h"
#include "commands.h"
#include "common.h"
#include "methods.h"
#include "timeutil.h"

#define ZC_EXIT_POLL_MS 20

/* Maps a client status to an exit code, printing the message first. */
static int fail_status(int status, const char *err)
{
    zc_error("%s", err);
    return status == ZC_REMOTE_ERROR ? ZEN_EXIT_FAILURE : status;
}

static int refuse_prom(const struct zc_ctx *ctx, const char *cmd)
{
    if (ctx->output != ZC_OUT_PROM)
        return 0;
    zc_error("%s has no Prometheus output; use -o table or -o json", cmd);
    return 1;
}

/* One call on a fresh connection: the common shape of read-only commands. */
static int call_once(struct zc_ctx *ctx, const char *method, const json_t *params,
                     json_t **result)
{
    struct zc_client c;
    char err[ZEN_ERRLEN];
    int code;
    int st = zc_connect(&c, ctx->sock_path, ctx->timeout_ms, err, sizeof(err));
    if (st == ZC_OK)
        st = zc_call(&c, method, params, result, &code, err, sizeof(err));
    zc_close(&c);
    return st == ZC_OK ? ZEN_EXIT_OK : fail_status(st, err);
}

static void format_duration(double secs, char *out, size_t outlen)
{
    long s = (long)secs;
    if (s >= 86400)
        snprintf(out, outlen, "%ldd %ldh %ldm", s / 86400, s % 86400 / 3600, s % 3600 / 60);
    else if (s >= 3600)
        snprintf(out, outlen, "%ldh %ldm %lds", s / 3600, s % 3600 / 60, s % 60);
    else if (s >= 60)
        snprintf(out, outlen, "%ldm %lds", s / 60, s % 60);
    else
        snprintf(out, outlen, "%.1fs", secs);
}

static const char *str_field(const json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    return s ? s : "?";
}

static long long int_field(const json_t *obj, const char *key)
{
    return (long long)json_integer_value(json_object_get(obj, key));
}

int zc_cmd_status(struct zc_ctx *ctx)
{
    if (refuse_prom(ctx, "status"))
        return ZEN_EXIT_USAGE;
    json_t *st = NULL;
    int rc = call_once(ctx, RPC_STATUS, NULL, &st);
    if (rc != ZEN_EXIT_OK)
        return rc;
    if (ctx->output == ZC_OUT_JSON) {
        zc_print_json(st);
    } else {
        char up[64];
        format_duration(json_number_value(json_object_get(st, "uptime_s")), up, sizeof(up));
        const char *state = str_field(st, "state");
        int good = strcmp(state, "running") == 0;
        printf("zend %s %s%s%s\n", str_field(st, "version"),
               ctx->color ? (good ? "\033[32m" : "\033[33m") : "", state,
               ctx->color ? "\033[0m" : "");
        printf("  %-11s %lld (supervisor %lld)\n", "pid", int_field(st, "pid"),
               int_field(st, "supervisor_pid"));
        printf("  %-11s %s\n", "uptime", up);
        printf("  %-11s %s\n", "listen", str_field(st, "listen"));
        printf("  %-11s %s (hash %s)\n", "config", str_field(st, "config_path"),
               str_field(st, "config_hash"));
        printf("  %-11s %lld\n", "restarts", int_field(st, "restarts"));
        printf("  %-11s %lld\n", "in flight", int_field(st, "in_flight"));
    }
    json_decref(st);
    return ZEN_EXIT_OK;
}

static double num_field(const json_t *obj, const char *key)
{
    return json_number_value(json_object_get(obj, key));
}

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

int zc_cmd_metrics(struct zc_ctx *ctx)
{
    if (ctx->output == ZC_OUT_PROM) {
        zc_error("-o prom is not available yet; use -o json");
        return ZEN_EXIT_USAGE;
    }
    json_t *m = NULL;
    int rc = call_once(ctx, RPC_METRICS, NULL, &m);
    if (rc != ZEN_EXIT_OK)
        return rc;
    if (ctx->output == ZC_OUT_JSON) {
        zc_print_json(m);
    } else {
        printf("  %-11s %lld total, %lld ok, %lld failed (%.1f%% success), %lld in flight\n",
               "requests", int_field(m, "requests_total"), int_field(m, "success_count"),
               int_field(m, "error_count"), 100.0 * num_field(m, "success_rate"),
               int_field(m, "in_flight"));
        printf("  %-11s p50 %.0fms  p95 %.0fms  p99 %.0fms  max %.0fms\n", "latency",
               num_field(m, "latency_p50_ms"), num_field(m, "latency_p95_ms"),
               num_field(m, "latency_p99_ms"), num_field(m, "latency_max_ms"));
        printf("  %-11s p50 %.0fms  p95 %.0fms  p99 %.0fms\n", "ttfb",
               num_field(m, "ttfb_p50_ms"), num_field(m, "ttfb_p95_ms"),
               num_field(m, "ttfb_p99_ms"));
        printf("  %-11s %lld attempts, %lld failovers\n", "attempts",
               int_field(m, "attempts_total"), int_field(m, "failovers_total"));
        print_counts("status", json_object_get(m, "status_codes"));
        print_counts("errors", json_object_get(m, "errors_by_type"));
        print_counts("by provider", json_object_get(m, "errors_by_provider"));
    }
    json_decref(m);
    return ZEN_EXIT_OK;
}

/* A zombie has exited too: it only waits for its parent to reap it. */
static int process_alive(long long pid)
{
    char path[64], buf[256];
    snprintf(path, sizeof(path), "/proc/%lld/stat", pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *paren = strrchr(buf, ')'); /* comm may hold spaces */
    return !(paren && paren[1] == ' ' && paren[2] == 'Z');
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* After the answer: wait for shutdown.done and the close, then the exit. */
static int wait_for_exit(struct zc_ctx *ctx, struct zc_client *c, long long pid,
                         int64_t deadline, json_t **summary)
{
    char err[ZEN_ERRLEN];
    for (;;) {
        int left = (int)(deadline - ztime_mono_ms());
        struct rpc_message m;
        int got = zc_read_message(c, &m, left > 0 ? left : 0, err, sizeof(err));
        if (got == 0)
            break; /* closed: zend is exiting */
        if (got < 0) {
            zc_error("zend (pid %lld) did not finish shutting down: %s", pid, err);
            return ZEN_EXIT_FAILURE;
        }
        if (m.type == RPC_NOTIFICATION && strcmp(m.method, RPC_NOTIFY_SHUTDOWN_DONE) == 0) {
            json_decref(*summary);
            *summary = json_incref(m.params);
        }
        rpc_message_clear(&m);
    }
    while (process_alive(pid)) {
        if (ztime_mono_ms() >= deadline) {
            zc_error("zend (pid %lld) closed its control socket but has not exited", pid);
            return ZEN_EXIT_FAILURE;
        }
        sleep_ms(ZC_EXIT_POLL_MS);
    }
    return ZEN_EXIT_OK;
}

static int parse_drain_timeout(const char *v, long long *ms)
{
    char *end;
    errno = 0;
    double secs = strtod(v, &end);
    if (!*v || *end || errno || secs < 0 || secs > 86400) {
        zc_error("--drain-timeout takes seconds (0..86400), not '%s'", v);
        return ZEN_ERR;
    }
    *ms = (long long)(secs * 1000.0);
    return ZEN_OK;
}

int zc_cmd_shutdown(struct zc_ctx *ctx)
{
    if (refuse_prom(ctx, "shutdown"))
        return ZEN_EXIT_USAGE;
    json_t *params = json_object();
    const char *drain = zc_flag_value(ctx, "drain-timeout");
    long long drain_ms;
    if (drain) {
        if (parse_drain_timeout(drain, &drain_ms) != ZEN_OK) {
            json_decref(params);
            return ZEN_EXIT_USAGE;
        }
        json_object_set_new(params, "drain_timeout_ms", json_integer(drain_ms));
    }
    struct zc_client c;
    char err[ZEN_ERRLEN];
    int code;
    json_t *res = NULL, *summary = NULL;
    int st = zc_connect(&c, ctx->sock_path, ctx->timeout_ms, err, sizeof(err));
    if (st == ZC_OK)
        st = zc_call(&c, RPC_SHUTDOWN, params, &res, &code, err, sizeof(err));
    json_decref(params);
    if (st != ZC_OK) {
        zc_close(&c);
        return fail_status(st, err);
    }
    long long pid = int_field(res, "pid");
    drain_ms = int_field(res, "drain_timeout_ms");
    int rc = ZEN_EXIT_OK;
    if (!zc_flag_value(ctx, "no-wait")) {
        /* zend may take the whole drain budget; allow our timeout on top. */
        int64_t deadline = ztime_mono_ms() + drain_ms + ctx->timeout_ms;
        rc = wait_for_exit(ctx, &c, pid, deadline, &summary);
    }
    zc_close(&c);
    if (rc == ZEN_EXIT_OK) {
        int waited = summary != NULL;
        if (ctx->output == ZC_OUT_JSON) {
            json_t *out = json_pack("{s:I, s:b}", "pid", (json_int_t)pid, "exited",
                                    !zc_flag_value(ctx, "no-wait"));
            if (waited)
                json_object_update(out, summary);
            zc_print_json(out);
            json_decref(out);
        } else if (zc_flag_value(ctx, "no-wait")) {
            printf("zend (pid %lld) is shutting down (draining for up to %.1f s)\n", pid,
                   (double)drain_ms / 1000.0);
        } else {
            printf("zend (pid %lld) stopped: drained %lld, aborted %lld\n", pid,
                   int_field(summary, "drained"), int_field(summary, "aborted"));
        }
    }
    json_decref(summary);
    json_decref(res);
    return rc;
}

int zc_cmd_version(struct zc_ctx *ctx)
{
    if (refuse_prom(ctx, "version"))
        return ZEN_EXIT_USAGE;
    struct zc_client c;
    char err[ZEN_ERRLEN];
    int code;
    json_t *hello = NULL;
    /* The daemon's half is optional: version works without a running zend. */
    if (zc_connect(&c, ctx->sock_path, ctx->timeout_ms, err, sizeof(err)) == ZC_OK)
        zc_call(&c, RPC_HELLO, NULL, &hello, &code, err, sizeof(err));
    zc_close(&c);
    const char *zend_version = hello ? str_field(hello, "version") : NULL;
    if (ctx->output == ZC_OUT_JSON) {
        json_t *out = json_pack("{s:s, s:i, s:o}", "zenctl", ZEN_VERSION_STRING, "proto",
                                RPC_PROTO_VERSION, "zend",
                                zend_version ? json_string(zend_version) : json_null());
        zc_print_json(out);
        json_decref(out);
    } else {
        printf("zenctl %s (protocol %d)\n", ZEN_VERSION_STRING, RPC_PROTO_VERSION);
        if (zend_version)
            printf("zend %s (pid %lld)\n", zend_version, int_field(hello, "pid"));
        else
            printf("zend not reachable at %s\n", ctx->sock_path);
    }
    json_decref(hello);
    return ZEN_EXIT_OK;
}

int zc_cmd_completion(struct zc_ctx *ctx)
{
    if (zc_completion_print(ctx->positional[0]) != ZEN_OK) {
        zc_error("completion supports bash, zsh and fish, not '%s'", ctx->positional[0]);
        return ZEN_EXIT_USAGE;
    }
    return ZEN_EXIT_OK;
}

int zc_cmd_help(struct zc_ctx *ctx)
{
    if (ctx->npositional == 0) {
        zc_usage(stdout);
        return ZEN_EXIT_OK;
    }
    const struct zc_command *cmd = zc_find_command(ctx->positional[0]);
    if (!cmd) {
        zc_error("unknown command '%s' (see zenctl --help)", ctx->positional[0]);
        return ZEN_EXIT_USAGE;
    }
    zc_command_usage(stdout, cmd);
    return ZEN_EXIT_OK;
}
