/* tr_emit_a.c -- IR -> Anthropic Messages request body (docs/translate.md,
 * requests): system, messages in A's structure (tool_result first in a user
 * turn; thinking, text, tool_use in an assistant turn; no empty text),
 * sanitised tool ids, tools and tool_choice, thinking, and the sampling
 * rules. An allow-list: only what is written here reaches the wire. */
#include "tr_emit_int.h"
#include "zjson.h"

#include <stdlib.h>
#include <string.h>

static int starts(const char *s, const char *prefix)
{
    return s && strncmp(s, prefix, strlen(prefix)) == 0;
}

/* tool_call args (a JSON text) as A's input object: "" and anything that is
 * not an object become {}; a JSON string holding an object is unwrapped
 * (double encoding by some clients). */
static json_t *a_input(const char *args)
{
    if (!args || !*args)
        return json_object();
    json_t *v = zjson_load(args, strlen(args), ZJSON_DECODE_ANY);
    if (json_is_string(v)) {
        json_t *inner = zjson_load(json_string_value(v), json_string_length(v), 0);
        json_decref(v);
        v = inner;
    }
    if (!json_is_object(v)) {
        json_decref(v);
        return json_object();
    }
    return v;
}

static void a_cache(struct tr_emit *e, json_t *block, const json_t *part)
{
    const json_t *cc = tr_emit_cache(e, part);
    if (cc)
        tr_emit_set(e, block, "cache_control", json_incref((json_t *)cc));
}

static json_t *a_text(struct tr_emit *e, const json_t *part)
{
    const char *text = tr_ir_str(part, "text");
    if (!text || !*text)
        return NULL;   /* A: "text content blocks must be non-empty" */
    json_t *b = json_pack("{s:s, s:s}", "type", "text", "text", text);
    a_cache(e, b, part);
    return b;
}

static json_t *a_image(struct tr_emit *e, const json_t *p)
{
    const char *src = tr_ir_str(p, "source");
    json_t *source = NULL;
    if (!src)
        return NULL;
    if (strcmp(src, "base64") == 0) {
        source = json_pack("{s:s, s:s*, s:s*}", "type", "base64", "media_type",
                           tr_ir_str(p, "media_type"), "data", tr_ir_str(p, "data"));
    } else if (strcmp(src, "url") == 0) {
        source = json_pack("{s:s, s:s*}", "type", "url", "url", tr_ir_str(p, "url"));
    } else if (strcmp(src, "file") == 0) {
        const char *family = tr_ir_str(p, "family");
        if (!family || strcmp(family, "A") != 0)   /* an OpenAI file id means nothing to A */
            return json_pack("{s:s, s:o}", "type", "text", "text",
                             tr_omitted("file", tr_ir_str(p, "file_id")));
        source = json_pack("{s:s, s:s*}", "type", "file", "file_id", tr_ir_str(p, "file_id"));
    } else {
        return NULL;
    }
    json_t *b = json_pack("{s:s, s:o}", "type", "image", "source", source);
    a_cache(e, b, p);
    return b;
}

static json_t *a_document(struct tr_emit *e, const json_t *p)
{
    const char *src = tr_ir_str(p, "source");
    json_t *source = NULL;
    if (!src)
        return NULL;
    if (strcmp(src, "pdf") == 0)
        source = json_pack("{s:s, s:s, s:s*}", "type", "base64", "media_type", "application/pdf",
                           "data", tr_ir_str(p, "data"));
    else if (strcmp(src, "text") == 0)
        source = json_pack("{s:s, s:s, s:s*}", "type", "text", "media_type", "text/plain",
                           "data", tr_ir_str(p, "data"));
    else if (strcmp(src, "url") == 0)
        source = json_pack("{s:s, s:s*}", "type", "url", "url", tr_ir_str(p, "url"));
    else
        return NULL;
    json_t *b = json_pack("{s:s, s:o}", "type", "document", "source", source);
    tr_emit_copy(e, b, p, "title");
    return b;
}

/* The carrier rules: zend's own tags become A blocks again or are dropped;
 * a real A signature is kept. */
static json_t *a_thinking(const json_t *p)
{
    const char *sig = tr_ir_str(p, "signature"), *origin = tr_ir_str(p, "origin");
    const char *text = tr_ir_str(p, "text");
    if (!sig)
        sig = "";
    if (!text)
        text = "";
    if (origin && strcmp(origin, "R") == 0) {
        if (starts(sig, "zend1.a."))
            return json_pack("{s:s, s:s, s:s}", "type", "thinking", "thinking", text,
                             "signature", sig + strlen("zend1.a."));
        if (starts(sig, "zend1.ar."))
            return json_pack("{s:s, s:s}", "type", "redacted_thinking", "data",
                             sig + strlen("zend1.ar."));
        return NULL;   /* OpenAI's own encrypted reasoning */
    }
    /* zend's fabricated tags, and unsigned thinking, which A rejects */
    if (starts(sig, "zend1.") || !*sig)
        return NULL;
    return json_pack("{s:s, s:s, s:s}", "type", "thinking", "thinking", text, "signature", sig);
}

static json_t *a_tool_use(struct tr_emit *e, const json_t *p)
{
    char *id = tr_sanitize_id(e, tr_ir_str(p, "id"));
    const char *name = tr_ir_str(p, "name");
    json_t *b = id ? json_pack("{s:s, s:s, s:s, s:o}", "type", "tool_use", "id", id, "name",
                               name ? name : "", "input", a_input(tr_ir_str(p, "args")))
                   : NULL;
    free(id);
    return b;
}

static json_t *a_tool_result(struct tr_emit *e, const json_t *p)
{
    char *id = tr_sanitize_id(e, tr_ir_str(p, "call_id"));
    json_t *b = id ? json_pack("{s:s, s:s}", "type", "tool_result", "tool_use_id", id) : NULL;
    free(id);
    if (!b)
        return NULL;
    json_t *content = json_array();
    const json_t *c;
    size_t i;
    json_array_foreach(json_object_get(p, "content"), i, c) {
        json_t *x = tr_ir_is(c, "text") ? a_text(e, c) : tr_ir_is(c, "image") ? a_image(e, c)
                                                                             : NULL;
        if (x)
            tr_emit_push(e, content, x);
    }
    if (json_array_size(content) > 0)
        tr_emit_set(e, b, "content", tr_lone_text(content));
    else
        json_decref(content);   /* A takes a tool_result without content */
    if (tr_ir_true(p, "is_error"))
        tr_emit_set(e, b, "is_error", json_true());
    return b;
}

/* The rank of a part in its message: A wants tool_result first in a user
 * turn, and thinking, text, tool_use in that order in an assistant turn.
 * -1: the part has no place in this role. */
static int a_rank(const json_t *p, int assistant)
{
    const char *t = tr_ir_str(p, "type");
    if (!t)
        return -1;
    if (assistant) {
        if (strcmp(t, "thinking") == 0 || strcmp(t, "redacted") == 0)
            return 0;
        if (strcmp(t, "text") == 0)
            return 1;
        return strcmp(t, "tool_call") == 0 ? 2 : -1;
    }
    if (strcmp(t, "tool_result") == 0)
        return 0;
    if (strcmp(t, "text") == 0 || strcmp(t, "image") == 0 || strcmp(t, "document") == 0)
        return 1;
    return -1;
}

static json_t *a_block(struct tr_emit *e, const json_t *p)
{
    const char *t = tr_ir_str(p, "type");
    if (strcmp(t, "text") == 0)
        return a_text(e, p);
    if (strcmp(t, "image") == 0)
        return a_image(e, p);
    if (strcmp(t, "document") == 0)
        return a_document(e, p);
    if (strcmp(t, "thinking") == 0)
        return a_thinking(p);
    if (strcmp(t, "redacted") == 0)
        return json_pack("{s:s, s:s*}", "type", "redacted_thinking", "data",
                         tr_ir_str(p, "data"));
    if (strcmp(t, "tool_call") == 0)
        return a_tool_use(e, p);
    return a_tool_result(e, p);
}

/* One IR message as an A message, or NULL when nothing of it is left. */
static json_t *a_message(struct tr_emit *e, const json_t *m)
{
    const char *role = tr_ir_str(m, "role");
    int assistant = role && strcmp(role, "assistant") == 0;
    const json_t *parts = json_object_get(m, "parts"), *p;
    json_t *content = json_array();
    size_t i;
    for (int rank = 0; rank <= 2; rank++)
        json_array_foreach(parts, i, p) {
            if (a_rank(p, assistant) != rank)
                continue;
            json_t *b = a_block(e, p);
            if (b)
                tr_emit_push(e, content, b);
        }
    if (json_array_size(content) == 0) {
        json_decref(content);
        return NULL;
    }
    return json_pack("{s:s, s:o}", "role", assistant ? "assistant" : "user", "content",
                     tr_lone_text(content));
}

static void a_system(struct tr_emit *e, json_t *body)
{
    const json_t *sys = json_object_get(e->ir, "system"), *p;
    size_t i;
    int any_cache = 0;
    json_array_foreach(sys, i, p)
        any_cache |= json_is_object(json_object_get(p, "cache_control"));
    if (!any_cache) {
        char *s = tr_join_text(sys, "\n\n");
        if (!s)
            e->oom = 1;
        else if (*s)
            tr_emit_set(e, body, "system", json_string(s));
        free(s);
        return;
    }
    json_t *arr = json_array();
    json_array_foreach(sys, i, p) {
        json_t *b = a_text(e, p);
        if (b)
            tr_emit_push(e, arr, b);
    }
    tr_emit_set(e, body, "system", arr);
}

static void a_tools(struct tr_emit *e, json_t *body)
{
    const json_t *tools = tr_ir_tools(e->ir), *t;
    size_t i;
    if (!tools)
        return;   /* and no tool_choice: A rejects it without tools */
    json_t *arr = json_array();
    json_array_foreach(tools, i, t) {
        const char *kind = tr_ir_str(t, "kind");
        int custom = kind && strcmp(kind, "custom") == 0;
        json_t *x = json_pack("{s:s*}", "name", tr_ir_str(t, "name"));
        tr_emit_copy(e, x, t, "description");
        tr_emit_set(e, x, "input_schema", custom ? tr_custom_schema() : tr_tool_schema(t));
        a_cache(e, x, t);
        tr_emit_push(e, arr, x);
    }
    tr_emit_set(e, body, "tools", arr);

    const json_t *tc = json_object_get(e->ir, "tool_choice");
    const char *mode = tr_ir_str(tc, "mode");
    json_t *choice = NULL;
    if (mode && (strcmp(mode, "auto") == 0 || strcmp(mode, "any") == 0 ||
                 strcmp(mode, "none") == 0))
        choice = json_pack("{s:s}", "type", mode);
    else if (mode && strcmp(mode, "tool") == 0)
        choice = json_pack("{s:s, s:s*}", "type", "tool", "name", tr_ir_str(tc, "name"));
    if (json_is_false(json_object_get(e->ir, "parallel"))) {
        if (!choice)
            choice = json_pack("{s:s}", "type", "auto");
        if (!tr_ir_is(choice, "none"))
            tr_emit_set(e, choice, "disable_parallel_tool_use", json_true());
    }
    if (choice)
        tr_emit_set(e, body, "tool_choice", choice);
}

int tr_a_thinking_allowed(const json_t *messages)
{
    const json_t *last = NULL, *m;
    size_t i;
    json_array_foreach(messages, i, m) {
        const char *role = tr_ir_str(m, "role");
        if (role && strcmp(role, "assistant") == 0)
            last = m;
    }
    const json_t *content = json_object_get(last, "content"), *b;
    if (!json_is_array(content))
        return 1;
    int has_tool = 0;
    json_array_foreach(content, i, b)
        has_tool |= tr_ir_is(b, "tool_use");
    if (!has_tool)
        return 1;
    const json_t *first = json_array_get(content, 0);
    return tr_ir_is(first, "thinking") || tr_ir_is(first, "redacted_thinking");
}

/* Does the IR force a tool (tool_choice any or tool, with tools to force)?
 * A rejects forced tool use with thinking. */
static int forced_tool(const json_t *ir)
{
    const char *mode = tr_ir_str(json_object_get(ir, "tool_choice"), "mode");
    return tr_ir_tools(ir) && mode && (strcmp(mode, "any") == 0 || strcmp(mode, "tool") == 0);
}

/* The effort to send in adaptive mode, NULL for none; *off set when the
 * request's reasoning means no thinking. */
static const char *a_adaptive_effort(const json_t *r, int *off)
{
    const char *mode = tr_ir_str(r, "mode"), *effort = tr_ir_str(r, "effort");
    if (strcmp(mode, "budget") == 0) {
        json_t *b = json_object_get(r, "budget");
        if (!json_is_integer(b) || json_integer_value(b) < TR_MIN_BUDGET)
            *off = 1;
        return json_is_integer(b) ? tr_budget_to_effort(json_integer_value(b)) : NULL;
    }
    if (effort && tr_effort_to_budget(effort) == 0)
        *off = 1;   /* none, minimal, or an effort A has no level for */
    else if (!effort && strcmp(mode, "effort") == 0)
        *off = 1;
    return effort;
}

/* The thinking budget of the IR before clamping (0: off). */
static int64_t a_budget(const json_t *r)
{
    const char *mode = tr_ir_str(r, "mode"), *effort = tr_ir_str(r, "effort");
    if (strcmp(mode, "budget") == 0) {
        json_t *b = json_object_get(r, "budget");
        return json_is_integer(b) ? json_integer_value(b) : 0;
    }
    if (strcmp(mode, "adaptive") == 0 && !effort)
        return tr_effort_to_budget("high");   /* adaptive's own default level */
    return tr_effort_to_budget(effort);
}

/* Emits thinking (and output_config) when reasoning stays on; returns 1 if so. */
static int a_reasoning(struct tr_emit *e, json_t *body, const json_t *messages,
                       int64_t max_tokens)
{
    const json_t *r = json_object_get(e->ir, "reasoning");
    const char *mode = tr_ir_str(r, "mode");
    if (!mode || !(strcmp(mode, "budget") == 0 || strcmp(mode, "effort") == 0 ||
                   strcmp(mode, "adaptive") == 0) || forced_tool(e->ir))
        return 0;
    if (!tr_a_thinking_allowed(messages))
        return 0;   /* else A: "Expected thinking ... but found tool_use" */
    if (e->o->thinking_adaptive) {
        int off = 0;
        const char *effort = a_adaptive_effort(r, &off);
        if (off)
            return 0;   /* adaptive providers get no thinking key at all */
        tr_emit_set(e, body, "thinking", json_pack("{s:s}", "type", "adaptive"));
        if (effort)
            tr_emit_set(e, body, "output_config", json_pack("{s:s}", "effort", effort));
        return 1;
    }
    int64_t budget = a_budget(r);
    if (budget > max_tokens - 1)
        budget = max_tokens - 1;   /* A: budget_tokens < max_tokens */
    if (budget < TR_MIN_BUDGET)
        return 0;
    tr_emit_set(e, body, "thinking",
                json_pack("{s:s, s:I}", "type", "enabled", "budget_tokens", (json_int_t)budget));
    return 1;
}

static void a_params(struct tr_emit *e, json_t *body, int thinking)
{
    const json_t *ir = e->ir;
    if (!thinking && !e->o->drop_sampling) {
        const json_t *temp = json_object_get(ir, "temperature");
        if (json_is_number(temp)) {
            double t = json_number_value(temp);
            tr_emit_set(e, body, "temperature", json_real(t > 1.0 ? 1.0 : t));
        } else if (json_is_number(json_object_get(ir, "top_p"))) {
            /* only without temperature: newer models reject both */
            tr_emit_copy(e, body, ir, "top_p");
        }
        if (json_is_integer(json_object_get(ir, "top_k")))
            tr_emit_copy(e, body, ir, "top_k");
    }
    const json_t *stop = json_object_get(ir, "stop");
    if (json_is_array(stop) && json_array_size(stop) > 0)
        tr_emit_set(e, body, "stop_sequences", json_incref((json_t *)stop));
    if (tr_ir_true(ir, "stream"))
        tr_emit_set(e, body, "stream", json_true());
    const char *user = tr_ir_str(ir, "user");
    if (user)
        tr_emit_set(e, body, "metadata", json_pack("{s:s}", "user_id", user));
}

json_t *tr_emit_a(struct tr_emit *e)
{
    const json_t *ir = e->ir, *m;
    json_t *body = json_object();
    size_t i;
    tr_emit_copy(e, body, ir, "model");
    a_system(e, body);

    json_t *messages = json_array();
    json_array_foreach(json_object_get(ir, "messages"), i, m) {
        json_t *x = a_message(e, m);
        if (x)
            tr_emit_push(e, messages, x);
    }
    tr_emit_set(e, body, "messages", messages);

    const json_t *mt = json_object_get(ir, "max_tokens");
    int64_t max_tokens = json_is_integer(mt)             ? json_integer_value(mt)
                         : e->o->default_max_tokens > 0 ? e->o->default_max_tokens
                                                         : TR_DEFAULT_MAX_TOKENS;
    tr_emit_set(e, body, "max_tokens", json_integer(max_tokens));
    a_tools(e, body);
    int thinking = a_reasoning(e, body, messages, max_tokens);
    a_params(e, body, thinking);
    return body;
}
