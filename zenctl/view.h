/* view.h -- small helpers the human-readable renderers share.
 *
 * zend answers with maps whose fields may be missing (an older daemon, or a
 * field added later): the getters return a neutral value instead of failing,
 * and the formatters turn raw numbers into what a person reads at a glance
 * ("412ms", "12.3 MiB", "1h 2m"). zv_table aligns columns the way `ps`
 * does: widths come from the widest cell, numbers align right. */
#ifndef ZENCTL_VIEW_H
#define ZENCTL_VIEW_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

/* ANSI SGR sequences; only ever printed when zc_ctx.color is set. */
#define ZV_RED "\033[31m"
#define ZV_GREEN "\033[32m"
#define ZV_YELLOW "\033[33m"
#define ZV_CYAN "\033[36m"
#define ZV_DIM "\033[2m"
#define ZV_BOLD "\033[1m"
#define ZV_RESET "\033[0m"

/* Text from zend drawn on a terminal must not drive it: an upstream error
 * body holding ESC ] 0 ; ... BEL retitles the window, ESC [2J clears it.
 * zv_escape returns a malloc'd copy of s (NULL when out of memory) in which
 * every C0 control, DEL and C1 control (U+0080..U+009F) is written as a
 * visible escape in JSON's syntax (\n, \r, \t, \u001b, \u009b) and any
 * byte that is not valid UTF-8 as \xNN; everything else is unchanged. For
 * valid UTF-8 the escapes are JSON's, so escaped JSON text is still JSON. */
char *zv_escape(const char *s);
/* A deep copy of doc with every string and object key passed through
 * zv_escape: what the human renderers draw (never -o json, which stays
 * exactly what zend sent). NULL only when out of memory. */
json_t *zv_escaped_doc(const json_t *doc);
/* The same, taking over the caller's reference to doc. */
json_t *zv_escaped_take(json_t *doc);

const char *zv_str(const json_t *obj, const char *key, const char *fallback);
long long zv_int(const json_t *obj, const char *key);
double zv_num(const json_t *obj, const char *key); /* integer or real */

/* Every span zenctl prints, in one form (ztime_format_span, which zend's
 * own messages use too): "850ms", "45s", "1m 53s", "2h 5m", "3d 4h"; 0 and
 * less are "0s". Units are truncated: a caller showing time still to wait
 * rounds up first. */
void zv_duration(double secs, char *out, size_t outlen);
/* "1 failover", "2 failovers", "0 failovers": many is the plural when it
 * is not one + "s" ("entries"), else NULL. */
void zv_count(long long n, const char *one, const char *many, char *out, size_t outlen);
/* "812 B", "12.3 MiB", "1.1 GiB". */
void zv_bytes(double bytes, char *out, size_t outlen);
/* Milliseconds for a latency column: "0.4ms", "41ms", "1.25s". */
void zv_ms(double ms, char *out, size_t outlen);
/* The colour for a health or provider status word, or "" (unknown words). */
const char *zv_status_color(const char *status);

/* A table built cell by cell, left to right, top to bottom; the first row
 * is the header. Columns whose bit is set in right_mask align right. */
struct zv_table {
    int ncols;
    unsigned right_mask;
    size_t ncells, cap;
    struct zv_cell {
        char *text;
        const char *sgr; /* colour for this cell, or NULL */
    } *cells;
};

void zv_table_init(struct zv_table *t, int ncols, unsigned right_mask);
void zv_table_cell(struct zv_table *t, const char *sgr, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Prints with two spaces between columns; colour only when color is set.
 * The last column is not padded (it may hold long free text). */
void zv_table_print(const struct zv_table *t, FILE *out, int color);
void zv_table_free(struct zv_table *t);

#endif
