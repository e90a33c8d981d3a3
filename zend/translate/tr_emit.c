/* tr_emit.c -- the request emitters' entry point and the helpers the three
 * wires share (docs/translate.md, requests): ids, tool-name shortening,
 * effort <-> budget tables, content helpers. The wire-specific structure is
 * in tr_emit_a.c, tr_emit_c.c and tr_emit_r.c. */
#include "tr_emit_int.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tr_ctx.h"
#include "zjson.h"

/* Reals are printed with 15 significant digits: enough for every sampling
 * value a client sends, and 0.2 stays "0.2" instead of jansson's default
 * 17-digit "0.20000000000000001". */
#define TR_EMIT_REAL_PRECISION 15

/* ---- building ---- */

void tr_emit_set(struct tr_emit *e, json_t *obj, const char *key, json_t *v)
{
    if (!v || !obj || json_object_set_new(obj, key, v) != 0)
        e->oom = 1;
}

void tr_emit_push(struct tr_emit *e, json_t *arr, json_t *v)
{
    if (!v || !arr || json_array_append_new(arr, v) != 0)
        e->oom = 1;
}

void tr_emit_copy(struct tr_emit *e, json_t *dst, const json_t *src, const char *key)
{
    json_t *v = json_object_get(src, key);
    if (v)
        tr_emit_set(e, dst, key, json_incref(v));
}

/* ---- reading the IR ---- */

const char *tr_ir_str(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

int tr_ir_is(const json_t *part, const char *type)
{
    const char *t = tr_ir_str(part, "type");
    return t && strcmp(t, type) == 0;
}

int tr_ir_true(const json_t *o, const char *key)
{
    return json_is_true(json_object_get(o, key));
}

const json_t *tr_ir_tools(const json_t *ir)
{
    const json_t *t = json_object_get(ir, "tools");
    return json_is_array(t) && json_array_size(t) > 0 ? t : NULL;
}

int tr_ir_tool_is_custom(const json_t *ir, const char *name)
{
    const json_t *tools = tr_ir_tools(ir);
    size_t i;
    const json_t *t;
    if (!tools || !name)
        return 0;
    json_array_foreach(tools, i, t) {
        const char *n = tr_ir_str(t, "name");
        const char *kind = tr_ir_str(t, "kind");
        if (n && strcmp(n, name) == 0 && kind && strcmp(kind, "custom") == 0)
            return 1;
    }
    return 0;
}

/* ---- identifiers ---- */

uint32_t tr_fnv1a32(const void *p, size_t n)
{
    const unsigned char *s = p;
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) {
        h ^= s[i];
        h *= 16777619u;
    }
    return h;
}

static int id_byte_ok(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '-';
}

char *tr_sanitize_id(struct tr_emit *e, const char *id)
{
    if (!id || !*id) {
        char buf[32];
        snprintf(buf, sizeof(buf), "toolu_zend_%u", e->empty_ids++);
        return strdup(buf);
    }
    char *s = strdup(id);
    if (!s)
        return NULL;
    for (char *p = s; *p; p++)
        if (!id_byte_ok((unsigned char)*p))
            *p = '_';
    return s;
}

json_t *tr_r_call_id(const char *id)
{
    if (!id)
        id = "";
    size_t n = strlen(id);
    if (n <= TR_CALL_ID_MAX)
        return json_string(id);
    char buf[16];
    snprintf(buf, sizeof(buf), "call_%08x", (unsigned)tr_fnv1a32(id, n));
    return json_string(buf);
}

int tr_short_name(const char *name, char *out)
{
    size_t n = strlen(name);
    int clean = n <= TR_NAME_MAX;
    for (size_t i = 0; clean && i < n; i++)
        clean = id_byte_ok((unsigned char)name[i]);
    if (clean) {
        memcpy(out, name, n + 1);
        return 0;
    }
    size_t keep = n < TR_NAME_KEEP ? n : TR_NAME_KEEP;
    for (size_t i = 0; i < keep; i++)
        out[i] = id_byte_ok((unsigned char)name[i]) ? name[i] : '_';
    snprintf(out + keep, TR_NAME_MAX + 1 - keep, "_%08x", (unsigned)tr_fnv1a32(name, n));
    return 1;
}

json_t *tr_emit_wire_name(struct tr_emit *e, const char *name)
{
    char buf[TR_NAME_MAX + 1];
    if (!name)
        name = "";
    if (!tr_short_name(name, buf))
        return json_string(name);
    /* One pair per name: the same tool shows up in definitions, history
     * and tool_choice. */
    size_t len;
    const char *known = tr_ctx_client_name(e->ctx, buf, strlen(buf), &len);
    if (known == buf && tr_ctx_add_name(e->ctx, buf, name) != 0)
        e->oom = 1;
    return json_string(buf);
}

/* ---- reasoning ---- */

const char *tr_budget_to_effort(int64_t budget)
{
    if (budget <= 1024)
        return "low";
    if (budget <= 8192)
        return "medium";
    /* xhigh (>= 24576) only where the wire accepts it; no provider setting
     * declares that yet, so high. */
    return "high";
}

static const struct {
    const char *effort;
    int64_t budget;
} effort_budgets[] = {
    {"none", 0}, {"minimal", 0}, {"low", 2048}, {"medium", 8192},
    {"high", 16384}, {"xhigh", 24576}, {"max", 31999},
};

int64_t tr_effort_to_budget(const char *effort)
{
    for (size_t i = 0; effort && i < sizeof(effort_budgets) / sizeof(effort_budgets[0]); i++)
        if (strcmp(effort, effort_budgets[i].effort) == 0)
            return effort_budgets[i].budget;
    return 0;
}

const char *tr_emit_oa_effort(const json_t *ir)
{
    const json_t *r = json_object_get(ir, "reasoning");
    const char *mode = tr_ir_str(r, "mode");
    const char *effort = tr_ir_str(r, "effort");
    if (!mode)
        return NULL;
    if (strcmp(mode, "budget") == 0) {
        json_t *b = json_object_get(r, "budget");
        return json_is_integer(b) ? tr_budget_to_effort(json_integer_value(b)) : NULL;
    }
    if (strcmp(mode, "adaptive") == 0) {
        if (!effort)
            return NULL;
        /* Anthropic's top levels have no OpenAI counterpart we may send. */
        if (strcmp(effort, "xhigh") == 0 || strcmp(effort, "max") == 0)
            return "high";
        return effort;
    }
    if (strcmp(mode, "effort") == 0)
        return effort;   /* C <-> R: verbatim */
    return NULL;
}

/* ---- content ---- */

json_t *tr_json_cat(const char *first, ...)
{
    va_list ap;
    size_t n = 1;
    va_start(ap, first);
    for (const char *p = first; p; p = va_arg(ap, const char *))
        n += strlen(p);
    va_end(ap);
    char *s = malloc(n), *at = s;
    if (!s)
        return NULL;
    va_start(ap, first);
    for (const char *p = first; p; p = va_arg(ap, const char *)) {
        size_t k = strlen(p);
        memcpy(at, p, k);
        at += k;
    }
    va_end(ap);
    *at = '\0';
    json_t *j = json_string(s);
    free(s);
    return j;
}

static const char *or_empty(const char *s)
{
    return s ? s : "";
}

json_t *tr_data_url(const char *media_type, const char *data)
{
    return tr_json_cat("data:", or_empty(media_type), ";base64,", or_empty(data), NULL);
}

json_t *tr_omitted(const char *what, const char *id)
{
    return tr_json_cat("[", what, " omitted: ", or_empty(id), "]", NULL);
}

json_t *tr_text_document(const json_t *part)
{
    const char *title = tr_ir_str(part, "title");
    const char *data = or_empty(tr_ir_str(part, "data"));
    if (!title || !*title)
        return json_string(data);
    return tr_json_cat(title, "\n\n", data, NULL);
}

json_t *tr_lone_text(json_t *content)
{
    json_t *only = json_array_get(content, 0);
    if (json_array_size(content) != 1 || !tr_ir_is(only, "text") ||
        json_object_get(only, "cache_control"))
        return content;
    json_t *s = json_incref(json_object_get(only, "text"));
    json_decref(content);
    return s;
}

void tr_emit_messages(struct tr_emit *e, json_t *out, tr_emit_msg_fn user,
                      tr_emit_msg_fn assistant)
{
    const json_t *m;
    size_t i;
    json_array_foreach(json_object_get(e->ir, "messages"), i, m) {
        const char *role = tr_ir_str(m, "role");
        if (role && strcmp(role, "assistant") == 0)
            assistant(e, m, out);
        else
            user(e, m, out);
    }
}

char *tr_join_text(const json_t *parts, const char *sep)
{
    size_t total = 1, seplen = strlen(sep), i;
    const json_t *p;
    json_array_foreach(parts, i, p) {
        const char *t = tr_ir_str(p, "text");
        const char *type = tr_ir_str(p, "type");
        if ((!type || strcmp(type, "text") == 0) && t && *t)
            total += strlen(t) + seplen;
    }
    char *out = malloc(total);
    if (!out)
        return NULL;
    size_t at = 0;
    json_array_foreach(parts, i, p) {
        const char *t = tr_ir_str(p, "text");
        const char *type = tr_ir_str(p, "type");
        if (!((!type || strcmp(type, "text") == 0) && t && *t))
            continue;
        if (at) {
            memcpy(out + at, sep, seplen);
            at += seplen;
        }
        size_t n = strlen(t);
        memcpy(out + at, t, n);
        at += n;
    }
    out[at] = '\0';
    return out;
}

json_t *tr_tool_schema(const json_t *tool)
{
    const json_t *s = json_object_get(tool, "schema");
    if (!json_is_object(s))
        return json_pack("{s:s, s:{}}", "type", "object", "properties");
    if (json_object_get(s, "type"))
        return json_incref((json_t *)s);
    json_t *c = json_copy((json_t *)s);
    if (c && json_object_set_new(c, "type", json_string("object")) != 0) {
        json_decref(c);
        return NULL;
    }
    return c;
}

json_t *tr_custom_schema(void)
{
    return json_pack("{s:s, s:{s:{s:s}}, s:[s]}", "type", "object", "properties", "input",
                     "type", "string", "required", "input");
}

int tr_is_claude(const char *model)
{
    static const char needle[] = "claude";
    size_t n = sizeof(needle) - 1;
    for (const char *p = model; p && *p; p++) {
        size_t i = 0;
        while (i < n && p[i] && tolower((unsigned char)p[i]) == needle[i])
            i++;
        if (i == n)
            return 1;
    }
    return 0;
}

const json_t *tr_emit_cache(const struct tr_emit *e, const json_t *part)
{
    const json_t *cc = json_object_get(part, "cache_control");
    if (!json_is_object(cc))
        return NULL;
    if (e->wire == TR_FORMAT_A || (e->wire == TR_FORMAT_C && e->keep_cache))
        return cc;
    return NULL;
}

/* ---- entry point ---- */

char *tr_request_emit(const json_t *ir, enum tr_format wire, const struct tr_emit_opts *o,
                      struct tr_ctx *ctx, size_t *len)
{
    static const struct tr_emit_opts no_opts;
    struct tr_emit e = {.ir = ir, .wire = wire, .o = o ? o : &no_opts, .ctx = ctx};
    const char *model = tr_ir_str(ir, "model");

    free(ctx->model);
    ctx->model = NULL;
    if (model && !(ctx->model = strdup(model)))
        return NULL;
    e.keep_cache = wire == TR_FORMAT_C && tr_is_claude(model);

    /* Every custom tool's client name, whatever the wire: the answer turns
     * calls of these back into custom_tool_call for an R client. */
    const json_t *tools = tr_ir_tools(ir), *t;
    size_t i;
    if (tools)
        json_array_foreach(tools, i, t) {
            const char *kind = tr_ir_str(t, "kind"), *name = tr_ir_str(t, "name");
            if (kind && name && strcmp(kind, "custom") == 0 &&
                !tr_ctx_is_custom(ctx, name, strlen(name)) &&
                tr_ctx_add_custom_tool(ctx, name) != 0)
                return NULL;
        }

    json_t *body = NULL;
    switch (wire) {
    case TR_FORMAT_A: body = tr_emit_a(&e); break;
    case TR_FORMAT_C: body = tr_emit_c(&e); break;
    case TR_FORMAT_R: body = tr_emit_r(&e); break;
    }
    char *out = NULL;
    if (body && !e.oom)
        out = zjson_dumps(body, TR_EMIT_REAL_PRECISION, len);
    json_decref(body);
    return out;
}
