/* table.c -- the rows of zenctl's command table. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "log_events.h"
#include "usage_view.h"

static const char *const output_choices[] = {"table", "json", "prom", "short", "csv", NULL};
static const char *const shell_choices[] = {"bash", "zsh", "fish", NULL};
static const char *const provider_actions[] = {"enable", "disable", NULL};
static const char *const level_choices[] = {"debug", "info", "warn", "error", NULL};
static const char *const usage_forms[] = {"budget", NULL};
#define FLAG_END {.long_name = NULL}

const struct zc_flag zc_global_flags[] = {
    {.short_name = 's', .long_name = "socket", .arg = "SOCKET",
     .help = "control socket (default: $ZEN_SOCKET, else HOME/zend.sock)", .complete_files = 1},
    {.short_name = 'H', .long_name = "home", .arg = "HOME",
     .help = "zend's state directory (default: $ZEN_HOME, $GOZEN_CONFIG_DIR, ~/.zen)",
     .complete_files = 1},
    {.short_name = 'o', .long_name = "output", .arg = "FORMAT",
     .help = "output format: table, json or prom (logs: short or json; usage: csv)",
     .choices = output_choices},
    {.long_name = "timeout", .arg = "MS", .help = "how long to wait for zend (default 5000)"},
    {.long_name = "no-color", .help = "never use colour"},
    {.short_name = 'h', .long_name = "help", .help = "show help"},
    {.short_name = 'V', .long_name = "version", .help = "print zenctl's version and exit"},
    FLAG_END,
};

static const struct zc_flag no_flags[] = {FLAG_END};

static const struct zc_flag provider_flags[] = {
    {.long_name = "for", .arg = "DURATION",
     .help = "only for DURATION (seconds, or 30m, 2h, 1d), then zend undoes it by itself"},
    FLAG_END,
};

static const struct zc_flag metrics_flags[] = {
    {.long_name = "watch", .help = "keep showing metrics as zend pushes them"},
    {.short_name = 'i', .long_name = "interval", .arg = "SECONDS",
     .help = "with --watch: seconds between updates (default 1, at least 0.1)"},
    FLAG_END,
};

static const struct zc_flag logs_flags[] = {
    {.short_name = 'n', .long_name = "lines", .arg = "N",
     .help = "show the last N records first (default 10)"},
    {.short_name = 'f', .long_name = "follow",
     .help = "keep printing new records; survives zend restarts"},
    {.long_name = "level", .arg = "LEVEL", .help = "only records at LEVEL or above",
     .choices = level_choices},
    {.long_name = "event", .arg = "NAME", .help = "only these events (repeat for several)",
     .choices = zlog_event_names, .repeatable = 1},
    FLAG_END,
};

static const struct zc_flag shutdown_flags[] = {
    {.long_name = "drain-timeout", .arg = "DURATION",
     .help = "let in-flight requests finish for up to DURATION (seconds, or 500ms, 2m)"},
    {.long_name = "no-wait", .help = "return once zend has started shutting down"},
    FLAG_END,
};

static const struct zc_flag usage_flags[] = {
    {.long_name = "since", .arg = "WHEN",
     .help = "from WHEN: 30m, 24h, 7d before now, or local 2026-11-01[T08:00] (default 7d)"},
    {.long_name = "until", .arg = "WHEN",
     .help = "up to WHEN, exclusive (same forms; default now)"},
    {.long_name = "by", .arg = "GROUP",
     .help = "a row per day (default), hour, provider, model, profile, session or scenario",
     .choices = zu_by_names},
    {.long_name = "profile", .arg = "PROFILE", .help = "only this profile's requests"},
    {.long_name = "provider", .arg = "NAME", .help = "only the requests NAME served"},
    {.long_name = "repair",
     .help = "set a corrupt usage.db aside (usage.db.corrupt-TIME) and start a new one"},
    FLAG_END,
};

#define NAME_LISTER "__provider-names"

const struct zc_command zc_commands[] = {
    {.name = "status", .args = "",
     .summary = "pid, version, uptime, listen address, state, restarts, in-flight",
     .flags = no_flags, .needs_daemon = 1, .outputs = ZC_OUTS_TABLE_JSON, .run = zc_cmd_status},
    {.name = "health", .args = "",
     .summary = "one line: healthy, degraded or unhealthy, and why (exit 0/1/2/3)",
     .flags = no_flags, .needs_daemon = 1, .outputs = ZC_OUTS_TABLE_JSON, .run = zc_cmd_health},
    {.name = "providers", .args = "",
     .summary = "each provider's status, circuit, cooldown, errors and latency",
     .flags = no_flags, .needs_daemon = 1, .outputs = ZC_OUTS_TABLE_JSON,
     .run = zc_cmd_providers},
    {.name = "provider", .args = "enable|disable NAME",
     .summary = "take a provider out of rotation, or put it back (survives restarts)",
     .flags = provider_flags, .arg_choices = provider_actions,
     .arg2_words_command = NAME_LISTER, .min_args = 2, .max_args = 2, .needs_daemon = 1,
     .outputs = ZC_OUTS_TABLE_JSON, .run = zc_cmd_provider},
    {.name = "sessions", .args = "",
     .summary = "each conversation's provider, last scenario, requests, tokens and idle time",
     .flags = no_flags, .needs_daemon = 1, .outputs = ZC_OUTS_TABLE_JSON,
     .run = zc_cmd_sessions},
    {.name = "metrics", .args = "",
     .summary = "requests, latency, errors by provider and type; --watch; -o prom",
     .flags = metrics_flags, .needs_daemon = 1,
     .outputs = ZC_OUTS_TABLE_JSON | ZC_OUT_BIT(ZC_OUT_PROM), .run = zc_cmd_metrics},
    {.name = "logs", .args = "", .summary = "recent log records (from zend.log when zend is down); -f follows",
     .flags = logs_flags, .needs_daemon = 1,
     .outputs = ZC_OUTS_TABLE_JSON | ZC_OUT_BIT(ZC_OUT_SHORT), .run = zc_cmd_logs},
    {.name = "usage", .args = "[budget]",
     .summary = "requests, tokens and cost by day, provider, model...; budget; --repair",
     .flags = usage_flags, .arg_choices = usage_forms, .max_args = 1, .needs_daemon = 1,
     .outputs = ZC_OUTS_TABLE_JSON | ZC_OUT_BIT(ZC_OUT_CSV), .run = zc_cmd_usage},
    {.name = "config", .args = "",
     .summary = "the config zend runs with: every key, its value and where it came from",
     .flags = no_flags, .needs_daemon = 1, .outputs = ZC_OUTS_TABLE_JSON, .run = zc_cmd_config},
    {.name = "reload", .args = "", .summary = "re-read zen.json and say what changed",
     .flags = no_flags, .needs_daemon = 1, .outputs = ZC_OUTS_TABLE_JSON, .run = zc_cmd_reload},
    {.name = "shutdown", .args = "",
     .summary = "stop zend gracefully and wait until it has exited", .flags = shutdown_flags,
     .needs_daemon = 1, .outputs = ZC_OUTS_TABLE_JSON, .run = zc_cmd_shutdown},
    {.name = "version", .args = "", .summary = "print zenctl's version and the running zend's",
     .flags = no_flags, .needs_daemon = 1, .outputs = ZC_OUTS_TABLE_JSON,
     .run = zc_cmd_version},
    {.name = "completion", .args = "bash|zsh|fish", .summary = "print a shell completion script",
     .flags = no_flags, .arg_choices = shell_choices, .min_args = 1, .max_args = 1,
     .outputs = ZC_OUTS_ANY, .run = zc_cmd_completion},
    {.name = "help", .args = "[COMMAND]", .summary = "show help for zenctl or one command",
     .flags = no_flags, .arg_is_command = 1, .max_args = 1, .outputs = ZC_OUTS_ANY,
     .run = zc_cmd_help},
    /* For the completion scripts: provider names, one a line, silent on error. */
    {.name = NAME_LISTER, .args = "", .summary = "list provider names (for completion)",
     .flags = no_flags, .needs_daemon = 1, .outputs = ZC_OUTS_ANY, .hidden = 1,
     .run = zc_cmd_provider_names},
    /* The build writes zenctl(1) with it (docs/man/CMakeLists.txt). */
    {.name = "manpage", .args = "", .summary = "print zenctl(1), the manual page, in roff",
     .flags = no_flags, .outputs = ZC_OUTS_ANY, .hidden = 1, .run = zc_cmd_manpage},
    {.name = NULL},
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

int zc_flag_values(const struct zc_ctx *ctx, const char *long_name, const char **out, int max)
{
    int n = 0;
    for (int i = 0; i < ctx->nflags; i++) {
        if (strcmp(ctx->flags[i].flag->long_name, long_name) != 0)
            continue;
        if (n < max)
            out[n] = ctx->flags[i].value;
        n++;
    }
    return n;
}

/* Help's left column is as wide as the widest entry it holds. */
#define HELP_MIN_WIDTH 24

void zc_flag_head(const struct zc_flag *f, char *out, size_t outlen)
{
    if (f->short_name)
        snprintf(out, outlen, "-%c, --%s%s%s", f->short_name, f->long_name, f->arg ? " " : "",
                 f->arg ? f->arg : "");
    else
        snprintf(out, outlen, "--%s%s%s", f->long_name, f->arg ? " " : "", f->arg ? f->arg : "");
}

static void print_flags(FILE *out, const struct zc_flag *flags)
{
    int width = HELP_MIN_WIDTH;
    char head[128];
    for (const struct zc_flag *f = flags; f->long_name; f++) {
        zc_flag_head(f, head, sizeof(head));
        if ((int)strlen(head) > width)
            width = (int)strlen(head);
    }
    for (const struct zc_flag *f = flags; f->long_name; f++) {
        zc_flag_head(f, head, sizeof(head));
        fprintf(out, "  %-*s %s\n", width, head, f->help);
    }
}

const char zc_synopsis[] =
    "zenctl [-s SOCKET] [-H HOME] [-o table|json|prom] [--timeout MS] [--no-color] COMMAND";
const char zc_description[] = "Control a running zend over its control socket.";

const struct zc_exit_code zc_exit_codes[] = {
    {0, "ok"},
    {1, "zend answered an error"},
    {3, "zend not running or unreachable"},
    {4, "permission denied"},
    {64, "usage error"},
    {-1, NULL},
};
const struct zc_exit_code zc_health_exit_codes[] = {
    {0, "healthy"},
    {1, "degraded or draining"},
    {2, "unhealthy"},
    {3, "unreachable"},
    {-1, NULL},
};
/* As `systemctl stop`: stopping what is not running is not an error. */
const struct zc_exit_code zc_shutdown_exit_codes[] = {
    {0, "also when zend is not running"},
    {-1, NULL},
};

/* "0 ok, 1 zend answered an error, ...", wrapped before column 78; col is
 * where the line stands when called. */
static void print_exit_codes(FILE *out, const struct zc_exit_code *codes, int col)
{
    for (const struct zc_exit_code *e = codes; e->meaning; e++) {
        char item[96];
        int n = snprintf(item, sizeof(item), "%d %s%s", e->code, e->meaning,
                         e[1].meaning ? "," : ".");
        if (e != codes && col + 1 + n > 78) {
            fputc('\n', out);
            col = 0;
        } else if (e != codes) {
            fputc(' ', out);
            col++;
        }
        fputs(item, out);
        col += n;
    }
    fputc('\n', out);
}

void zc_usage(FILE *out)
{
    fprintf(out, "usage: %s\n\n%s\n\nCommands:\n", zc_synopsis, zc_description);
    int width = HELP_MIN_WIDTH;
    for (const struct zc_command *c = zc_commands; c->name; c++)
        if (!c->hidden && (int)(strlen(c->name) + 1 + strlen(c->args)) > width)
            width = (int)(strlen(c->name) + 1 + strlen(c->args));
    for (const struct zc_command *c = zc_commands; c->name; c++) {
        if (c->hidden)
            continue;
        char head[128];
        snprintf(head, sizeof(head), "%s %s", c->name, c->args);
        fprintf(out, "  %-*s %s\n", width, head, c->summary);
    }
    fprintf(out, "\nOptions:\n");
    print_flags(out, zc_global_flags);
    fprintf(out, "\nExit codes: ");
    print_exit_codes(out, zc_exit_codes, 12);
    fprintf(out, "health: ");
    print_exit_codes(out, zc_health_exit_codes, 8);
    fprintf(out, "shutdown: ");
    print_exit_codes(out, zc_shutdown_exit_codes, 10);
}

void zc_command_usage(FILE *out, const struct zc_command *cmd)
{
    fprintf(out, "usage: zenctl [options] %s", cmd->name);
    for (const struct zc_flag *f = cmd->flags; f->long_name; f++)
        fprintf(out, " [--%s%s%s]%s", f->long_name, f->arg ? " " : "", f->arg ? f->arg : "",
                f->repeatable ? "..." : "");
    fprintf(out, "%s%s\n\n%s\n", cmd->args[0] ? " " : "", cmd->args, cmd->summary);
    if (cmd->flags[0].long_name) {
        fprintf(out, "\nOptions:\n");
        print_flags(out, cmd->flags);
    }
    fprintf(out, "\nGlobal options: see zenctl --help\n");
}
