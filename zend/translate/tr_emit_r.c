/* tr_emit_r.c -- IR -> OpenAI Responses request body (docs/translate.md,
 * requests): `instructions`, `input` items (messages, function_call /
 * custom_tool_call, their outputs), call ids capped at 64 bytes, shortened
 * tool names, `strict:false` function tools, `store:false`. All thinking is
 * dropped: OpenAI cannot use another model's reasoning, nor zend's carriers. */
#include "tr_emit_int.h"
#include "zjson.h"

#include <stdlib.h>
#include <string.h>

static json_t *r_input_text(json_t *text)
{
    return json_pack("{s:s, s:o}", "type", "input_text", "text", text);
}

static json_t *r_image(const json_t *p)
{
    const char *src = tr_ir_str(p, "source");
    if (!src)
        return NULL;
    if (strcmp(src, "base64") == 0)
        return json_pack("{s:s, s:o}", "type", "input_image", "image_url",
                         tr_data_url(tr_ir_str(p, "media_type"), tr_ir_str(p, "data")));
    if (strcmp(src, "url") == 0)
        return json_pack("{s:s, s:s*}", "type", "input_image", "image_url", tr_ir_str(p, "url"));
    if (strcmp(src, "file") == 0) {
        const char *family = tr_ir_str(p, "family");
        if (family && strcmp(family, "R") == 0)
            return json_pack("{s:s, s:s*}", "type", "input_image", "file_id",
                             tr_ir_str(p, "file_id"));
        /* an Anthropic file id means nothing to OpenAI */
        return r_input_text(tr_omitted("file", tr_ir_str(p, "file_id")));
    }
    return NULL;
}

static json_t *r_document(const json_t *p)
{
    const char *src = tr_ir_str(p, "source");
    if (!src)
        return NULL;
    if (strcmp(src, "pdf") == 0) {
        const char *title = tr_ir_str(p, "title");
        return json_pack("{s:s, s:s, s:o}", "type", "input_file", "filename",
                         title && *title ? title : "document.pdf", "file_data",
                         tr_data_url("application/pdf", tr_ir_str(p, "data")));
    }
    if (strcmp(src, "text") == 0)
        return r_input_text(tr_text_document(p));
    if (strcmp(src, "url") == 0)
        return json_pack("{s:s, s:s*}", "type", "input_file", "file_url", tr_ir_str(p, "url"));
    return NULL;
}

/* A user-side part as an R content part; NULL when R has no place for it. */
static json_t *r_part(const json_t *p)
{
    if (tr_ir_is(p, "text")) {
        const char *t = tr_ir_str(p, "text");
        return t && *t ? r_input_text(json_string(t)) : NULL;
    }
    if (tr_ir_is(p, "image"))
        return r_image(p);
    if (tr_ir_is(p, "document"))
        return r_document(p);
    return NULL;
}

/* Is the tool call with this id one of a custom tool? Its output must then
 * be a custom_tool_call_output. */
static int r_call_is_custom(const json_t *ir, const json_t *call)
{
    return tr_ir_true(call, "custom") || tr_ir_tool_is_custom(ir, tr_ir_str(call, "name"));
}

static int r_result_is_custom(const json_t *ir, const json_t *result)
{
    const char *id = tr_ir_str(result, "call_id");
    const json_t *m, *p;
    size_t i, j;
    if (tr_ir_true(result, "custom"))
        return 1;
    json_array_foreach(json_object_get(ir, "messages"), i, m)
        json_array_foreach(json_object_get(m, "parts"), j, p) {
            const char *pid = tr_ir_str(p, "id");
            if (tr_ir_is(p, "tool_call") && id && pid && strcmp(pid, id) == 0)
                return r_call_is_custom(ir, p);
        }
    return 0;
}

/* A tool result's output: a string, or input_text/input_image parts when
 * it carries images (Responses takes both). */
static json_t *r_output(struct tr_emit *e, const json_t *content)
{
    const json_t *c;
    size_t i;
    int images = 0;
    json_array_foreach(content, i, c)
        images |= tr_ir_is(c, "image");
    if (!images) {
        char *s = tr_join_text(content, "\n");
        json_t *j = s ? json_string(s) : NULL;
        free(s);
        return j;
    }
    json_t *arr = json_array();
    json_array_foreach(content, i, c) {
        json_t *x = r_part(c);
        if (x)
            tr_emit_push(e, arr, x);
    }
    return arr;
}

static void r_user(struct tr_emit *e, const json_t *m, json_t *out)
{
    const json_t *parts = json_object_get(m, "parts"), *p;
    size_t i;
    json_array_foreach(parts, i, p) {
        if (!tr_ir_is(p, "tool_result"))
            continue;
        const char *type = r_result_is_custom(e->ir, p) ? "custom_tool_call_output"
                                                        : "function_call_output";
        tr_emit_push(e, out, json_pack("{s:s, s:o, s:o}", "type", type, "call_id",
                                       tr_r_call_id(tr_ir_str(p, "call_id")), "output",
                                       r_output(e, json_object_get(p, "content"))));
    }
    json_t *content = json_array();
    json_array_foreach(parts, i, p) {
        json_t *x = tr_ir_is(p, "tool_result") ? NULL : r_part(p);
        if (x)
            tr_emit_push(e, content, x);
    }
    if (json_array_size(content) == 0) {
        json_decref(content);
        return;
    }
    tr_emit_push(e, out, json_pack("{s:s, s:s, s:o}", "type", "message", "role", "user",
                                   "content", content));
}

/* A custom tool call's free-form input: the "input" string of its args. */
static json_t *r_custom_input(const char *args)
{
    json_t *v = args ? zjson_load(args, strlen(args), 0) : NULL;
    const char *in = json_string_value(json_object_get(v, "input"));
    json_t *s = json_string(in ? in : v || !args ? "" : args);
    json_decref(v);
    return s;
}

static void r_assistant(struct tr_emit *e, const json_t *m, json_t *out)
{
    const json_t *parts = json_object_get(m, "parts"), *p;
    size_t i;
    json_t *content = json_array();
    json_array_foreach(parts, i, p) {
        const char *t = tr_ir_str(p, "text");
        if (tr_ir_is(p, "text") && t && *t)
            tr_emit_push(e, content, json_pack("{s:s, s:s, s:[]}", "type", "output_text", "text",
                                               t, "annotations"));
    }
    if (json_array_size(content) > 0)
        tr_emit_push(e, out, json_pack("{s:s, s:s, s:o}", "type", "message", "role",
                                       "assistant", "content", content));
    else
        json_decref(content);
    json_array_foreach(parts, i, p) {
        if (!tr_ir_is(p, "tool_call"))
            continue;
        json_t *call_id = tr_r_call_id(tr_ir_str(p, "id"));
        json_t *name = tr_emit_wire_name(e, tr_ir_str(p, "name"));
        const char *args = tr_ir_str(p, "args");
        if (r_call_is_custom(e->ir, p))
            tr_emit_push(e, out, json_pack("{s:s, s:o, s:o, s:o}", "type", "custom_tool_call",
                                           "call_id", call_id, "name", name, "input",
                                           r_custom_input(args)));
        else
            tr_emit_push(e, out, json_pack("{s:s, s:o, s:o, s:s}", "type", "function_call",
                                           "call_id", call_id, "name", name, "arguments",
                                           args && *args ? args : "{}"));
    }
}

static void r_tools(struct tr_emit *e, json_t *body)
{
    const json_t *tools = tr_ir_tools(e->ir), *t;
    size_t i;
    if (!tools)
        return;   /* and no tool_choice / parallel_tool_calls */
    json_t *arr = json_array();
    json_array_foreach(tools, i, t) {
        const char *kind = tr_ir_str(t, "kind");
        json_t *name = tr_emit_wire_name(e, tr_ir_str(t, "name"));
        json_t *x;
        if (kind && strcmp(kind, "custom") == 0) {
            x = json_pack("{s:s, s:o}", "type", "custom", "name", name);
            tr_emit_copy(e, x, t, "description");
            tr_emit_copy(e, x, t, "format");
        } else {
            x = json_pack("{s:s, s:o}", "type", "function", "name", name);
            tr_emit_copy(e, x, t, "description");
            tr_emit_set(e, x, "parameters", tr_tool_schema(t));
            /* without strict:false the API makes every property required */
            tr_emit_set(e, x, "strict", json_boolean(tr_ir_true(t, "strict")));
        }
        tr_emit_push(e, arr, x);
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
    else if (mode && strcmp(mode, "tool") == 0) {
        const char *n = tr_ir_str(tc, "name");
        tr_emit_set(e, body, "tool_choice",
                    json_pack("{s:s, s:o}", "type",
                              tr_ir_tool_is_custom(e->ir, n) ? "custom" : "function", "name",
                              tr_emit_wire_name(e, n)));
    }
    const json_t *par = json_object_get(e->ir, "parallel");
    if (json_is_boolean(par))
        tr_emit_set(e, body, "parallel_tool_calls", json_incref((json_t *)par));
}

static void r_params(struct tr_emit *e, json_t *body)
{
    const json_t *ir = e->ir;
    const json_t *mt = json_object_get(ir, "max_tokens");
    if (json_is_integer(mt)) {
        json_int_t n = json_integer_value(mt);
        tr_emit_set(e, body, "max_output_tokens",
                    json_integer(n < TR_R_MIN_OUTPUT ? TR_R_MIN_OUTPUT : n));
    }
    if (json_is_number(json_object_get(ir, "temperature")))
        tr_emit_copy(e, body, ir, "temperature");
    if (json_is_number(json_object_get(ir, "top_p")))
        tr_emit_copy(e, body, ir, "top_p");
    if (tr_ir_true(ir, "stream"))
        tr_emit_set(e, body, "stream", json_true());
    const char *user = tr_ir_str(ir, "user");
    if (user && strlen(user) <= TR_USER_MAX)
        tr_emit_set(e, body, "user", json_string(user));
    const char *effort = tr_emit_oa_effort(ir);
    if (effort)
        tr_emit_set(e, body, "reasoning", json_pack("{s:s}", "effort", effort));

    const json_t *rf = json_object_get(ir, "response_format");
    const char *type = tr_ir_str(rf, "type");
    if (type) {
        /* C's json_schema{name,schema,strict} is flat in R's text.format */
        json_t *fmt = json_pack("{s:s}", "type", type);
        if (strcmp(type, "json_schema") == 0) {
            tr_emit_copy(e, fmt, rf, "name");
            tr_emit_copy(e, fmt, rf, "schema");
            tr_emit_copy(e, fmt, rf, "strict");
        }
        tr_emit_set(e, body, "text", json_pack("{s:o}", "format", fmt));
    }
    tr_emit_set(e, body, "store", json_false());   /* zend keeps no server state */
}

json_t *tr_emit_r(struct tr_emit *e)
{
    json_t *body = json_object();
    tr_emit_copy(e, body, e->ir, "model");
    char *instr = tr_join_text(json_object_get(e->ir, "system"), "\n\n");
    if (!instr)
        e->oom = 1;
    else if (*instr)
        tr_emit_set(e, body, "instructions", json_string(instr));
    free(instr);
    json_t *input = json_array();
    tr_emit_messages(e, input, r_user, r_assistant);
    tr_emit_set(e, body, "input", input);
    r_tools(e, body);
    r_params(e, body);
    return body;
}
