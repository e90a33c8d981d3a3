/* commands.h -- zenctl's command table.
 *
 * Commands are data (HAProxy's CLI keywords): one table drives argument
 * parsing, --help and the generated completion scripts, so the three cannot
 * disagree. Adding a command means adding a row and a handler. */
#ifndef ZENCTL_COMMANDS_H
#define ZENCTL_COMMANDS_H

#include <jansson.h>
#include <limits.h>

#define ZC_MAX_FLAG_VALUES 16
#define ZC_MAX_POSITIONAL 8

struct zc_flag {
    char short_name;            /* 0 = none */
    const char *long_name;      /* without the leading "--" */
    const char *arg;            /* value's name, NULL for a switch */
    const char *help;
    const char *const *choices; /* completion words for the value, NULL-terminated */
    int complete_files;         /* the value is a path */
};

enum zc_output { ZC_OUT_TABLE, ZC_OUT_JSON, ZC_OUT_PROM };

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
    int arg_is_command;                 /* the first argument names a command (help) */
    int min_args, max_args;
    int needs_daemon;                   /* resolve the socket path before running */
    int (*run)(struct zc_ctx *ctx);     /* returns the exit code */
};

extern const struct zc_flag zc_global_flags[];
extern const struct zc_command zc_commands[];

const struct zc_command *zc_find_command(const char *name);
/* The value given for --long_name, or NULL; a switch yields "". */
const char *zc_flag_value(const struct zc_ctx *ctx, const char *long_name);

/* Errors: "zenctl: ..." on stderr. */
void zc_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints a JSON document (indented on a terminal). */
void zc_print_json(const json_t *doc);

/* Command handlers. */
int zc_cmd_status(struct zc_ctx *ctx);
int zc_cmd_shutdown(struct zc_ctx *ctx);
int zc_cmd_metrics(struct zc_ctx *ctx);
int zc_cmd_version(struct zc_ctx *ctx);
int zc_cmd_completion(struct zc_ctx *ctx);
int zc_cmd_help(struct zc_ctx *ctx);

/* Generates the completion script for shell "bash", "zsh" or "fish". */
int zc_completion_print(const char *shell);
void zc_usage(FILE *out);
void zc_command_usage(FILE *out, const struct zc_command *cmd);

#endif
