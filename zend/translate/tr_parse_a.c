/* tr_parse_a.c -- an Anthropic Messages request body into the IR
 * (docs/translate.md, requests). */
#include <stdlib.h>
#include <string.h>

#include "tr_parse_int.h"

json_t *tr_parse_a(struct trp *b, const json_t *body);

/* An image or document `source` object. */
static json_t *a_image(const json_t *blk)
{
    const json_t *src = trp_obj(blk, "source");
    const json_t *cc = trp_obj(blk, "cache_control");
    if (trp_type_is(src, "base64"))
        return trp_image_b64(trp_str(src, "media_type"), trp_str(src, "data"), cc);
    if (trp_type_is(src, "url"))
        return trp_image_url(trp_str(src, "url"), NULL);
    if (trp_type_is(src, "file"))
        return trp_image_file(trp_str(src, "file_id"), "A");
    return NULL;
}

static json_t *a_document(const json_t *blk)
{
    const json_t *src = trp_obj(blk, "source");
    const char *title = trp_str(blk, "title");
    if (trp_type_is(src, "base64")) {
        const char *mt = trp_str(src, "media_type");
        if (mt && strcmp(mt, "application/pdf") != 0)
            return NULL;
        return trp_document("pdf", "data", trp_str(src, "data"), title);
    }
    if (trp_type_is(src, "text"))
        return trp_document("text", "data", trp_str(src, "data"), title);
    if (trp_type_is(src, "url"))
        return trp_document("url", "url", trp_str(src, "url"), title);
    if (trp_type_is(src, "file"))
        return trp_file_omitted(trp_str(src, "file_id"));
    return NULL;
}

/* tool_result content: a string, or text and image blocks. */
static json_t *a_result_content(const json_t *content)
{
    json_t *out = json_array();
    if (json_is_string(content)) {
        trp_add(out, trp_text(json_string_value(content), NULL));
        return out;
    }
    size_t i;
    const json_t *blk;
    json_array_foreach(content, i, blk) {
        if (trp_type_is(blk, "text"))
            trp_add(out, trp_text(trp_str(blk, "text"), trp_obj(blk, "cache_control")));
        else if (trp_type_is(blk, "image"))
            trp_add(out, a_image(blk));
    }
    return out;
}

static json_t *a_tool_use(const json_t *blk)
{
    const json_t *input = json_object_get(blk, "input");
    char *args = input ? json_dumps(input, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    json_t *p = trp_tool_call(trp_str(blk, "id"), trp_str(blk, "name"), args, 0);
    free(args);
    return p;
}

/* One content block; unknown types (server_tool_use, web_search_tool_result,
 * search_result, container_upload ...) give NULL and are dropped. */
static json_t *a_part(const json_t *blk)
{
    const char *t = trp_str(blk, "type");
    if (!t)
        return NULL;
    if (!strcmp(t, "text"))
        return trp_text(trp_str(blk, "text"), trp_obj(blk, "cache_control"));
    if (!strcmp(t, "image"))
        return a_image(blk);
    if (!strcmp(t, "document"))
        return a_document(blk);
    if (!strcmp(t, "thinking"))
        return trp_thinking(trp_str(blk, "thinking"), trp_str(blk, "signature"), "A");
    if (!strcmp(t, "redacted_thinking"))
        return trp_redacted(trp_str(blk, "data"));
    if (!strcmp(t, "tool_use"))
        return a_tool_use(blk);
    if (!strcmp(t, "tool_result"))
        return trp_tool_result(trp_str(blk, "tool_use_id"),
                               a_result_content(json_object_get(blk, "content")),
                               json_is_true(json_object_get(blk, "is_error")), 0);
    return NULL;
}

/* Claude Code (2.1.3xx) also sends role "system" entries inside `messages`
 * (its environment: working directory, platform, deferred tools). The IR has
 * no such role: they are hoisted into the system prompt in order, as Chat's
 * system/developer messages are, rather than lost. */
static void a_messages(struct trp *b, const json_t *msgs)
{
    static const char *const text_types[] = {"text", NULL};
    size_t i;
    const json_t *m;
    json_array_foreach(msgs, i, m) {
        const char *role = trp_str(m, "role");
        if (role && !strcmp(role, "system")) {
            trp_system_content(b, json_object_get(m, "content"), text_types);
            continue;
        }
        if (!role || (strcmp(role, "user") && strcmp(role, "assistant")))
            continue;
        trp_push(b, strcmp(role, "user") ? TRP_ASSISTANT : TRP_USER, 0,
                 trp_content(json_object_get(m, "content"), a_part));
    }
}

/* Client tools have no type (or "custom"); typed ones (web_search_*,
 * bash_*, text_editor_*, computer_* ...) are server tools, dropped. */
static void a_tools(struct trp *b, const json_t *tools)
{
    size_t i;
    const json_t *t;
    json_array_foreach(tools, i, t) {
        const char *type = trp_str(t, "type");
        if (type && strcmp(type, "custom"))
            continue;
        trp_tool(b, trp_str(t, "name"), trp_str(t, "description"),
                 json_object_get(t, "input_schema"), json_object_get(t, "strict"), "function",
                 NULL, trp_obj(t, "cache_control"));
    }
}

static void a_tool_choice(struct trp *b, const json_t *tc)
{
    const char *t = trp_str(tc, "type");
    if (!t)
        return;
    if (!strcmp(t, "auto") || !strcmp(t, "any") || !strcmp(t, "none"))
        trp_tool_choice(b, t, NULL);
    else if (!strcmp(t, "tool") && trp_str(tc, "name"))
        trp_tool_choice(b, "tool", trp_str(tc, "name"));
    const json_t *dp = json_object_get(tc, "disable_parallel_tool_use");
    if (json_is_boolean(dp))
        json_object_set_new(b->ir, "parallel", json_boolean(!json_is_true(dp)));
}

static void a_thinking(struct trp *b, const json_t *body)
{
    const json_t *th = trp_obj(body, "thinking");
    const json_t *budget = json_object_get(th, "budget_tokens");
    if (trp_type_is(th, "enabled") && json_is_integer(budget)) {
        json_object_set_new(b->ir, "reasoning",
                            json_pack("{s:s, s:I}", "mode", "budget", "budget",
                                      (json_int_t)json_integer_value(budget)));
    } else if (trp_type_is(th, "adaptive")) {
        json_t *r = json_pack("{s:s}", "mode", "adaptive");
        const char *effort = trp_str(trp_obj(body, "output_config"), "effort");
        if (r && effort)
            json_object_set_new(r, "effort", json_string(effort));
        json_object_set_new(b->ir, "reasoning", r);
    }
}

json_t *tr_parse_a(struct trp *b, const json_t *body)
{
    const json_t *msgs = json_object_get(body, "messages");
    if (!json_is_array(msgs))
        return trp_fail(b, "`messages` is %s: it must be an array of messages",
                        msgs ? "not an array" : "missing");

    static const char *const text_types[] = {"text", NULL};
    trp_system_content(b, json_object_get(body, "system"), text_types);
    a_messages(b, msgs);
    a_tools(b, trp_arr(body, "tools"));
    a_tool_choice(b, trp_obj(body, "tool_choice"));
    a_thinking(b, body);

    trp_copy_int(b, body, "max_tokens", "max_tokens");
    trp_copy_real(b, body, "temperature", "temperature");
    trp_copy_real(b, body, "top_p", "top_p");
    trp_copy_int(b, body, "top_k", "top_k");
    trp_copy_str(b, trp_obj(body, "metadata"), "user_id", "user");
    trp_stop(b, trp_arr(body, "stop_sequences"));
    return trp_finish(b);
}
