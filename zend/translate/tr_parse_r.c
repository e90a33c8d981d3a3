/* tr_parse_r.c -- an OpenAI Responses request body into the IR
 * (docs/translate.md, requests). `input` is a string or a list of items;
 * consecutive reasoning / assistant message / function_call /
 * custom_tool_call items form one assistant message here, so every emitter
 * gets the grouping for free. */
#include <stdlib.h>
#include <string.h>

#include "tr_parse_int.h"

json_t *tr_parse_r(struct trp *b, const json_t *body);

/* a + sep + c, malloc'd (NULL out of memory). */
static char *concat(const char *a, const char *sep, const char *c)
{
    size_t la = strlen(a), ls = strlen(sep), lc = strlen(c);
    char *s = malloc(la + ls + lc + 1);
    if (!s)
        return NULL;
    memcpy(s, a, la);
    memcpy(s + la, sep, ls);
    memcpy(s + la + ls, c, lc + 1);
    return s;
}

/* Appends text to the last part of arr when that is a text part that may
 * still grow (*run), else as a new text part. */
static void add_joined(json_t *arr, const char *text, const char *sep, int *run)
{
    if (!text || !*text)
        return;
    json_t *last = json_array_get(arr, json_array_size(arr) - 1);
    if (*run && last) {
        char *s = concat(json_string_value(json_object_get(last, "text")), sep, text);
        if (s)
            json_object_set_new(last, "text", json_string(s));
        free(s);
        return;
    }
    trp_add(arr, trp_text(text, NULL));
    *run = 1;
}

static json_t *r_image(const json_t *p)
{
    const json_t *iu = json_object_get(p, "image_url");
    const char *url = json_is_string(iu) ? json_string_value(iu) : trp_str(iu, "url");
    if (url)
        return trp_image_url(url, NULL);
    return trp_image_file(trp_str(p, "file_id"), "R");
}

/* A content part of a message item; unknown types are dropped. */
static json_t *r_part(const json_t *p)
{
    const char *t = trp_str(p, "type");
    if (!t)
        return NULL;
    if (!strcmp(t, "input_text") || !strcmp(t, "output_text") || !strcmp(t, "text"))
        return trp_text(trp_str(p, "text"), NULL);
    if (!strcmp(t, "refusal"))
        return trp_text(trp_str(p, "refusal"), NULL);
    if (!strcmp(t, "input_image"))
        return r_image(p);
    if (!strcmp(t, "input_file")) {
        const char *title = trp_str(p, "filename");
        json_t *doc = trp_pdf_data_url(trp_str(p, "file_data"), title);
        if (!doc)
            doc = trp_document("url", "url", trp_str(p, "file_url"), title);
        return doc ? doc : trp_file_omitted(trp_str(p, "file_id"));
    }
    return NULL;
}

static json_t *r_content(const json_t *content)
{
    return trp_content(content, r_part);
}

/* function_call_output.output: a string, or input_text / input_image parts
 * whose consecutive texts join with "\n". */
static json_t *r_output(const json_t *output)
{
    json_t *parts = json_array();
    int run = 0;
    if (json_is_string(output))
        trp_add(parts, trp_text(json_string_value(output), NULL));
    size_t i;
    const json_t *p;
    json_array_foreach(output, i, p) {
        if (trp_type_is(p, "input_text") || trp_type_is(p, "output_text")) {
            add_joined(parts, trp_str(p, "text"), "\n", &run);
        } else if (trp_type_is(p, "input_image")) {
            json_t *img = r_image(p);
            if (img) {
                json_array_append_new(parts, img);
                run = 0;
            }
        }
    }
    return parts;
}

/* A reasoning item: its summary texts joined "\n\n"; the signature is its
 * encrypted_content ("" if none), which the A emitter reads back. */
static json_t *r_reasoning(const json_t *item)
{
    json_t *texts = json_array();
    int run = 0;
    size_t i;
    const json_t *s;
    json_array_foreach(trp_arr(item, "summary"), i, s) {
        if (trp_type_is(s, "summary_text"))
            add_joined(texts, trp_str(s, "text"), "\n\n", &run);
    }
    const char *text = trp_str(json_array_get(texts, 0), "text");
    json_t *p = trp_thinking(text, trp_str(item, "encrypted_content"), "R");
    json_decref(texts);
    return p;
}

static void push_one(struct trp *b, enum trp_kind kind, json_t *part)
{
    json_t *parts = json_array();
    trp_add(parts, part);
    trp_push(b, kind, 1, parts);
}

/* One input item. Returns -1 (err set) for an item zend cannot serve. */
static int r_item(struct trp *b, const json_t *item)
{
    static const char *const sys_types[] = {"input_text", "text", NULL};
    const char *t = trp_str(item, "type");
    const char *role = trp_str(item, "role");
    if (!t && role)
        t = "message";
    if (!t)
        return 0;
    if (!strcmp(t, "message") && role) {
        const json_t *content = json_object_get(item, "content");
        if (!strcmp(role, "system") || !strcmp(role, "developer"))
            trp_system_content(b, content, sys_types);
        else if (!strcmp(role, "user"))
            trp_push(b, TRP_USER, 0, r_content(content));
        else if (!strcmp(role, "assistant"))
            trp_push(b, TRP_ASSISTANT, 1, r_content(content));
    } else if (!strcmp(t, "reasoning")) {
        push_one(b, TRP_ASSISTANT, r_reasoning(item));
    } else if (!strcmp(t, "function_call")) {
        push_one(b, TRP_ASSISTANT, trp_tool_call(trp_str(item, "call_id"), trp_str(item, "name"),
                                                 trp_str(item, "arguments"), 0));
    } else if (!strcmp(t, "custom_tool_call")) {
        push_one(b, TRP_ASSISTANT, trp_custom_call(trp_str(item, "call_id"),
                                                   trp_str(item, "name"),
                                                   json_object_get(item, "input")));
    } else if (!strcmp(t, "function_call_output") || !strcmp(t, "custom_tool_call_output")) {
        push_one(b, TRP_TOOLS,
                 trp_tool_result(trp_str(item, "call_id"),
                                 r_output(json_object_get(item, "output")), 0, t[0] == 'c'));
    } else if (!strcmp(t, "item_reference")) {
        /* Such ids are ones zend minted for a previous answer; it keeps no
         * copy of them yet, so the client must send the items themselves. */
        const char *id = trp_str(item, "id");
        trp_fail(b,
                 "input item_reference \"%s\" cannot be resolved: zend does not keep earlier "
                 "response items; send the full conversation items instead by setting "
                 "\"store\": false",
                 id ? id : "");
        return -1;
    }
    /* Anything else (web_search_call, local_shell_call, mcp_call ...) is
     * server state another wire cannot use: dropped. */
    return 0;
}

static void r_tools(struct trp *b, const json_t *tools)
{
    size_t i;
    const json_t *t;
    json_array_foreach(tools, i, t) {
        if (trp_type_is(t, "function")) {
            trp_tool(b, trp_str(t, "name"), trp_str(t, "description"),
                     json_object_get(t, "parameters"), json_object_get(t, "strict"), "function",
                     NULL, NULL);
        } else if (trp_type_is(t, "custom")) {
            json_t *schema = trp_custom_schema();
            trp_tool(b, trp_str(t, "name"), trp_str(t, "description"), schema, NULL, "custom",
                     trp_obj(t, "format"), NULL);
            json_decref(schema);
        }
    }
}

static void r_tool_choice(struct trp *b, const json_t *tc)
{
    if (json_is_string(tc)) {
        trp_tool_choice_word(b, json_string_value(tc));
        return;
    }
    if (!json_is_object(tc))
        return;
    const char *name = trp_str(tc, "name");
    if ((trp_type_is(tc, "function") || trp_type_is(tc, "custom")) && name)
        trp_tool_choice(b, "tool", name);
    else /* allowed_tools and builtin choices (web_search_preview, mcp ...) */
        trp_tool_choice(b, "auto", NULL);
}

/* The first field that needs server-side state, or NULL. */
static const char *r_stateful(const json_t *body)
{
    const json_t *prev = json_object_get(body, "previous_response_id");
    const json_t *conv = json_object_get(body, "conversation");
    if (prev && !json_is_null(prev))
        return "previous_response_id";
    if (conv && !json_is_null(conv))
        return "conversation";
    if (json_is_true(json_object_get(body, "background")))
        return "background";
    return NULL;
}

json_t *tr_parse_r(struct trp *b, const json_t *body)
{
    const json_t *input = json_object_get(body, "input");
    if (!json_is_array(input) && !json_is_string(input))
        return trp_fail(b, "`input` is %s: it must be a string or an array of items",
                        input ? "of the wrong type" : "missing");

    trp_system(b, trp_str(body, "instructions"), NULL);
    if (json_is_string(input)) {
        push_one(b, TRP_USER, trp_text(json_string_value(input), NULL));
    } else {
        size_t i;
        const json_t *item;
        json_array_foreach(input, i, item) {
            if (r_item(b, item) < 0)
                return NULL;
        }
    }
    r_tools(b, trp_arr(body, "tools"));
    r_tool_choice(b, json_object_get(body, "tool_choice"));
    trp_copy_bool(b, body, "parallel_tool_calls", "parallel");
    trp_copy_int(b, body, "max_output_tokens", "max_tokens");
    trp_copy_real(b, body, "temperature", "temperature");
    trp_copy_real(b, body, "top_p", "top_p");
    trp_copy_str(b, body, "user", "user");
    trp_effort(b, json_object_get(trp_obj(body, "reasoning"), "effort"));
    const json_t *fmt = trp_obj(trp_obj(body, "text"), "format");
    trp_response_format(b, trp_str(fmt, "type"), fmt);
    const char *st = r_stateful(body);
    if (st)
        json_object_set_new(b->ir, "stateful", json_string(st));
    return trp_finish(b);
}
