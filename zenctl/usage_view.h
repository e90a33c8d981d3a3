/* usage_view.h -- what `zenctl usage` prints (docs/usage.md, "zenctl usage").
 *
 * Pure functions over the results of usage.query and usage.budget, and the
 * parser of --since/--until, apart from the command (usage.c) so the unit
 * tests can feed them canned results and a fixed "now". Renderers take the
 * result as zend sent it: they escape what they draw themselves. */
#ifndef ZENCTL_USAGE_VIEW_H
#define ZENCTL_USAGE_VIEW_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* The --by groups usage.query knows, NULL-terminated. */
extern const char *const zu_by_names[];
int zu_by_valid(const char *by);

/* Reads a --since/--until value into epoch milliseconds: a duration before
 * now_ms ("30m", "24h", "7d", "2w", "90s") or a local date ("2026-11-01",
 * midnight) or local time ("2026-11-01T08:00", "2026-11-01T08:00:30"; a
 * space may stand for the T). Refuses anything else, dates that do not
 * exist (2026-02-30) and times a DST change skips. ZEN_OK or ZEN_ERR. */
int zu_parse_when(const char *v, int64_t now_ms, int64_t *out_ms);

/* "1,234,567". */
void zu_format_count(long long n, char *out, size_t outlen);
/* "$12.34", "$1,234.50"; below a cent enough decimals for two significant
 * digits ("$0.0042", at most six). */
void zu_format_usd(double usd, char *out, size_t outlen);
/* A group's cost cell: "$1.20"; "?" when cost_usd is null (no price known
 * for any of its requests); "$1.20 + ?" when some requests had no price. */
void zu_format_cost(const json_t *group, char *out, size_t outlen);

/* usage.query's result as a table headed by the --by name, with a total
 * row; as CSV (header line, raw numbers, empty field for null, no total);
 * as the JSON array of -o json (one object per group, its key under the
 * --by name, no total; a new reference). by: the result's own "by" wins. */
void zu_write_table(FILE *out, const json_t *result, const char *by, int color);
void zu_write_csv(FILE *out, const json_t *result, const char *by);
json_t *zu_rows_json(const json_t *result, const char *by);

/* usage.budget's result as a table; resets are shown relative to now_ms. */
void zu_write_budget(FILE *out, const json_t *result, int64_t now_ms, int color);

#endif
