/* tr_parse_c.c -- an OpenAI Chat Completions request body into the IR
 * (docs/translate.md, requests). */
#include <string.h>

#include "tr_parse_int.h"

json_t *tr_parse_c(struct trp *b, const json_t *body);

/* A content part of a user, assistant or tool message; unknown types
 * (input_audio ...) give NULL and are dropped. */
static json_t *c_part(const json_t *p)
{
    const char *t = trp_str(p, "type");
    if (!t)
        return NULL;
    if (!strcmp(t, "text"))
        return trp_text(trp_str(p, "text"), trp_obj(p, "cache_control"));
    if (!strcmp(t, "refusal"))
        return trp_text(trp_str(p, "refusal"), NULL);
    if (!strcmp(t, "image_url")) {
        const json_t *iu = json_object_get(p, "image_url");
        const char *url = json_is_string(iu) ? json_string_value(iu) : trp_str(iu, "url");
        return trp_image_url(url, trp_obj(p, "cache_control"));
    }
    if (!strcmp(t, "file")) {
        const json_t *f = trp_obj(p, "file");
        json_t *doc = trp_pdf_data_url(trp_str(f, "file_data"), trp_str(f, "filename"));
        return doc ? doc : trp_file_omitted(trp_str(f, "file_id"));
    }
    return NULL;
}

static json_t *c_content(const json_t *content)
{
    return trp_content(content, c_part);
}

/* A tool message's content as a tool_result holds it: text and images
 * only (a file part there has no place in any wire's tool output). */
static json_t *c_tool_content(const json_t *content)
{
    json_t *parts = c_content(content);
    for (size_t i = json_array_size(parts); i-- > 0;) {
        const json_t *p = json_array_get(parts, i);
        if (!trp_type_is(p, "text") && !trp_type_is(p, "image"))
            json_array_remove(parts, i);
    }
    return parts;
}

static void c_tool_calls(json_t *parts, const json_t *calls)
{
    size_t i;
    const json_t *tc;
    json_array_foreach(calls, i, tc) {
        const char *id = trp_str(tc, "id");
        const json_t *custom = trp_obj(tc, "custom");
        if (trp_type_is(tc, "custom") && custom) {
            trp_add(parts, trp_custom_call(id, trp_str(custom, "name"),
                                           json_object_get(custom, "input")));
            continue;
        }
        const json_t *fn = trp_obj(tc, "function");
        /* arguments stay as sent: the emitters repair "" and bad JSON. */
        trp_add(parts, trp_tool_call(id, trp_str(fn, "name"), trp_str(fn, "arguments"), 0));
    }
}

static json_t *c_assistant(const json_t *m)
{
    json_t *parts = json_array();
    /* DeepSeek-style reasoning_content (or OpenRouter's `reasoning`) on a
     * history turn is zend's own carrier shape: tagged "zend1.c" so an
     * Anthropic client can hand it back (docs/translate.md, carriers). */
    const char *rc = trp_str(m, "reasoning_content");
    if (!rc)
        rc = trp_str(m, "reasoning");
    if (rc && *rc)
        trp_add(parts, trp_thinking(rc, "zend1.c", "C"));
    json_t *content = c_content(json_object_get(m, "content"));
    json_array_extend(parts, content);
    json_decref(content);
    trp_add(parts, trp_text(trp_str(m, "refusal"), NULL));
    c_tool_calls(parts, trp_arr(m, "tool_calls"));
    return parts;
}

static void c_messages(struct trp *b, const json_t *msgs)
{
    static const char *const text_types[] = {"text", NULL};
    size_t i;
    const json_t *m;
    json_array_foreach(msgs, i, m) {
        const char *role = trp_str(m, "role");
        const json_t *content = json_object_get(m, "content");
        if (!role)
            continue;
        if (!strcmp(role, "system") || !strcmp(role, "developer")) {
            trp_system_content(b, content, text_types);
        } else if (!strcmp(role, "user")) {
            trp_push(b, TRP_USER, 0, c_content(content));
        } else if (!strcmp(role, "assistant")) {
            trp_push(b, TRP_ASSISTANT, 0, c_assistant(m));
        } else if (!strcmp(role, "tool")) {
            /* Consecutive tool messages answer one assistant turn: one
             * user message of tool results, in order. */
            json_t *res = json_array();
            trp_add(res, trp_tool_result(trp_str(m, "tool_call_id"), c_tool_content(content),
                                         0, 0));
            trp_push(b, TRP_TOOLS, 1, res);
        }
    }
}

static void c_tools(struct trp *b, const json_t *tools)
{
    size_t i;
    const json_t *t;
    json_array_foreach(tools, i, t) {
        if (trp_type_is(t, "function")) {
            const json_t *fn = trp_obj(t, "function");
            trp_tool(b, trp_str(fn, "name"), trp_str(fn, "description"),
                     json_object_get(fn, "parameters"), json_object_get(fn, "strict"),
                     "function", NULL, trp_obj(t, "cache_control"));
        } else if (trp_type_is(t, "custom")) {
            const json_t *c = trp_obj(t, "custom");
            json_t *schema = trp_custom_schema();
            trp_tool(b, trp_str(c, "name"), trp_str(c, "description"), schema, NULL, "custom",
                     trp_obj(c, "format"), NULL);
            json_decref(schema);
        }
    }
}

static void c_tool_choice(struct trp *b, const json_t *tc)
{
    if (json_is_string(tc)) {
        trp_tool_choice_word(b, json_string_value(tc));
        return;
    }
    const char *t = trp_str(tc, "type");
    if (!t)
        return;
    if (!strcmp(t, "function") || !strcmp(t, "custom")) {
        const char *name = trp_str(trp_obj(tc, t), "name");
        if (name)
            trp_tool_choice(b, "tool", name);
    } else if (!strcmp(t, "allowed_tools")) {
        trp_tool_choice(b, "auto", NULL);
    }
}

json_t *tr_parse_c(struct trp *b, const json_t *body)
{
    const json_t *msgs = json_object_get(body, "messages");
    if (!json_is_array(msgs))
        return trp_fail(b, "`messages` is %s: it must be an array of messages",
                        msgs ? "not an array" : "missing");

    c_messages(b, msgs);
    c_tools(b, trp_arr(body, "tools"));
    c_tool_choice(b, json_object_get(body, "tool_choice"));
    trp_copy_bool(b, body, "parallel_tool_calls", "parallel");

    const json_t *mct = json_object_get(body, "max_completion_tokens");
    trp_copy_int(b, body, json_is_integer(mct) ? "max_completion_tokens" : "max_tokens",
                 "max_tokens");
    trp_copy_real(b, body, "temperature", "temperature");
    trp_copy_real(b, body, "top_p", "top_p");
    trp_copy_int(b, body, "top_k", "top_k");
    trp_stop(b, json_object_get(body, "stop"));
    trp_copy_bool(b, trp_obj(body, "stream_options"), "include_usage", "include_usage");
    trp_copy_str(b, body, "user", "user");
    trp_copy_int(b, body, "n", "n");
    trp_effort(b, json_object_get(body, "reasoning_effort"));
    const json_t *rf = trp_obj(body, "response_format");
    trp_response_format(b, trp_str(rf, "type"), trp_obj(rf, "json_schema"));
    return trp_finish(b);
}
