/* timeutil.h -- clocks and RFC 3339 timestamps.
 *
 * Log records carry UTC wall-clock time with milliseconds; durations and
 * uptime use the monotonic clock so a clock step never makes them negative. */
#ifndef ZEN_TIMEUTIL_H
#define ZEN_TIMEUTIL_H

#include <stddef.h>
#include <stdint.h>

#define ZTIME_RFC3339_LEN 64 /* 24 used; room for any struct tm */

int64_t ztime_wall_ms(void);      /* milliseconds since the epoch (UTC) */
int64_t ztime_mono_ms(void);      /* CLOCK_MONOTONIC in milliseconds */
double ztime_mono_s(void);        /* CLOCK_MONOTONIC in seconds, sub-ms precision */

/* "2026-11-28T00:31:27.123Z" into out (ZTIME_RFC3339_LEN bytes). */
void ztime_format_rfc3339_ms(int64_t epoch_ms, char out[ZTIME_RFC3339_LEN]);

/* A span as people read it, the one form zend's messages and zenctl use:
 * the two largest units, the second left out when zero ("45s", "1m 53s",
 * "2h 5m", "3d 4h", "2m"), milliseconds below a second ("850ms"); 0 and
 * less are "0s". Units are truncated: time still to wait is rounded up by
 * the caller. */
void ztime_format_span(double secs, char *out, size_t outlen);

/* Parses "YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM)" (a space may stand for
 * 'T'). Refuses anything else. Returns ZEN_OK and seconds since the epoch. */
int ztime_parse_rfc3339(const char *s, int64_t *epoch_s);

#endif
