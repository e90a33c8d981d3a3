/* zenctl -- command-line control for a running zend (README "zenctl").
 *
 * Parsing is table-driven (table.c): global flags may appear before or after
 * the command; each command adds its own. Exit codes follow LSB: 0 ok,
 * 1 zend answered an error, 3 not running, 4 permission denied, 64 usage. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "common.h"
#include "paths.h"
#include "view.h"

#define ZC_DEFAULT_TIMEOUT_MS 5000

/* Messages often carry zend's own words (an RPC error, a provider name):
 * escaped like every other text from zend before they reach the terminal. */
void zc_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = NULL;
    if (vasprintf(&msg, fmt, ap) < 0)
        msg = NULL;
    va_end(ap);
    char *safe = zv_escape(msg);
    fprintf(stderr, "zenctl: %s\n", safe ? safe : "(out of memory)");
    free(safe);
    free(msg);
}

/* Ten significant digits, as zend's own log lines: 0.1 prints as 0.1. */
#define ZC_JSON_PRECISION JSON_REAL_PRECISION(10)

static void print_json_flags(const json_t *doc, size_t flags)
{
    char *s = json_dumps(doc, flags | ZC_JSON_PRECISION);
    if (s)
        printf("%s\n", s);
    free(s);
}

void zc_print_json(const json_t *doc)
{
    print_json_flags(doc, isatty(STDOUT_FILENO) ? JSON_INDENT(2) : JSON_COMPACT);
}

void zc_print_json_line(const json_t *doc)
{
    print_json_flags(doc, JSON_COMPACT);
}

static const struct zc_flag *find_flag(const struct zc_flag *flags, const char *arg)
{
    for (const struct zc_flag *f = flags; f && f->long_name; f++) {
        if (arg[1] == '-' ? strcmp(arg + 2, f->long_name) == 0
                          : (f->short_name && arg[1] == f->short_name && arg[2] == '\0'))
            return f;
    }
    return NULL;
}

/* Parses argv into ctx; returns the command, or NULL after printing why. */
static const struct zc_command *parse_args(int argc, char **argv, struct zc_ctx *ctx)
{
    const struct zc_command *cmd = NULL;
    int only_positional = 0;
    for (int i = 1; i < argc; i++) {
        char *arg = argv[i];
        if (!only_positional && strcmp(arg, "--") == 0) {
            only_positional = 1;
            continue;
        }
        if (!only_positional && arg[0] == '-' && arg[1] != '\0') {
            char name[128];
            char *eq = arg[1] == '-' ? strchr(arg, '=') : NULL;
            snprintf(name, sizeof(name), "%.*s", eq ? (int)(eq - arg) : (int)strlen(arg), arg);
            const struct zc_flag *f = find_flag(zc_global_flags, name);
            if (!f && cmd)
                f = find_flag(cmd->flags, name);
            if (!f) {
                zc_error("unknown option %s (see zenctl%s%s --help)", name, cmd ? " " : "",
                         cmd ? cmd->name : "");
                return NULL;
            }
            const char *value = "";
            if (f->arg) {
                if (eq) {
                    value = eq + 1;
                } else if (i + 1 < argc) {
                    value = argv[++i];
                } else {
                    zc_error("%s needs a value (%s)", name, f->arg);
                    return NULL;
                }
            } else if (eq) {
                zc_error("%s takes no value", name);
                return NULL;
            }
            if (ctx->nflags >= ZC_MAX_FLAG_VALUES) {
                zc_error("too many options");
                return NULL;
            }
            ctx->flags[ctx->nflags].flag = f;
            ctx->flags[ctx->nflags++].value = value;
            continue;
        }
        if (!cmd) {
            cmd = zc_find_command(arg);
            if (!cmd) {
                zc_error("unknown command '%s' (see zenctl --help)", arg);
                return NULL;
            }
            continue;
        }
        /* Named right away, whatever follows: `status extra` is a typo or a
         * misunderstanding, and the word says which. */
        if (ctx->npositional >= cmd->max_args || ctx->npositional >= ZC_MAX_POSITIONAL) {
            zc_error("%s: unexpected argument '%s' (see zenctl %s --help)", cmd->name, arg,
                     cmd->name);
            return NULL;
        }
        ctx->positional[ctx->npositional++] = arg;
    }
    if (zc_flag_value(ctx, "version")) {
        printf("zenctl %s\n", ZEN_VERSION_STRING);
        exit(ZEN_EXIT_OK);
    }
    if (zc_flag_value(ctx, "help")) {
        if (cmd)
            zc_command_usage(stdout, cmd);
        else
            zc_usage(stdout);
        exit(ZEN_EXIT_OK);
    }
    if (!cmd) {
        zc_usage(stderr);
        return NULL;
    }
    if (ctx->npositional < cmd->min_args) {
        zc_error("%s: missing argument (expects %s)", cmd->name, cmd->args);
        zc_command_usage(stderr, cmd);
        return NULL;
    }
    return cmd;
}

static const char *const output_names[] = {
    [ZC_OUT_TABLE] = "table", [ZC_OUT_JSON] = "json", [ZC_OUT_PROM] = "prom",
    [ZC_OUT_SHORT] = "short", [ZC_OUT_CSV] = "csv"};

/* -o must name a format the command has (its row's outputs). */
static int apply_output(struct zc_ctx *ctx, const struct zc_command *cmd)
{
    const char *v = zc_flag_value(ctx, "output");
    ctx->output = ZC_OUT_TABLE;
    if (!v)
        return ZEN_OK;
    ctx->output_set = 1;
    size_t i = 0;
    while (i < ZEN_ARRAY_LEN(output_names) && strcmp(v, output_names[i]) != 0)
        i++;
    if (i == ZEN_ARRAY_LEN(output_names)) {
        zc_error("-o must be table, json, prom, short or csv, not '%s'", v);
        return ZEN_ERR;
    }
    ctx->output = (enum zc_output)i;
    if (cmd->outputs & ZC_OUT_BIT(ctx->output))
        return ZEN_OK;
    char have[64] = "";
    size_t left = 0;
    for (size_t j = 0; j < ZEN_ARRAY_LEN(output_names); j++)
        left += (cmd->outputs & ZC_OUT_BIT(j)) != 0;
    for (size_t j = 0; j < ZEN_ARRAY_LEN(output_names); j++) {
        if (!(cmd->outputs & ZC_OUT_BIT(j)))
            continue;
        left--;
        snprintf(have + strlen(have), sizeof(have) - strlen(have), "%s-o %s",
                 !have[0] ? "" : left ? ", " : " or ", output_names[j]);
    }
    zc_error("%s has no %s output; use %s", cmd->name, v, have);
    return ZEN_ERR;
}

static int apply_global_flags(struct zc_ctx *ctx, const struct zc_command *cmd)
{
    const char *v;
    if (apply_output(ctx, cmd) != ZEN_OK)
        return ZEN_ERR;
    ctx->timeout_ms = ZC_DEFAULT_TIMEOUT_MS;
    if ((v = zc_flag_value(ctx, "timeout"))) {
        char *end;
        errno = 0;
        long ms = strtol(v, &end, 10);
        if (!*v || *end || errno || ms <= 0 || ms > 86400000) {
            zc_error("--timeout takes milliseconds (1..86400000), not '%s'", v);
            return ZEN_ERR;
        }
        ctx->timeout_ms = (int)ms;
    }
    ctx->color = isatty(STDOUT_FILENO) && !getenv("NO_COLOR") && !zc_flag_value(ctx, "no-color");
    return ZEN_OK;
}

/* -s, else $ZEN_SOCKET, else HOME/zend.sock with HOME resolved as zend does. */
static int resolve_socket(struct zc_ctx *ctx)
{
    const char *sock = zc_flag_value(ctx, "socket");
    if (!sock || !*sock)
        sock = getenv("ZEN_SOCKET");
    if (sock && *sock) {
        snprintf(ctx->sock_path, sizeof(ctx->sock_path), "%s", sock);
        return ZEN_OK;
    }
    char home[PATH_MAX], err[ZEN_ERRLEN];
    if (zpaths_home(home, sizeof(home), zc_flag_value(ctx, "home"), err, sizeof(err)) != ZEN_OK ||
        zpaths_join(ctx->sock_path, sizeof(ctx->sock_path), home, "zend.sock") != ZEN_OK) {
        zc_error("%s", err);
        return ZEN_ERR;
    }
    return ZEN_OK;
}

int main(int argc, char **argv)
{
    static struct zc_ctx ctx;
    const struct zc_command *cmd = parse_args(argc, argv, &ctx);
    if (!cmd || apply_global_flags(&ctx, cmd) != ZEN_OK)
        return ZEN_EXIT_USAGE;
    if (cmd->needs_daemon && resolve_socket(&ctx) != ZEN_OK)
        return ZEN_EXIT_USAGE;
    return cmd->run(&ctx);
}
