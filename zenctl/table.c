/* table.c -- the rows of zenctl's command table. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"

static const char *const output_choices[] = {"table", "json", "prom", NULL};
static const char *const shell_choices[] = {"bash", "zsh", "fish", NULL};

const struct zc_flag zc_global_flags[] = {
    {'s', "socket", "SOCKET", "control socket (default: $ZEN_SOCKET, else HOME/zend.sock)", NULL, 1},
    {'H', "home", "HOME", "zend's state directory (default: $ZEN_HOME, $GOZEN_CONFIG_DIR, ~/.zen)", NULL, 1},
    {'o', "output", "FORMAT", "output format: table, json or prom", output_choices, 0},
    {0, "timeout", "MS", "how long to wait for zend (default 5000)", NULL, 0},
    {0, "no-color", NULL, "never use colour", NULL, 0},
    {'h', "help", NULL, "show help", NULL, 0},
    {0, NULL, NULL, NULL, NULL, 0},
};

static const struct zc_flag no_flags[] = {{0, NULL, NULL, NULL, NULL, 0}};

static const struct zc_flag shutdown_flags[] = {
    {0, "drain-timeout", "SECONDS", "let in-flight requests finish for up to SECONDS", NULL, 0},
    {0, "no-wait", NULL, "return once zend has started shutting down", NULL, 0},
    {0, NULL, NULL, NULL, NULL, 0},
};

const struct zc_command zc_commands[] = {
    {"status", "", "pid, version, uptime, listen address, state, restarts, in-flight",
     no_flags, NULL, 0, 0, 0, 1, zc_cmd_status},
    {"shutdown", "", "stop zend gracefully and wait until it has exited",
     shutdown_flags, NULL, 0, 0, 0, 1, zc_cmd_shutdown},
    {"metrics", "", "request counts, latency percentiles, errors by provider and type",
     no_flags, NULL, 0, 0, 0, 1, zc_cmd_metrics},
    {"version", "", "print zenctl's version and the running zend's",
     no_flags, NULL, 0, 0, 0, 1, zc_cmd_version},
    {"completion", "bash|zsh|fish", "print a shell completion script",
     no_flags, shell_choices, 0, 1, 1, 0, zc_cmd_completion},
    {"help", "[COMMAND]", "show help for zenctl or one command",
     no_flags, NULL, 1, 0, 1, 0, zc_cmd_help},
    {NULL, NULL, NULL, NULL, NULL, 0, 0, 0, 0, NULL},
};

const struct zc_command *zc_find_command(const char *name)
{
    for (const struct zc_command *c = zc_commands; c->name; c++)
        if (strcmp(c->name, name) == 0)
            return c;
    return NULL;
}

const char *zc_flag_value(const struct zc_ctx *ctx, const char *long_name)
{
    for (int i = ctx->nflags - 1; i >= 0; i--)
        if (strcmp(ctx->flags[i].flag->long_name, long_name) == 0)
            return ctx->flags[i].value;
    return NULL;
}

static void print_flags(FILE *out, const struct zc_flag *flags)
{
    for (const struct zc_flag *f = flags; f->long_name; f++) {
        char head[64];
        snprintf(head, sizeof(head), "%s%c%s--%s%s%s", f->short_name ? "-" : "",
                 f->short_name ? f->short_name : ' ', f->short_name ? ", " : "  ",
                 f->long_name, f->arg ? " " : "", f->arg ? f->arg : "");
        fprintf(out, "  %-24s %s\n", head + (f->short_name ? 0 : 1), f->help);
    }
}

void zc_usage(FILE *out)
{
    fprintf(out, "usage: zenctl [-s SOCKET] [-H HOME] [-o table|json|prom] [--timeout MS] "
                 "[--no-color] COMMAND\n\nControl a running zend over its control socket.\n\n"
                 "Commands:\n");
    for (const struct zc_command *c = zc_commands; c->name; c++) {
        char head[64];
        snprintf(head, sizeof(head), "%s %s", c->name, c->args);
        fprintf(out, "  %-24s %s\n", head, c->summary);
    }
    fprintf(out, "\nOptions:\n");
    print_flags(out, zc_global_flags);
    fprintf(out, "\nExit codes: 0 ok, 1 zend answered an error, 3 zend not running or "
                 "unreachable,\n4 permission denied, 64 usage error.\n");
}

void zc_command_usage(FILE *out, const struct zc_command *cmd)
{
    fprintf(out, "usage: zenctl [options] %s", cmd->name);
    for (const struct zc_flag *f = cmd->flags; f->long_name; f++)
        fprintf(out, " [--%s%s%s]", f->long_name, f->arg ? " " : "", f->arg ? f->arg : "");
    fprintf(out, "%s%s\n\n%s\n", cmd->args[0] ? " " : "", cmd->args, cmd->summary);
    if (cmd->flags[0].long_name) {
        fprintf(out, "\nOptions:\n");
        print_flags(out, cmd->flags);
    }
    fprintf(out, "\nGlobal options: see zenctl --help\n");
}
