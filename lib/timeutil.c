#include "timeutil.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common.h"

int64_t ztime_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t ztime_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

double ztime_mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void ztime_format_rfc3339_ms(int64_t epoch_ms, char out[ZTIME_RFC3339_LEN])
{
    time_t secs = (time_t)(epoch_ms / 1000);
    int ms = (int)(epoch_ms % 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    snprintf(out, ZTIME_RFC3339_LEN, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
             tm.tm_sec, ms);
}

/* Reads exactly n digits; returns -1 when they are not all digits. */
static int read_digits(const char **s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*s)[i]))
            return -1;
        v = v * 10 + ((*s)[i] - '0');
    }
    *s += n;
    return v;
}

static int expect_char(const char **s, char c)
{
    if (**s != c)
        return ZEN_ERR;
    (*s)++;
    return ZEN_OK;
}

int ztime_parse_rfc3339(const char *s, int64_t *epoch_s)
{
    int year = read_digits(&s, 4);
    if (year < 0 || expect_char(&s, '-')) return ZEN_ERR;
    int mon = read_digits(&s, 2);
    if (mon < 1 || mon > 12 || expect_char(&s, '-')) return ZEN_ERR;
    int day = read_digits(&s, 2);
    if (day < 1 || day > 31) return ZEN_ERR;
    if (*s != 'T' && *s != 't' && *s != ' ') return ZEN_ERR;
    s++;
    int hour = read_digits(&s, 2);
    if (hour < 0 || hour > 23 || expect_char(&s, ':')) return ZEN_ERR;
    int min = read_digits(&s, 2);
    if (min < 0 || min > 59 || expect_char(&s, ':')) return ZEN_ERR;
    int sec = read_digits(&s, 2);
    if (sec < 0 || sec > 60) return ZEN_ERR;
    if (*s == '.') {
        s++;
        if (!isdigit((unsigned char)*s)) return ZEN_ERR;
        while (isdigit((unsigned char)*s)) s++;
    }
    int offset_s = 0;
    if (*s == 'Z' || *s == 'z') {
        s++;
    } else if (*s == '+' || *s == '-') {
        int sign = *s == '-' ? -1 : 1;
        s++;
        int oh = read_digits(&s, 2);
        if (oh < 0 || oh > 23 || expect_char(&s, ':')) return ZEN_ERR;
        int om = read_digits(&s, 2);
        if (om < 0 || om > 59) return ZEN_ERR;
        offset_s = sign * (oh * 3600 + om * 60);
    } else {
        return ZEN_ERR;
    }
    if (*s != '\0') return ZEN_ERR;

    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    tm.tm_year = year - 1900;
    tm.tm_mon = mon - 1;
    tm.tm_mday = day;
    tm.tm_hour = hour;
    tm.tm_min = min;
    tm.tm_sec = sec;
    time_t t = timegm(&tm);
    *epoch_s = (int64_t)t - offset_s;
    return ZEN_OK;
}

void ztime_format_span(double secs, char *out, size_t outlen)
{
    if (!(secs > 0)) {
        snprintf(out, outlen, "0s");
        return;
    }
    if (secs < 1.0) {
        /* 0.9996 s would round to "1000ms": say "1s" instead. */
        long ms = (long)(secs * 1000.0 + 0.5);
        if (ms < 1000) {
            snprintf(out, outlen, "%ldms", ms);
            return;
        }
    }
    /* Two units at most, the larger first; a zero second unit is left out. */
    static const struct {
        long secs;
        char unit;
    } units[] = {{86400, 'd'}, {3600, 'h'}, {60, 'm'}, {1, 's'}};
    long s = secs >= 1e12 ? (long)1e12 : (long)secs;
    if (s < 1)
        s = 1;
    size_t u = 0;
    while (s < units[u].secs)
        u++;
    long big = s / units[u].secs;
    long small = u + 1 < ZEN_ARRAY_LEN(units) ? s % units[u].secs / units[u + 1].secs : 0;
    if (small)
        snprintf(out, outlen, "%ld%c %ld%c", big, units[u].unit, small, units[u + 1].unit);
    else
        snprintf(out, outlen, "%ld%c", big, units[u].unit);
}
