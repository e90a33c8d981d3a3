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
#include "view.h"

#define ZC_EXIT_POLL_MS 20

int zc_fail(int status, const char *err)
{
    zc_error("%s", err);
    return status == ZC_REMOTE_ERROR ? ZEN_EXIT_FAILURE : status;
}

int zc_call_once(const struct zc_ctx *ctx, const char *method, const json_t *params,
                 json_t **result)
{
    struct zc_client c;
    char err[ZEN_ERRLEN];
    int code;
    int st = zc_connect(&c, ctx->sock_path, ctx->timeout_ms, err, sizeof(err));
    if (st == ZC_OK)
        st = zc_call(&c, method, params, result, &code, err, sizeof(err));
    zc_close(&c);
    return st == ZC_OK ? ZEN_EXIT_OK : zc_fail(st, err);
}

int zc_call_for_view(const struct zc_ctx *ctx, const char *method, json_t **view)
{
    json_t *res = NULL;
    *view = NULL;
    int rc = zc_call_once(ctx, method, NULL, &res);
    if (rc != ZEN_EXIT_OK)
        return rc;
    if (ctx->output == ZC_OUT_JSON) {
        zc_print_json(res);
        json_decref(res);
        return ZEN_EXIT_OK;
    }
    *view = zv_escaped_take(res);
    return ZEN_EXIT_OK;
}

int zc_parse_seconds(const char *flag, const char *v, double min, double max, double *out)
{
    static const struct {
        const char *suffix;
        double secs;
    } units[] = {{"", 1}, {"ms", 0.001}, {"s", 1}, {"m", 60}, {"h", 3600}, {"d", 86400}};
    char *end;
    errno = 0;
    double secs = strtod(v, &end);
    size_t u = 0;
    while (u < ZEN_ARRAY_LEN(units) && strcmp(end, units[u].suffix) != 0)
        u++;
    if (u < ZEN_ARRAY_LEN(units))
        secs *= units[u].secs;
    if (!*v || end == v || u == ZEN_ARRAY_LEN(units) || errno || !(secs >= min && secs <= max)) {
        char lo[32], hi[32];
        zv_duration(min, lo, sizeof(lo));
        zv_duration(max, hi, sizeof(hi));
        zc_error("%s takes seconds or a duration such as 90s, 30m, 2h or 1d (%.10g to %.10g "
                 "seconds: %s to %s), not '%s'", flag, min, max, lo, hi, v);
        return ZEN_ERR;
    }
    *out = secs;
    return ZEN_OK;
}

int zc_cmd_status(struct zc_ctx *ctx)
{
    json_t *st = NULL;
    int rc = zc_call_once(ctx, RPC_STATUS, NULL, &st);
    if (rc != ZEN_EXIT_OK)
        return rc;
    if (ctx->output == ZC_OUT_JSON) {
        zc_print_json(st);
    } else {
        st = zv_escaped_take(st);
        char up[64];
        zv_duration(zv_num(st, "uptime_s"), up, sizeof(up));
        const char *state = zv_str(st, "state", "?");
        printf("zend %s %s%s%s\n", zv_str(st, "version", "?"),
               ctx->color ? zv_status_color(state) : "", state, ctx->color ? ZV_RESET : "");
        printf("  %-11s %lld (supervisor %lld)\n", "pid", zv_int(st, "pid"),
               zv_int(st, "supervisor_pid"));
        printf("  %-11s %s\n", "uptime", up);
        printf("  %-11s %s\n", "listen", zv_str(st, "listen", "?"));
        printf("  %-11s %s (hash %s)\n", "config", zv_str(st, "config_path", "?"),
               zv_str(st, "config_hash", "?"));
        printf("  %-11s %lld\n", "restarts", zv_int(st, "restarts"));
        printf("  %-11s %lld\n", "in flight", zv_int(st, "in_flight"));
    }
    json_decref(st);
    return ZEN_EXIT_OK;
}

/* Prints "  label: a, b, c" for a non-empty array of strings. */
static void print_name_list(const char *label, const json_t *names)
{
    if (json_array_size(names) == 0)
        return;
    printf("  %-17s", label);
    size_t i;
    json_t *v;
    json_array_foreach(names, i, v) {
        char *s = json_is_string(v) ? NULL : json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
        printf("%s%s", i ? ", " : " ", s ? s : json_string_value(v));
        free(s);
    }
    printf("\n");
}

/* zend re-reads zen.json. A config that does not parse or validate comes
 * back as error 4, whose message names file:line:col; that is all we print. */
int zc_cmd_reload(struct zc_ctx *ctx)
{
    json_t *res;
    int rc = zc_call_for_view(ctx, RPC_RELOAD, &res);
    if (rc != ZEN_EXIT_OK || !res)
        return rc; /* a failure, or -o json already printed */
    static const char *const lists[] = {"added", "removed", "changed"};
    size_t changes = 0;
    for (size_t i = 0; i < ZEN_ARRAY_LEN(lists); i++)
        changes += json_array_size(json_object_get(res, lists[i]));
    const json_t *restart = json_object_get(res, "restart_required");
    printf("reloaded (config hash %s): %s\n", zv_str(res, "config_hash", "?"),
           changes || json_array_size(restart) ? "" : "nothing changed");
    for (size_t i = 0; i < ZEN_ARRAY_LEN(lists); i++)
        print_name_list(lists[i], json_object_get(res, lists[i]));
    print_name_list("restart required", restart);
    if (json_array_size(restart))
        printf("  (these take effect only when zend restarts: zenctl shutdown, then zend)\n");
    json_decref(res);
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

/* Nothing to stop: a note on stderr, exit 0; -o json says {"running": false}. */
static int shutdown_not_running(const struct zc_ctx *ctx)
{
    zc_error("zend is not running (nothing to stop; no zend at %s)", ctx->sock_path);
    if (ctx->output == ZC_OUT_JSON) {
        json_t *out = json_pack("{s:b}", "running", 0);
        zc_print_json(out);
        json_decref(out);
    }
    return ZEN_EXIT_OK;
}

int zc_cmd_shutdown(struct zc_ctx *ctx)
{
    json_t *params = json_object();
    const char *drain = zc_flag_value(ctx, "drain-timeout");
    long long drain_ms;
    double drain_s;
    if (drain) {
        if (zc_parse_seconds("--drain-timeout", drain, 0, 86400, &drain_s) != ZEN_OK) {
            json_decref(params);
            return ZEN_EXIT_USAGE;
        }
        json_object_set_new(params, "drain_timeout_ms",
                            json_integer((json_int_t)(drain_s * 1000.0)));
    }
    struct zc_client c;
    char err[ZEN_ERRLEN];
    int code;
    json_t *res = NULL, *summary = NULL;
    int st = zc_connect(&c, ctx->sock_path, ctx->timeout_ms, err, sizeof(err));
    if (st != ZC_OK && c.not_running) {
        /* As `systemctl stop` of a stopped unit: what was asked for holds. */
        json_decref(params);
        zc_close(&c);
        return shutdown_not_running(ctx);
    }
    if (st == ZC_OK)
        st = zc_call(&c, RPC_SHUTDOWN, params, &res, &code, err, sizeof(err));
    json_decref(params);
    if (st != ZC_OK) {
        zc_close(&c);
        return zc_fail(st, err);
    }
    long long pid = zv_int(res, "pid");
    drain_ms = zv_int(res, "drain_timeout_ms");
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
            char span[32];
            zv_duration((double)drain_ms / 1000.0, span, sizeof(span));
            printf("zend (pid %lld) is shutting down (draining for up to %s)\n", pid, span);
        } else {
            printf("zend (pid %lld) stopped: drained %lld, aborted %lld\n", pid,
                   zv_int(summary, "drained"), zv_int(summary, "aborted"));
        }
    }
    json_decref(summary);
    json_decref(res);
    return rc;
}

int zc_cmd_version(struct zc_ctx *ctx)
{
    struct zc_client c;
    char err[ZEN_ERRLEN];
    int code;
    json_t *hello = NULL;
    /* The daemon's half is optional: version works without a running zend. */
    if (zc_connect(&c, ctx->sock_path, ctx->timeout_ms, err, sizeof(err)) == ZC_OK)
        zc_call(&c, RPC_HELLO, NULL, &hello, &code, err, sizeof(err));
    zc_close(&c);
    if (hello && ctx->output != ZC_OUT_JSON)
        hello = zv_escaped_take(hello);
    const char *zend_version = hello ? zv_str(hello, "version", "?") : NULL;
    if (ctx->output == ZC_OUT_JSON) {
        json_t *out = json_pack("{s:s, s:i, s:o}", "zenctl", ZEN_VERSION_STRING, "proto",
                                RPC_PROTO_VERSION, "zend",
                                zend_version ? json_string(zend_version) : json_null());
        zc_print_json(out);
        json_decref(out);
    } else {
        printf("zenctl %s (protocol %d)\n", ZEN_VERSION_STRING, RPC_PROTO_VERSION);
        if (zend_version)
            printf("zend %s (pid %lld)\n", zend_version, zv_int(hello, "pid"));
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
