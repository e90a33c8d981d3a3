/* tr_emit_c.c -- IR -> OpenAI Chat Completions request body
 * (docs/translate.md, requests): a leading system message; each user turn
 * as its tool messages first and then one user message (tool-result images
 * move there, since a tool message cannot hold one); assistant turns as
 * content + tool_calls (+ reasoning_content from zend's own carrier);
 * shortened tool names; cache_control only for claude models. */
#include "tr_emit_int.h"
#include "zjson.h"

#include <stdlib.h>
#include <string.h>

static void c_cache(struct tr_emit *e, json_t *x, const json_t *part)
{
    const json_t *cc = tr_emit_cache(e, part);
    if (cc)
        tr_emit_set(e, x, "cache_control", json_incref((json_t *)cc));
}

static json_t *c_text_part(json_t *text)
{
    return json_pack("{s:s, s:o}", "type", "text", "text", text);
}

static json_t *c_image(struct tr_emit *e, const json_t *p)
{
    const char *src = tr_ir_str(p, "source");
    json_t *url;
    if (!src)
        return NULL;
    if (strcmp(src, "base64") == 0)
        url = tr_data_url(tr_ir_str(p, "media_type"), tr_ir_str(p, "data"));
    else if (strcmp(src, "url") == 0)
        url = json_string(tr_ir_str(p, "url") ? tr_ir_str(p, "url") : "");
    else if (strcmp(src, "file") == 0)
        return c_text_part(tr_omitted("file", tr_ir_str(p, "file_id")));
    else
        return NULL;
    json_t *x = json_pack("{s:s, s:{s:o}}", "type", "image_url", "image_url", "url", url);
    c_cache(e, x, p);
    return x;
}

static json_t *c_document(const json_t *p)
{
    const char *src = tr_ir_str(p, "source");
    if (!src)
        return NULL;
    if (strcmp(src, "pdf") == 0) {
        const char *title = tr_ir_str(p, "title");
        return json_pack("{s:s, s:{s:s, s:o}}", "type", "file", "file", "filename",
                         title && *title ? title : "document.pdf", "file_data",
                         tr_data_url("application/pdf", tr_ir_str(p, "data")));
    }
    if (strcmp(src, "text") == 0)
        return c_text_part(tr_text_document(p));
    if (strcmp(src, "url") == 0)
        return c_text_part(tr_omitted("document", tr_ir_str(p, "url")));
    return NULL;
}

/* A user-side part in C form; NULL when C has no place for it. */
static json_t *c_part(struct tr_emit *e, const json_t *p)
{
    if (tr_ir_is(p, "text")) {
        const char *t = tr_ir_str(p, "text");
        if (!t || !*t)
            return NULL;
        json_t *x = c_text_part(json_string(t));
        c_cache(e, x, p);
        return x;
    }
    if (tr_ir_is(p, "image"))
        return c_image(e, p);
    if (tr_ir_is(p, "document"))
        return c_document(p);
    return NULL;
}

static void c_user(struct tr_emit *e, const json_t *m, json_t *out)
{
    const json_t *parts = json_object_get(m, "parts"), *p, *c;
    size_t i, j;
    /* Tool messages must directly follow the assistant's tool_calls. */
    json_array_foreach(parts, i, p) {
        if (!tr_ir_is(p, "tool_result"))
            continue;
        char *text = tr_join_text(json_object_get(p, "content"), "\n");
        const char *id = tr_ir_str(p, "call_id");
        if (!text) {
            e->oom = 1;
            return;
        }
        tr_emit_push(e, out, json_pack("{s:s, s:s, s:o}", "role", "tool", "tool_call_id",
                                       id ? id : "", "content", zjson_string(text)));
        free(text);
    }
    json_t *content = json_array();
    json_array_foreach(parts, i, p) {
        json_t *x = tr_ir_is(p, "tool_result") ? NULL : c_part(e, p);
        if (x)
            tr_emit_push(e, content, x);
    }
    json_array_foreach(parts, i, p) {
        if (!tr_ir_is(p, "tool_result"))
            continue;
        const char *id = tr_ir_str(p, "call_id");
        json_array_foreach(json_object_get(p, "content"), j, c) {
            if (!tr_ir_is(c, "image"))
                continue;
            tr_emit_push(e, content, c_text_part(tr_json_cat("Image returned by tool call ",
                                                             id ? id : "", ":", NULL)));
            json_t *img = c_image(e, c);
            if (img)
                tr_emit_push(e, content, img);
        }
    }
    if (json_array_size(content) == 0) {
        json_decref(content);
        return;
    }
    tr_emit_push(e, out, json_pack("{s:s, s:o}", "role", "user", "content",
                                   tr_lone_text(content)));
}

/* Appends s to a growing malloc'd string. */
static int append(char **acc, size_t *len, const char *s)
{
    size_t n = strlen(s);
    char *v = realloc(*acc, *len + n + 1);
    if (!v)
        return -1;
    memcpy(v + *len, s, n + 1);
    *acc = v;
    *len += n;
    return 0;
}

static void c_assistant(struct tr_emit *e, const json_t *m, json_t *out)
{
    const json_t *parts = json_object_get(m, "parts"), *p;
    size_t i, text_len = 0, reason_len = 0;
    char *text = NULL, *reason = NULL;
    json_t *calls = json_array();
    json_array_foreach(parts, i, p) {
        const char *t = tr_ir_str(p, "text");
        if (tr_ir_is(p, "text") && t && *t) {
            if (append(&text, &text_len, t) != 0)
                e->oom = 1;
        } else if (tr_ir_is(p, "thinking") && t) {
            /* only zend's own carrier of a C reasoning_content goes back */
            const char *sig = tr_ir_str(p, "signature");
            if (sig && strcmp(sig, "zend1.c") == 0 && append(&reason, &reason_len, t) != 0)
                e->oom = 1;
        } else if (tr_ir_is(p, "tool_call")) {
            const char *args = tr_ir_str(p, "args"), *id = tr_ir_str(p, "id");
            json_t *fn = json_pack("{s:o, s:o}", "name",
                                   tr_emit_wire_name(e, tr_ir_str(p, "name")), "arguments",
                                   zjson_string(args && *args ? args : "{}"));
            tr_emit_push(e, calls, json_pack("{s:s, s:s, s:o}", "id", id ? id : "", "type",
                                             "function", "function", fn));
        }
    }
    if (text || json_array_size(calls) > 0) {
        /* content is null, not "", beside tool calls */
        json_t *msg = json_pack("{s:s, s:o}", "role", "assistant", "content",
                                text ? zjson_string(text) : json_null());
        if (json_array_size(calls) > 0)
            tr_emit_set(e, msg, "tool_calls", json_incref(calls));
        if (reason)
            tr_emit_set(e, msg, "reasoning_content", zjson_string(reason));
        tr_emit_push(e, out, msg);
    }
    json_decref(calls);
    free(text);
    free(reason);
}

static void c_system(struct tr_emit *e, json_t *out)
{
    const json_t *sys = json_object_get(e->ir, "system"), *p;
    size_t i;
    int any_cache = 0;
    json_array_foreach(sys, i, p)
        any_cache |= tr_emit_cache(e, p) != NULL;
    if (any_cache) {
        json_t *arr = json_array();
        json_array_foreach(sys, i, p) {
            const char *t = tr_ir_str(p, "text");
            if (!t || !*t)
                continue;
            json_t *x = c_text_part(json_string(t));
            c_cache(e, x, p);
            tr_emit_push(e, arr, x);
        }
        tr_emit_push(e, out, json_pack("{s:s, s:o}", "role", "system", "content", arr));
        return;
    }
    char *s = tr_join_text(sys, "\n\n");
    if (!s)
        e->oom = 1;
    else if (*s)
        tr_emit_push(e, out, json_pack("{s:s, s:s}", "role", "system", "content", s));
    free(s);
}

static void c_tools(struct tr_emit *e, json_t *body)
{
    const json_t *tools = tr_ir_tools(e->ir), *t;
    size_t i;
    if (!tools)
        return;   /* and no tool_choice / parallel_tool_calls: OpenAI rejects them */
    json_t *arr = json_array();
    json_array_foreach(tools, i, t) {
        const char *kind = tr_ir_str(t, "kind");
        int custom = kind && strcmp(kind, "custom") == 0;
        json_t *fn = json_pack("{s:o}", "name", tr_emit_wire_name(e, tr_ir_str(t, "name")));
        tr_emit_copy(e, fn, t, "description");
        tr_emit_set(e, fn, "parameters", custom ? tr_custom_schema() : tr_tool_schema(t));
        if (!custom && json_is_boolean(json_object_get(t, "strict")))
            tr_emit_copy(e, fn, t, "strict");
        tr_emit_push(e, arr, json_pack("{s:s, s:o}", "type", "function", "function", fn));
    }
    tr_emit_set(e, body, "tools", arr);

    const json_t *tc = json_object_get(e->ir, "tool_choice");
    const char *mode = tr_ir_str(tc, "mode");
    if (mode && strcmp(mode, "auto") == 0)
        tr_emit_set(e, body, "tool_choice", json_string("auto"));
    else if (mode && strcmp(mode, "any") == 0)
        tr_emit_set(e, body, "tool_choice", json_string("required"));
    else if (mode && strcmp(mode, "none") == 0)
        tr_emit_set(e, body, "tool_choice", json_string("none"));
    else if (mode && strcmp(mode, "tool") == 0)
        tr_emit_set(e, body, "tool_choice",
                    json_pack("{s:s, s:{s:o}}", "type", "function", "function", "name",
                              tr_emit_wire_name(e, tr_ir_str(tc, "name"))));
    const json_t *par = json_object_get(e->ir, "parallel");
    if (json_is_boolean(par))
        tr_emit_set(e, body, "parallel_tool_calls", json_incref((json_t *)par));
}

static void c_response_format(struct tr_emit *e, json_t *body)
{
    const json_t *rf = json_object_get(e->ir, "response_format");
    const char *type = tr_ir_str(rf, "type");
    if (!type)
        return;
    if (strcmp(type, "json_schema") != 0) {
        tr_emit_set(e, body, "response_format", json_pack("{s:s}", "type", type));
        return;
    }
    json_t *js = json_object();
    tr_emit_copy(e, js, rf, "name");
    tr_emit_copy(e, js, rf, "schema");
    tr_emit_copy(e, js, rf, "strict");
    tr_emit_set(e, body, "response_format",
                json_pack("{s:s, s:o}", "type", "json_schema", "json_schema", js));
}

static void c_params(struct tr_emit *e, json_t *body)
{
    const json_t *ir = e->ir;
    const json_t *mt = json_object_get(ir, "max_tokens");
    if (json_is_integer(mt))
        tr_emit_set(e, body,
                    e->o->max_tokens_legacy ? "max_tokens" : "max_completion_tokens",
                    json_incref((json_t *)mt));
    if (json_is_number(json_object_get(ir, "temperature")))
        tr_emit_copy(e, body, ir, "temperature");
    if (json_is_number(json_object_get(ir, "top_p")))
        tr_emit_copy(e, body, ir, "top_p");
    const json_t *stop = json_object_get(ir, "stop"), *s;
    size_t i;
    if (json_is_array(stop) && json_array_size(stop) > 0) {
        json_t *arr = json_array();
        json_array_foreach(stop, i, s)
            if (i < TR_C_STOP_MAX)
                tr_emit_push(e, arr, json_incref((json_t *)s));
        tr_emit_set(e, body, "stop", arr);
    }
    if (tr_ir_true(ir, "stream")) {
        /* usage is otherwise absent from a Chat stream; never without stream */
        tr_emit_set(e, body, "stream", json_true());
        tr_emit_set(e, body, "stream_options", json_pack("{s:b}", "include_usage", 1));
    }
    const char *user = tr_ir_str(ir, "user");
    if (user && strlen(user) <= TR_USER_MAX)
        tr_emit_set(e, body, "user", json_string(user));
    const char *effort = tr_emit_oa_effort(ir);
    if (effort)
        tr_emit_set(e, body, "reasoning_effort", json_string(effort));
    c_response_format(e, body);
}

json_t *tr_emit_c(struct tr_emit *e)
{
    json_t *body = json_object();
    tr_emit_copy(e, body, e->ir, "model");
    json_t *messages = json_array();
    c_system(e, messages);
    tr_emit_messages(e, messages, c_user, c_assistant);
    tr_emit_set(e, body, "messages", messages);
    c_tools(e, body);
    c_params(e, body);
    return body;
}
