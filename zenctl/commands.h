/* commands.h -- zenctl's command table.
 *
 * Commands are data (HAProxy's CLI keywords): one table drives argument
 * parsing, --help, the generated completion scripts and the manual page
 * zenctl(1) (manpage.c), so they cannot disagree. Adding a command means
 * adding a row and a handler. */
#ifndef ZENCTL_COMMANDS_H
#define ZENCTL_COMMANDS_H

#include <jansson.h>
#include <limits.h>
#include <stdio.h>

/* Room for every option on one command line, repeated ones included
 * (`logs --event a --event b ...`). */
#define ZC_MAX_FLAG_VALUES 64
#define ZC_MAX_POSITIONAL 8

struct zc_flag {
    char short_name;            /* 0 = none */
    const char *long_name;      /* without the leading "--" */
    const char *arg;            /* value's name, NULL for a switch */
    const char *help;
    const char *const *choices; /* completion words for the value, NULL-terminated */
    int complete_files;         /* the value is a path */
    int repeatable;             /* may be given more than once; see zc_flag_values */
};

/* -o formats. `short` is logs' one-line-per-record format; for logs, `table`
 * means the same thing. `csv` is usage's. */
enum zc_output { ZC_OUT_TABLE, ZC_OUT_JSON, ZC_OUT_PROM, ZC_OUT_SHORT, ZC_OUT_CSV };

#define ZC_OUT_BIT(o) (1u << (o))
#define ZC_OUTS_TABLE_JSON (ZC_OUT_BIT(ZC_OUT_TABLE) | ZC_OUT_BIT(ZC_OUT_JSON))
#define ZC_OUTS_ANY 0x1Fu

/* What the parser collected; handlers read it. */
struct zc_ctx {
    char sock_path[PATH_MAX];
    int timeout_ms;
    enum zc_output output;
    int output_set;
    int color;
    struct {
        const struct zc_flag *flag;
        const char *value;
    } flags[ZC_MAX_FLAG_VALUES];
    int nflags;
    const char *positional[ZC_MAX_POSITIONAL];
    int npositional;
};

struct zc_command {
    const char *name;
    const char *args;                   /* usage of positional arguments, "" if none */
    const char *summary;
    const struct zc_flag *flags;        /* command-specific flags, {0}-terminated */
    const char *const *arg_choices;     /* completion words for the first argument */
    /* A hidden command whose output (one word a line, read from the running
     * zend) completes the second argument: provider names for
     * `provider disable NAME`. */
    const char *arg2_words_command;
    int arg_is_command;                 /* the first argument names a command (help) */
    int min_args, max_args;
    int needs_daemon;                   /* resolve the socket path before running */
    unsigned outputs;                   /* ZC_OUT_BIT set of the -o formats it accepts */
    int hidden;                         /* left out of --help and of completion's lists */
    int (*run)(struct zc_ctx *ctx);     /* returns the exit code */
};

extern const struct zc_flag zc_global_flags[];
extern const struct zc_command zc_commands[];

/* The words --help and the manual page share. */
struct zc_exit_code {
    int code;            /* -1 ends a list */
    const char *meaning;
};
extern const char zc_synopsis[];
extern const char zc_description[];
extern const struct zc_exit_code zc_exit_codes[];
extern const struct zc_exit_code zc_health_exit_codes[];
extern const struct zc_exit_code zc_shutdown_exit_codes[];

const struct zc_command *zc_find_command(const char *name);
/* The value given for --long_name, or NULL; a switch yields "". When given
 * more than once, the last value. */
const char *zc_flag_value(const struct zc_ctx *ctx, const char *long_name);
/* Every value given for --long_name in command-line order, at most max of
 * them into out; returns how many were given. */
int zc_flag_values(const struct zc_ctx *ctx, const char *long_name, const char **out, int max);

/* Errors: "zenctl: ..." on stderr. */
void zc_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints a JSON document (indented on a terminal). */
void zc_print_json(const json_t *doc);
/* Prints a JSON document on one line, for streams of them (--watch, -f). */
void zc_print_json_line(const json_t *doc);

/* Shared by handlers: maps a client status (client.h) to an exit code after
 * printing err; and one call on a fresh connection, the common shape of
 * read-only commands (returns an exit code, *result set on 0). */
int zc_fail(int status, const char *err);
int zc_call_once(const struct zc_ctx *ctx, const char *method, const json_t *params,
                 json_t **result);
/* The shape of the commands that show a result: with -o json the result is
 * printed as it came and *view is NULL; otherwise *view is the result with
 * its strings made safe for a terminal (zv_escaped_take), the caller's to
 * free. Returns an exit code. */
int zc_call_for_view(const struct zc_ctx *ctx, const char *method, json_t **view);
/* Parses a duration within [min, max] seconds: a number of seconds, or one
 * with a unit, ms, s, m, h or d ("1.5", "500ms", "30m"); prints why and
 * returns ZEN_ERR when v is not one. */
int zc_parse_seconds(const char *flag, const char *v, double min, double max, double *out);

/* Command handlers. */
int zc_cmd_status(struct zc_ctx *ctx);
int zc_cmd_health(struct zc_ctx *ctx);
int zc_cmd_providers(struct zc_ctx *ctx);
int zc_cmd_provider(struct zc_ctx *ctx);
int zc_cmd_provider_names(struct zc_ctx *ctx);
int zc_cmd_sessions(struct zc_ctx *ctx);
int zc_cmd_metrics(struct zc_ctx *ctx);
int zc_cmd_logs(struct zc_ctx *ctx);
int zc_cmd_reload(struct zc_ctx *ctx);
int zc_cmd_config(struct zc_ctx *ctx);
int zc_cmd_shutdown(struct zc_ctx *ctx);
int zc_cmd_version(struct zc_ctx *ctx);
int zc_cmd_usage(struct zc_ctx *ctx);
int zc_cmd_completion(struct zc_ctx *ctx);
int zc_cmd_help(struct zc_ctx *ctx);
int zc_cmd_manpage(struct zc_ctx *ctx);

/* Generates the completion script for shell "bash", "zsh" or "fish". */
int zc_completion_print(const char *shell);
void zc_usage(FILE *out);
void zc_command_usage(FILE *out, const struct zc_command *cmd);
/* "-o, --output FORMAT": a flag as help and the manual page head it. */
void zc_flag_head(const struct zc_flag *f, char *out, size_t outlen);

#endif
