/* tr_ir_check.c -- tr_ir_valid: is a document exactly of the IR shape of
 * tr_request.h? Every member's type, every enum string, every part type,
 * and no member the shape does not name. The parsers' tests and the fuzzer
 * hold every parse result to it; the emitters' tests hold their literals. */
#include <stdio.h>
#include <string.h>

#include "tr_request.h"

/* Member kinds: s string, i integer, r real, b boolean, T true only,
 * o object, a array. */
struct field {
    const char *key;
    char kind;
    int required;
    const char *const *values; /* strings only: the allowed ones, NULL-ended */
};

static const char *const V_SOURCE[] = {"A", "C", "R", NULL};
static const char *const V_FAMILY[] = {"A", "R", NULL};
static const char *const V_ROLE[] = {"user", "assistant", NULL};
static const char *const V_CHOICE[] = {"auto", "any", "none", "tool", NULL};
static const char *const V_REASONING[] = {"off", "budget", "effort", "adaptive", NULL};
static const char *const V_FORMAT[] = {"text", "json_object", "json_schema", NULL};
static const char *const V_KIND[] = {"function", "custom", NULL};
static const char *const V_STATEFUL[] = {"previous_response_id", "conversation", "background",
                                         NULL};
static const char *const V_IMAGE[] = {"base64", "url", "file", NULL};
static const char *const V_DOC[] = {"pdf", "text", "url", NULL};

#define END {NULL, 0, 0, NULL}

static const struct field F_IR[] = {
    {"source", 's', 1, V_SOURCE}, {"model", 's', 1, NULL},     {"system", 'a', 1, NULL},
    {"messages", 'a', 1, NULL},   {"tools", 'a', 1, NULL},     {"tool_choice", 'o', 0, NULL},
    {"parallel", 'b', 0, NULL},   {"max_tokens", 'i', 0, NULL}, {"temperature", 'r', 0, NULL},
    {"top_p", 'r', 0, NULL},      {"top_k", 'i', 0, NULL},     {"stop", 'a', 0, NULL},
    {"stream", 'b', 1, NULL},     {"include_usage", 'b', 0, NULL}, {"user", 's', 0, NULL},
    {"reasoning", 'o', 1, NULL},  {"response_format", 'o', 0, NULL}, {"n", 'i', 0, NULL},
    {"stateful", 's', 0, V_STATEFUL}, END};
static const struct field F_SYSTEM[] = {
    {"text", 's', 1, NULL}, {"cache_control", 'o', 0, NULL}, END};
static const struct field F_MESSAGE[] = {
    {"role", 's', 1, V_ROLE}, {"parts", 'a', 1, NULL}, END};
static const struct field F_TOOL[] = {
    {"name", 's', 1, NULL},   {"description", 's', 0, NULL}, {"schema", 'o', 1, NULL},
    {"strict", 'b', 0, NULL}, {"kind", 's', 1, V_KIND},      {"format", 'o', 0, NULL},
    {"cache_control", 'o', 0, NULL}, END};
static const struct field F_CHOICE[] = {
    {"mode", 's', 1, V_CHOICE}, {"name", 's', 0, NULL}, END};
static const struct field F_REASONING[] = {
    {"mode", 's', 1, V_REASONING}, {"budget", 'i', 0, NULL}, {"effort", 's', 0, NULL}, END};
static const struct field F_FORMAT_PLAIN[] = {{"type", 's', 1, V_FORMAT}, END};
static const struct field F_FORMAT_SCHEMA[] = {
    {"type", 's', 1, V_FORMAT}, {"name", 's', 1, NULL}, {"schema", 'o', 1, NULL},
    {"strict", 'b', 0, NULL}, END};

static const struct field F_TEXT[] = {
    {"type", 's', 1, NULL}, {"text", 's', 1, NULL}, {"cache_control", 'o', 0, NULL}, END};
static const struct field F_IMAGE_B64[] = {
    {"type", 's', 1, NULL}, {"source", 's', 1, NULL}, {"media_type", 's', 1, NULL},
    {"data", 's', 1, NULL}, {"cache_control", 'o', 0, NULL}, END};
static const struct field F_IMAGE_URL[] = {
    {"type", 's', 1, NULL}, {"source", 's', 1, NULL}, {"url", 's', 1, NULL}, END};
static const struct field F_IMAGE_FILE[] = {
    {"type", 's', 1, NULL}, {"source", 's', 1, NULL}, {"file_id", 's', 1, NULL},
    {"family", 's', 1, V_FAMILY}, END};
static const struct field F_DOC_DATA[] = {
    {"type", 's', 1, NULL}, {"source", 's', 1, NULL}, {"data", 's', 1, NULL},
    {"title", 's', 0, NULL}, END};
static const struct field F_DOC_URL[] = {
    {"type", 's', 1, NULL}, {"source", 's', 1, NULL}, {"url", 's', 1, NULL},
    {"title", 's', 0, NULL}, END};
static const struct field F_THINKING[] = {
    {"type", 's', 1, NULL}, {"text", 's', 1, NULL}, {"signature", 's', 1, NULL},
    {"origin", 's', 1, V_SOURCE}, END};
static const struct field F_REDACTED[] = {{"type", 's', 1, NULL}, {"data", 's', 1, NULL}, END};
static const struct field F_TOOL_CALL[] = {
    {"type", 's', 1, NULL}, {"id", 's', 1, NULL}, {"name", 's', 1, NULL},
    {"args", 's', 1, NULL}, {"custom", 'T', 0, NULL}, END};
static const struct field F_TOOL_RESULT[] = {
    {"type", 's', 1, NULL},     {"call_id", 's', 1, NULL}, {"content", 'a', 1, NULL},
    {"is_error", 'T', 0, NULL}, {"custom", 'T', 0, NULL},  END};

#define AT_MAX 256

/* where + ".key", or where + "[i]" when key is NULL; a path too long for
 * the buffer is cut (it only names the place in a message). */
static void sub(char *at, const char *where, const char *key, size_t i)
{
    int n = key ? snprintf(at, AT_MAX, "%s.%s", where, key)
                : snprintf(at, AT_MAX, "%s[%zu]", where, i);
    if (n < 0)
        at[0] = '\0';
}

static int fail(char *err, size_t errlen, const char *where, const char *what)
{
    if (err && errlen)
        snprintf(err, errlen, "%s: %s", where, what);
    return 0;
}

static const struct field *find(const struct field *f, const char *key)
{
    for (; f->key; f++)
        if (!strcmp(f->key, key))
            return f;
    return NULL;
}

static int kind_ok(const json_t *v, char kind)
{
    switch (kind) {
    case 's': return json_is_string(v);
    case 'i': return json_is_integer(v);
    case 'r': return json_is_real(v);
    case 'b': return json_is_boolean(v);
    case 'T': return json_is_true(v);
    case 'o': return json_is_object(v);
    case 'a': return json_is_array(v);
    default: return 0;
    }
}

static int one_of(const char *s, const char *const *values)
{
    for (; *values; values++)
        if (!strcmp(s, *values))
            return 1;
    return 0;
}

/* obj holds exactly the members of fs, each of its kind. */
static int fields(const json_t *obj, const struct field *fs, const char *where, char *err,
                  size_t errlen)
{
    char at[AT_MAX];
    if (!json_is_object(obj))
        return fail(err, errlen, where, "not an object");
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)obj, key, v) {
        const struct field *f = find(fs, key);
        sub(at, where, key, 0);
        if (!f)
            return fail(err, errlen, at, "not a member of the IR shape");
        if (!kind_ok(v, f->kind))
            return fail(err, errlen, at, "wrong type");
        if (f->values && !one_of(json_string_value(v), f->values))
            return fail(err, errlen, at, "value not allowed");
    }
    for (; fs->key; fs++) {
        sub(at, where, fs->key, 0);
        if (fs->required && !json_object_get(obj, fs->key))
            return fail(err, errlen, at, "missing");
    }
    return 1;
}

/* Every element of arr through check(elem, where[i]). */
static int each(const json_t *arr, const char *where, char *err, size_t errlen,
                int (*check)(const json_t *, const char *, char *, size_t))
{
    char at[AT_MAX];
    size_t i;
    const json_t *v;
    json_array_foreach(arr, i, v) {
        sub(at, where, NULL, i);
        if (!check(v, at, err, errlen))
            return 0;
    }
    return 1;
}

static const char *str(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

static int is(const char *s, const char *t)
{
    return s && !strcmp(s, t);
}

static int check_image(const json_t *p, const char *where, char *err, size_t errlen)
{
    const char *src = str(p, "source");
    if (!src || !one_of(src, V_IMAGE))
        return fail(err, errlen, where, "image source must be base64, url or file");
    return fields(p,
                  is(src, "base64") ? F_IMAGE_B64 : is(src, "url") ? F_IMAGE_URL : F_IMAGE_FILE,
                  where, err, errlen);
}

/* A tool_result's content: text and image parts only. */
static int check_result_part(const json_t *p, const char *where, char *err, size_t errlen)
{
    const char *t = str(p, "type");
    if (is(t, "text"))
        return fields(p, F_TEXT, where, err, errlen);
    if (is(t, "image"))
        return check_image(p, where, err, errlen);
    return fail(err, errlen, where, "tool_result content holds text and image parts only");
}

static int check_part(const json_t *p, const char *where, char *err, size_t errlen)
{
    const char *t = str(p, "type");
    if (is(t, "text"))
        return fields(p, F_TEXT, where, err, errlen);
    if (is(t, "image"))
        return check_image(p, where, err, errlen);
    if (is(t, "document")) {
        const char *src = str(p, "source");
        if (!src || !one_of(src, V_DOC))
            return fail(err, errlen, where, "document source must be pdf, text or url");
        return fields(p, is(src, "url") ? F_DOC_URL : F_DOC_DATA, where, err, errlen);
    }
    if (is(t, "thinking"))
        return fields(p, F_THINKING, where, err, errlen);
    if (is(t, "redacted"))
        return fields(p, F_REDACTED, where, err, errlen);
    if (is(t, "tool_call"))
        return fields(p, F_TOOL_CALL, where, err, errlen);
    if (is(t, "tool_result")) {
        char at[AT_MAX];
        sub(at, where, "content", 0);
        return fields(p, F_TOOL_RESULT, where, err, errlen) &&
               each(json_object_get(p, "content"), at, err, errlen, check_result_part);
    }
    return fail(err, errlen, where, "unknown part type");
}

static int check_message(const json_t *m, const char *where, char *err, size_t errlen)
{
    char at[AT_MAX];
    sub(at, where, "parts", 0);
    return fields(m, F_MESSAGE, where, err, errlen) &&
           each(json_object_get(m, "parts"), at, err, errlen, check_part);
}

static int check_system(const json_t *s, const char *where, char *err, size_t errlen)
{
    return fields(s, F_SYSTEM, where, err, errlen);
}

static int check_tool(const json_t *t, const char *where, char *err, size_t errlen)
{
    return fields(t, F_TOOL, where, err, errlen);
}

static int check_stop(const json_t *s, const char *where, char *err, size_t errlen)
{
    return json_is_string(s) ? 1 : fail(err, errlen, where, "not a string");
}

/* The members whose presence depends on another's value. */
static int check_modes(const json_t *ir, char *err, size_t errlen)
{
    const json_t *tc = json_object_get(ir, "tool_choice");
    if (tc) {
        if (!fields(tc, F_CHOICE, "tool_choice", err, errlen))
            return 0;
        if (is(str(tc, "mode"), "tool") != (json_object_get(tc, "name") != NULL))
            return fail(err, errlen, "tool_choice.name", "present exactly when mode is tool");
    }
    const json_t *r = json_object_get(ir, "reasoning");
    if (!fields(r, F_REASONING, "reasoning", err, errlen))
        return 0;
    const char *mode = str(r, "mode");
    int has_budget = json_object_get(r, "budget") != NULL;
    int has_effort = json_object_get(r, "effort") != NULL;
    if (has_budget != is(mode, "budget"))
        return fail(err, errlen, "reasoning.budget", "present exactly when mode is budget");
    if (is(mode, "effort") ? !has_effort : (has_effort && !is(mode, "adaptive")))
        return fail(err, errlen, "reasoning.effort",
                    "required with mode effort, allowed with adaptive, else absent");
    const json_t *rf = json_object_get(ir, "response_format");
    if (rf) {
        const struct field *fs = is(str(rf, "type"), "json_schema") ? F_FORMAT_SCHEMA
                                                                   : F_FORMAT_PLAIN;
        if (!fields(rf, fs, "response_format", err, errlen))
            return 0;
    }
    return 1;
}

int tr_ir_valid(const json_t *ir, char *err, size_t errlen)
{
    if (err && errlen)
        err[0] = '\0';
    return fields(ir, F_IR, "ir", err, errlen) &&
           each(json_object_get(ir, "system"), "system", err, errlen, check_system) &&
           each(json_object_get(ir, "messages"), "messages", err, errlen, check_message) &&
           each(json_object_get(ir, "tools"), "tools", err, errlen, check_tool) &&
           each(json_object_get(ir, "stop"), "stop", err, errlen, check_stop) &&
           check_modes(ir, err, errlen);
}
