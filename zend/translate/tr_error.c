/* tr_error.c -- upstream error bodies read in any envelope and rendered in
 * the client's, and zend's own errors in the client's envelope
 * (docs/translate.md, errors). The class vocabulary lives in tr_ctx.c. */
#include "tr_error.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tr_ctx.h"
#include "zjson.h"

/* ---- text helpers ---- */

/* The length of the valid UTF-8 sequence at p (n bytes available), or 0. */
static size_t utf8_seq(const unsigned char *p, size_t n)
{
    unsigned char c = p[0];
    if (c >= 0x01 && c < 0x80)
        return 1;
    size_t len;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF)
        len = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        if (c == 0xE0)
            lo = 0xA0;
        else if (c == 0xED)
            hi = 0x9F; /* no UTF-16 surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F;
    } else
        return 0;
    if (n < len || p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (p[i] < 0x80 || p[i] > 0xBF)
            return 0;
    return len;
}

static size_t text_copy(char *dst, size_t cap, const char *src, size_t n)
{
    const unsigned char *s = (const unsigned char *)src;
    size_t o = 0, i = 0;
    if (cap == 0)
        return 0;
    while (i < n) {
        size_t k = utf8_seq(s + i, n - i);
        /* An invalid byte (or a NUL) becomes '?': jansson refuses to
         * build a string from invalid UTF-8, and an upstream's text body
         * may be anything. A sequence is never split by the cap. */
        size_t w = k ? k : 1;
        if (o + w > cap - 1)
            break;
        if (k)
            memcpy(dst + o, s + i, k);
        else
            dst[o] = '?';
        o += w;
        i += w;
    }
    dst[o] = '\0';
    return o;
}

static json_t *text_json(const char *s)
{
    if (!s)
        s = "";
    size_t n = strlen(s);
    char *tmp = malloc(n + 1);
    if (!tmp)
        return NULL;
    text_copy(tmp, n + 1, s, n);
    json_t *j = json_string(tmp);
    free(tmp);
    return j;
}

static int text_contains_ci(const char *hay, const char *needle)
{
    size_t nl = strlen(needle);
    for (const char *p = hay; *p; p++) {
        size_t i = 0;
        while (i < nl && p[i] &&
               tolower((unsigned char)p[i]) == tolower((unsigned char)needle[i]))
            i++;
        if (i == nl)
            return 1;
    }
    return nl == 0;
}

/* ---- parsing ---- */

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

/* Copies a JSON string's value; 1 when v was a string. */
static int copy_json_string(char *dst, size_t cap, const json_t *v)
{
    if (!json_is_string(v))
        return 0;
    text_copy(dst, cap, json_string_value(v), json_string_length(v));
    return 1;
}

/* An OpenAI `code` is a string or, on some relays, a number. */
static void copy_code(char *dst, size_t cap, const json_t *v)
{
    if (json_is_integer(v))
        snprintf(dst, cap, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    else if (json_is_real(v))
        snprintf(dst, cap, "%.17g", json_real_value(v));
    else
        copy_json_string(dst, cap, v);
}

/* The message of a JSON error body, in the envelopes upstreams use; 0 when
 * none of them matched (the caller then uses the body text). */
static int parse_json(const json_t *root, struct tr_error *out)
{
    if (!json_is_object(root))
        return 0;
    const json_t *err = json_object_get(root, "error");
    if (json_is_object(err)) {
        /* Anthropic {"type":"error","error":{type,message}} and OpenAI
         * {"error":{message,type,code}} share this inner object. */
        copy_json_string(out->type, sizeof(out->type), json_object_get(err, "type"));
        copy_code(out->code, sizeof(out->code), json_object_get(err, "code"));
        return copy_json_string(out->message, sizeof(out->message),
                                json_object_get(err, "message"));
    }
    if (copy_json_string(out->message, sizeof(out->message), err))
        return 1;
    if (copy_json_string(out->message, sizeof(out->message), json_object_get(root, "message")))
        return 1;
    const json_t *detail = json_object_get(root, "detail");
    if (copy_json_string(out->message, sizeof(out->message), detail))
        return 1;
    if (detail && !json_is_null(detail)) {
        /* FastAPI-style relays put a list of validation errors here. */
        char *s = json_dumps(detail, JSON_COMPACT | JSON_ENCODE_ANY);
        if (s) {
            text_copy(out->message, sizeof(out->message), s, strlen(s));
            free(s);
            return 1;
        }
    }
    return 0;
}

void tr_error_parse(int status, const char *body, size_t len, struct tr_error *out)
{
    memset(out, 0, sizeof(*out));
    if (!body)
        len = 0;
    json_t *root = len ? zjson_load(body, len, 0) : NULL;
    int found = parse_json(root, out);
    json_decref(root);
    if (!found) {
        while (len && is_space(body[0])) {
            body++;
            len--;
        }
        while (len && is_space(body[len - 1]))
            len--;
        if (len)
            text_copy(out->message, sizeof(out->message), body, len);
        else if (status > 0)
            snprintf(out->message, sizeof(out->message), "upstream returned HTTP %d", status);
        else
            snprintf(out->message, sizeof(out->message), "upstream returned an error");
    }
    /* A known code beats a known type, which beats the status: OpenAI puts
     * the specific word in `code` (a bad key is type invalid_request_error,
     * code invalid_api_key; a quota is code insufficient_quota). */
    enum tr_err_class cls = tr_err_class_from_type(out->type[0] ? out->type : NULL,
                                                   tr_err_class_from_status(status));
    out->cls = tr_err_class_from_type(out->code[0] ? out->code : NULL, cls);
}

/* ---- rendering ---- */

static int is_context_length(const struct tr_error *e)
{
    static const char *const phrases[] = {"prompt is too long", "context length",
                                          "context_length_exceeded", "maximum context"};
    if (strcmp(e->code, "context_length_exceeded") == 0)
        return 1;
    for (size_t i = 0; i < sizeof(phrases) / sizeof(phrases[0]); i++)
        if (text_contains_ci(e->message, phrases[i]))
            return 1;
    return 0;
}

static int is_numeric(const char *s)
{
    if (*s == '-')
        s++;
    if (!*s)
        return 0;
    for (; *s; s++)
        if (!isdigit((unsigned char)*s) && *s != '.')
            return 0;
    return 1;
}

/* The upstream's type when the client's family knows it and it says what
 * the class says (a more specific code may have moved the class: then the
 * generic type would understate it); else the class's type. */
static const char *render_type(enum tr_format f, const struct tr_error *e)
{
    if (e->type[0] && tr_err_type_in_family(e->type, f) &&
        tr_err_class_from_type(e->type, TR_ERR_API) == e->cls)
        return e->type;
    return f == TR_FORMAT_A ? tr_err_class_a_type(e->cls) : tr_err_class_c_type(e->cls);
}

char *tr_error_render(enum tr_format f, const struct tr_error *e, int *status)
{
    int ctx_len = is_context_length(e);
    const char *type = render_type(f, e);
    if (f == TR_FORMAT_A) {
        if (!ctx_len || text_contains_ci(e->message, "prompt is too long"))
            return tr_error_own(f, type, NULL, e->message, NULL);
        /* Anthropic clients recognise a context overflow by A's wording. */
        static const char prefix[] = "prompt is too long: ";
        char msg[sizeof(prefix) + TR_ERROR_MESSAGE_MAX];
        snprintf(msg, sizeof(msg), "%s%s", prefix, e->message);
        return tr_error_own(f, type, NULL, msg, NULL);
    }
    if (status && *status == 402)
        *status = 429; /* OpenAI SDKs and Codex know a quota only as a 429 */
    const char *code = tr_err_class_c_code(e->cls);
    if (ctx_len)
        code = "context_length_exceeded"; /* what Codex reacts to */
    else if (!code && e->code[0] && !is_numeric(e->code))
        code = e->code;
    return tr_error_own(f, type, code, e->message, NULL);
}

json_t *tr_error_own_doc(enum tr_format f, const char *type, const char *code,
                         const char *message, const json_t *extra)
{
    json_t *root = json_object(), *err = json_object();
    if (!root || !err) {
        json_decref(root);
        json_decref(err);
        return NULL;
    }
    int bad = 0;
    if (f == TR_FORMAT_A) {
        bad |= json_object_set_new(root, "type", json_string("error"));
        bad |= json_object_set_new(root, "error", err);
        bad |= json_object_set_new(err, "type", text_json(type));
        bad |= json_object_set_new(err, "message", text_json(message));
    } else {
        bad |= json_object_set_new(root, "error", err);
        bad |= json_object_set_new(err, "message", text_json(message));
        bad |= json_object_set_new(err, "type", text_json(type));
        bad |= json_object_set_new(err, "param", json_null());
        bad |= json_object_set_new(err, "code", code ? text_json(code) : json_null());
    }
    if (json_is_object(extra)) {
        /* The envelope's own members win over an extra of the same name. */
        json_t *copy = json_deep_copy(extra);
        bad |= !copy || json_object_update_missing(err, copy);
        json_decref(copy);
    }
    if (bad) {
        json_decref(root);
        return NULL;
    }
    return root;
}

char *tr_error_own(enum tr_format f, const char *type, const char *code, const char *message,
                   const json_t *extra)
{
    json_t *root = tr_error_own_doc(f, type, code, message, extra);
    char *s = root ? json_dumps(root, JSON_COMPACT) : NULL;
    json_decref(root);
    return s;
}
