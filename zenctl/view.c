/* view.c -- field getters, formatters and aligned tables for renderers. */
#include "view.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "timeutil.h"

/* ---- terminal-safe text ---- */

/* Length of the valid UTF-8 sequence at p (1..4), or 0 when it is not one
 * (overlong forms, surrogates and code points past U+10FFFF included). */
static size_t utf8_sequence(const unsigned char *p)
{
    unsigned c = p[0];
    size_t n;
    unsigned cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
        cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0; /* also stops at the terminating NUL */
        cp = cp << 6 | (p[i] & 0x3F);
    }
    if ((n == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
        (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
        return 0;
    return n;
}

char *zv_escape(const char *s)
{
    if (!s)
        return NULL;
    /* Worst case: every byte becomes a six-byte \u00XX. */
    size_t len = strlen(s);
    char *out = malloc(len * 6 + 1);
    if (!out)
        return NULL;
    const unsigned char *p = (const unsigned char *)s;
    size_t o = 0;
    while (*p) {
        size_t n = utf8_sequence(p);
        if (n == 0) {
            o += (size_t)sprintf(out + o, "\\x%02x", *p);
            p++;
        } else if (n == 1 && (*p < 0x20 || *p == 0x7F)) {
            const char *named = *p == '\n' ? "\\n" : *p == '\r' ? "\\r" : *p == '\t' ? "\\t" : NULL;
            if (named)
                o += (size_t)sprintf(out + o, "%s", named);
            else
                o += (size_t)sprintf(out + o, "\\u%04x", *p);
            p++;
        } else if (n == 2 && p[0] == 0xC2 && p[1] < 0xA0) {
            o += (size_t)sprintf(out + o, "\\u%04x", p[1]); /* C1: U+0080..U+009F */
            p += 2;
        } else {
            memcpy(out + o, p, n);
            o += n;
            p += n;
        }
    }
    out[o] = '\0';
    return out;
}

json_t *zv_escaped_doc(const json_t *doc)
{
    if (json_is_string(doc)) {
        char *e = zv_escape(json_string_value(doc));
        json_t *v = e ? json_string(e) : NULL;
        free(e);
        return v;
    }
    if (json_is_array(doc)) {
        json_t *arr = json_array();
        size_t i;
        json_t *v;
        json_array_foreach(doc, i, v)
            if (!arr || json_array_append_new(arr, zv_escaped_doc(v)) != 0) {
                json_decref(arr);
                return NULL;
            }
        return arr;
    }
    if (json_is_object(doc)) {
        json_t *obj = json_object();
        const char *key;
        json_t *v;
        json_object_foreach((json_t *)doc, key, v) {
            char *k = zv_escape(key);
            json_t *copy = zv_escaped_doc(v);
            if (!obj || !k || !copy || json_object_set_new(obj, k, copy) != 0) {
                if (!k || !obj)
                    json_decref(copy);
                free(k);
                json_decref(obj);
                return NULL;
            }
            free(k);
        }
        return obj;
    }
    return json_deep_copy(doc); /* numbers, booleans, null */
}

json_t *zv_escaped_take(json_t *doc)
{
    json_t *safe = zv_escaped_doc(doc);
    json_decref(doc);
    return safe;
}

const char *zv_str(const json_t *obj, const char *key, const char *fallback)
{
    const char *s = json_string_value(json_object_get(obj, key));
    return s ? s : fallback;
}

long long zv_int(const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);
    return json_is_integer(v) ? (long long)json_integer_value(v)
                              : (long long)json_number_value(v);
}

double zv_num(const json_t *obj, const char *key)
{
    return json_number_value(json_object_get(obj, key));
}

void zv_duration(double secs, char *out, size_t outlen)
{
    ztime_format_span(secs, out, outlen);
}

void zv_count(long long n, const char *one, const char *many, char *out, size_t outlen)
{
    if (n == 1)
        snprintf(out, outlen, "1 %s", one);
    else if (many)
        snprintf(out, outlen, "%lld %s", n, many);
    else
        snprintf(out, outlen, "%lld %ss", n, one);
}

void zv_bytes(double bytes, char *out, size_t outlen)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    size_t u = 0;
    while (bytes >= 1024.0 && u + 1 < sizeof(units) / sizeof(units[0])) {
        bytes /= 1024.0;
        u++;
    }
    snprintf(out, outlen, u == 0 ? "%.0f %s" : "%.1f %s", bytes, units[u]);
}

void zv_ms(double ms, char *out, size_t outlen)
{
    if (ms >= 1000.0)
        snprintf(out, outlen, "%.2fs", ms / 1000.0);
    else if (ms >= 10.0 || ms == 0.0)
        snprintf(out, outlen, "%.0fms", ms);
    else
        snprintf(out, outlen, "%.1fms", ms);
}

const char *zv_status_color(const char *status)
{
    static const struct {
        const char *word, *sgr;
    } colors[] = {
        {"healthy", ZV_GREEN}, {"running", ZV_GREEN},   {"closed", ZV_GREEN},
        {"degraded", ZV_YELLOW}, {"draining", ZV_YELLOW}, {"half_open", ZV_YELLOW},
        {"starting", ZV_YELLOW}, {"unhealthy", ZV_RED},   {"open", ZV_RED},
        {"disabled", ZV_DIM},
    };
    for (size_t i = 0; i < sizeof(colors) / sizeof(colors[0]); i++)
        if (strcmp(status, colors[i].word) == 0)
            return colors[i].sgr;
    return "";
}

/* ---- tables ---- */

void zv_table_init(struct zv_table *t, int ncols, unsigned right_mask)
{
    memset(t, 0, sizeof(*t));
    t->ncols = ncols;
    t->right_mask = right_mask;
}

void zv_table_cell(struct zv_table *t, const char *sgr, const char *fmt, ...)
{
    if (t->ncells == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 64;
        struct zv_cell *cells = realloc(t->cells, cap * sizeof(*cells));
        if (!cells)
            return; /* out of memory: the table just ends early */
        t->cells = cells;
        t->cap = cap;
    }
    va_list ap;
    va_start(ap, fmt);
    char *text = NULL;
    if (vasprintf(&text, fmt, ap) < 0)
        text = NULL;
    va_end(ap);
    /* Renderers hand in escaped documents already; a cell is escaped once
     * more all the same (escaping is idempotent), so no table can ever draw
     * a raw control byte. */
    char *safe = zv_escape(text);
    free(text);
    text = safe;
    t->cells[t->ncells].text = text;
    t->cells[t->ncells].sgr = sgr && *sgr ? sgr : NULL;
    t->ncells++;
}

/* Terminal columns a UTF-8 string takes (one per code point: good enough
 * for names and messages, which are not CJK art). */
static int display_width(const char *s)
{
    int w = 0;
    for (; s && *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80)
            w++;
    return w;
}

void zv_table_print(const struct zv_table *t, FILE *out, int color)
{
    int widths[32] = {0};
    int ncols = t->ncols < 32 ? t->ncols : 32;
    for (size_t i = 0; i < t->ncells; i++) {
        int col = (int)(i % (size_t)t->ncols);
        if (col < ncols && display_width(t->cells[i].text) > widths[col])
            widths[col] = display_width(t->cells[i].text);
    }
    for (size_t i = 0; i < t->ncells; i++) {
        int col = (int)(i % (size_t)t->ncols);
        const struct zv_cell *c = &t->cells[i];
        const char *text = c->text ? c->text : "";
        int pad = col < ncols ? widths[col] - display_width(text) : 0;
        int last = col == t->ncols - 1 || i + 1 == t->ncells;
        if (col > 0)
            fputs("  ", out);
        if (t->right_mask & (1u << col))
            fprintf(out, "%*s", pad, "");
        if (color && c->sgr)
            fprintf(out, "%s%s%s", c->sgr, text, ZV_RESET);
        else
            fputs(text, out);
        if (!(t->right_mask & (1u << col)) && !last)
            fprintf(out, "%*s", pad, "");
        if (last)
            fputc('\n', out);
    }
}

void zv_table_free(struct zv_table *t)
{
    for (size_t i = 0; i < t->ncells; i++) {
        free(t->cells[i].text);
        t->cells[i].text = NULL;
    }
    free(t->cells);
    t->cells = NULL;
    t->ncells = t->cap = 0;
}
