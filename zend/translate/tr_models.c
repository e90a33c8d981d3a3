/* tr_models.c -- a models list shown across families (docs/translate.md,
 * models): Anthropic clients read {"data":[{"type":"model",..}],"has_more"..},
 * OpenAI clients {"object":"list","data":[{"object":"model",..}]}. */
#include "tr_models.h"
#include "zjson.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Latest instant an RFC 3339 year of four digits can hold. */
#define MAX_EPOCH 253402300799LL

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
 * days_from_civil): no timegm, which is not standard C. */
static long long days_from_civil(long long y, unsigned m, unsigned d)
{
    y -= m <= 2;
    long long era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (long long)doe - 719468;
}

static void civil_from_days(long long z, long long *y, unsigned *m, unsigned *d)
{
    z += 719468;
    long long era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (long long)yoe + era * 400 + (*m <= 2);
}

static void format_rfc3339(long long t, char out[32])
{
    if (t < 0 || t > MAX_EPOCH)
        t = 0;
    long long y;
    unsigned m, d;
    civil_from_days(t / 86400, &y, &m, &d);
    long long s = t % 86400;
    snprintf(out, 32, "%04lld-%02u-%02uT%02lld:%02lld:%02lldZ", y, m, d, s / 3600,
             s / 60 % 60, s % 60);
}

/* Unix seconds of "YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM)"; 0 when it
 * is not one. */
static long long parse_rfc3339(const char *s)
{
    int y, mo, d, h, mi, sec, n = 0;
    if (!s || sscanf(s, "%4d-%2d-%2d%*1[Tt ]%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6 ||
        n == 0)
        return 0;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
        return 0;
    const char *p = s + n;
    if (*p == '.')
        for (p++; *p >= '0' && *p <= '9'; p++)
            ;
    long long off = 0;
    if (*p == '+' || *p == '-') {
        int oh, om, k = 0;
        if (sscanf(p + 1, "%2d:%2d%n", &oh, &om, &k) != 2 || p[1 + k] != '\0')
            return 0;
        off = (oh * 3600LL + om * 60LL) * (*p == '-' ? -1 : 1);
    } else if (!((*p == 'Z' || *p == 'z') && p[1] == '\0'))
        return 0;
    long long t = days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600LL +
                  mi * 60LL + sec - off;
    return t < 0 ? 0 : t;
}

/* The family a list body is in: 'A' (has_more, items typed "model"), 'O'
 * (OpenAI: "object":"list", or neither mark), 0 when it is no list at all:
 * not an object, no `data` array, or an item without a string id. */
static char list_family(const json_t *root)
{
    const json_t *data = json_object_get(root, "data");
    if (!json_is_array(data))
        return 0;
    int typed = 0;
    size_t i;
    const json_t *it;
    json_array_foreach(data, i, it) {
        if (!json_is_string(json_object_get(it, "id")))
            return 0;
        const json_t *ty = json_object_get(it, "type");
        typed |= json_is_string(ty) && strcmp(json_string_value(ty), "model") == 0;
    }
    const json_t *obj = json_object_get(root, "object");
    if (json_is_string(obj) && strcmp(json_string_value(obj), "list") == 0)
        return 'O';
    return json_object_get(root, "has_more") || typed ? 'A' : 'O';
}

static json_t *openai_to_a(const json_t *data)
{
    json_t *out = json_array();
    size_t i;
    const json_t *it;
    json_array_foreach(data, i, it) {
        const json_t *created = json_object_get(it, "created");
        long long t = json_is_integer(created) ? (long long)json_integer_value(created)
                      : json_is_real(created)  ? (long long)json_real_value(created)
                                               : 0;
        char when[32];
        format_rfc3339(t, when);
        const char *id = json_string_value(json_object_get(it, "id"));
        json_array_append_new(out, json_pack("{s:s, s:s, s:s, s:s}", "type", "model", "id", id,
                                             "display_name", id, "created_at", when));
    }
    return out;
}

static json_t *a_to_openai(const json_t *data)
{
    json_t *out = json_array();
    size_t i;
    const json_t *it;
    json_array_foreach(data, i, it) {
        long long t = parse_rfc3339(json_string_value(json_object_get(it, "created_at")));
        json_array_append_new(out, json_pack("{s:s, s:s, s:I, s:s}", "id",
                                             json_string_value(json_object_get(it, "id")),
                                             "object", "model", "created", (json_int_t)t,
                                             "owned_by", "anthropic"));
    }
    return out;
}

char *tr_models_translate(enum tr_format wire, enum tr_format client, const char *body,
                          size_t len, size_t *out_len)
{
    char want = wire == TR_FORMAT_A ? 'A' : 'O';
    if (!body || (client == TR_FORMAT_A) == (wire == TR_FORMAT_A))
        return NULL; /* same family: nothing to translate */
    json_t *root = zjson_load(body, len, 0);
    if (!json_is_object(root) || list_family(root) != want) {
        json_decref(root);
        return NULL;
    }
    const json_t *data = json_object_get(root, "data");
    json_t *out;
    if (want == 'O') {
        size_t n = json_array_size(data);
        json_t *first = n ? json_object_get(json_array_get(data, 0), "id") : NULL;
        json_t *last = n ? json_object_get(json_array_get(data, n - 1), "id") : NULL;
        out = json_pack("{s:o, s:b, s:O?, s:O?}", "data", openai_to_a(data), "has_more", 0,
                        "first_id", first, "last_id", last);
    } else {
        out = json_pack("{s:s, s:o}", "object", "list", "data", a_to_openai(data));
    }
    json_decref(root);
    char *s = out ? json_dumps(out, JSON_COMPACT) : NULL;
    json_decref(out);
    if (s && out_len)
        *out_len = strlen(s);
    return s;
}
