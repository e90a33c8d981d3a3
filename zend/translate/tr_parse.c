/* tr_parse.c -- the request parsers' entry point (tr_request_parse), the
 * checks of an IR against a wire, and the builder and part constructors the
 * three format parsers share (tr_parse_int.h). docs/translate.md, requests. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tr_ctx.h"
#include "tr_parse_int.h"
#include "tr_request.h"
#include "zjson.h"

/* Per-format parsers (tr_parse_a.c, tr_parse_c.c, tr_parse_r.c). */
json_t *tr_parse_a(struct trp *b, const json_t *body);
json_t *tr_parse_c(struct trp *b, const json_t *body);
json_t *tr_parse_r(struct trp *b, const json_t *body);

/* Every content-block type the three APIs define. A block of one of these
 * that zend cannot carry across (server_tool_use, input_audio ...) is
 * dropped by the parsers; a type outside the list is a malformed request
 * and is refused, so a typo never silently vanishes from a conversation. */
static const char *const known_block_types[] = {
    /* Anthropic */
    "text", "image", "document", "thinking", "redacted_thinking", "tool_use", "tool_result",
    "server_tool_use", "web_search_tool_result", "web_fetch_tool_result",
    "code_execution_tool_result", "bash_code_execution_tool_result",
    "text_editor_code_execution_tool_result", "mcp_tool_use", "mcp_tool_result",
    "search_result", "container_upload", "tool_reference",
    /* OpenAI Chat */
    "image_url", "input_audio", "file", "refusal",
    /* OpenAI Responses */
    "input_text", "input_image", "input_file", "output_text", "summary_text",
    "reasoning_text",
};

static int known_block_type(const char *t)
{
    for (size_t i = 0; i < sizeof(known_block_types) / sizeof(known_block_types[0]); i++)
        if (strcmp(t, known_block_types[i]) == 0)
            return 1;
    return 0;
}

/* The first block of `content` (an array) whose type is unknown, else NULL. */
static const char *unknown_block_in(const json_t *content)
{
    size_t i;
    const json_t *part;
    json_array_foreach(content, i, part) {
        const char *t = json_string_value(json_object_get(part, "type"));
        if (t && !known_block_type(t))
            return t;
    }
    return NULL;
}

/* The first unknown content-block type of the request's messages (A, C
 * `messages`, R `input` message items), else NULL. */
static const char *unknown_block(const json_t *doc)
{
    const json_t *list = json_object_get(doc, "messages");
    if (!list)
        list = json_object_get(doc, "input");
    size_t i;
    const json_t *msg;
    json_array_foreach(list, i, msg) {
        const char *t = unknown_block_in(json_object_get(msg, "content"));
        if (t)
            return t;
    }
    return NULL;
}

/* The 400's message for a body zjson refused: jansson's reader, run again on
 * this failure path only, says where the text breaks. */
static void refuse_not_json(const char *body, size_t len, char *err, size_t errlen)
{
    json_error_t je;
    json_t *doc = json_loadb(body ? body : "", body ? len : 0, 0, &je);
    if (doc) { /* the one text jansson takes and zjson does not (zjson.h) */
        json_decref(doc);
        snprintf(err, errlen, "request body is not valid JSON: a NUL byte in the text");
        return;
    }
    snprintf(err, errlen, "request body is not valid JSON: %s (line %d, column %d)", je.text,
             je.line, je.column);
}

json_t *tr_request_parse(enum tr_format f, const char *body, size_t len, char *err,
                         size_t errlen)
{
    if (err && errlen)
        err[0] = '\0';
    if ((unsigned)f > TR_FORMAT_R) {
        snprintf(err, errlen, "unknown request format");
        return NULL;
    }
    json_t *doc = zjson_load(body ? body : "", body ? len : 0, 0);
    if (!doc) {
        refuse_not_json(body, len, err, errlen);
        return NULL;
    }
    json_t *ir = tr_request_parse_doc(f, doc, err, errlen);
    json_decref(doc);
    return ir;
}

json_t *tr_request_parse_doc(enum tr_format f, const json_t *doc, char *err, size_t errlen)
{
    static const char *const src[] = {"A", "C", "R"};
    if (err && errlen)
        err[0] = '\0';
    if ((unsigned)f > TR_FORMAT_R) {
        snprintf(err, errlen, "unknown request format");
        return NULL;
    }
    if (!json_is_object(doc)) {
        snprintf(err, errlen, "request body must be a JSON object");
        return NULL;
    }
    const char *unknown = unknown_block(doc);
    if (unknown) {
        snprintf(err, errlen, "unknown content block type \"%.64s\" in the request's messages",
                 unknown);
        return NULL;
    }
    struct trp b;
    trp_init(&b, src[f], doc, err, errlen);
    return f == TR_FORMAT_A ? tr_parse_a(&b, doc)
         : f == TR_FORMAT_C ? tr_parse_c(&b, doc)
                            : tr_parse_r(&b, doc);
}

int tr_request_check(const json_t *ir, enum tr_format wire, char *err, size_t errlen)
{
    const json_t *n = json_object_get(ir, "n");
    if (wire != TR_FORMAT_C && json_is_integer(n) && json_integer_value(n) > 1) {
        snprintf(err, errlen,
                 "n > 1 is not supported by this provider (%s API): ask for one choice per "
                 "request",
                 tr_format_name(wire));
        return -1;
    }
    const char *st = json_string_value(json_object_get(ir, "stateful"));
    if (st && wire != TR_FORMAT_R) {
        snprintf(err, errlen,
                 "`%s` needs state kept by an OpenAI Responses server, and this provider speaks "
                 "the %s API: send the full conversation in `input` instead",
                 st, tr_format_name(wire));
        return -1;
    }
    return 0;
}

int tr_request_wants_reasoning(const json_t *ir)
{
    const json_t *r = json_object_get(ir, "reasoning");
    const char *mode = json_string_value(json_object_get(r, "mode"));
    if (!mode)
        return 0;
    if (!strcmp(mode, "budget") || !strcmp(mode, "adaptive"))
        return 1;
    if (strcmp(mode, "effort"))
        return 0;
    const char *e = json_string_value(json_object_get(r, "effort"));
    return e && strcmp(e, "none") && strcmp(e, "minimal");
}

/* ---- builder ---- */

void trp_init(struct trp *b, const char *source, const json_t *body, char *err, size_t errlen)
{
    const char *model = trp_str(body, "model");
    b->ir = json_pack("{s:s, s:s, s:[], s:[], s:[], s:b, s:{s:s}}", "source", source, "model",
                      model ? model : "", "system", "messages", "tools", "stream",
                      json_is_true(json_object_get(body, "stream")), "reasoning", "mode", "off");
    b->system = json_object_get(b->ir, "system");
    b->messages = json_object_get(b->ir, "messages");
    b->tools = json_object_get(b->ir, "tools");
    b->last = TRP_NONE;
    b->err = err;
    b->errlen = errlen;
}

json_t *trp_finish(struct trp *b)
{
    if (!b->ir) {
        snprintf(b->err, b->errlen, "out of memory");
        return NULL;
    }
    /* Both families reject a choice without tools (docs/translate.md, tools). */
    if (json_array_size(b->tools) == 0) {
        json_object_del(b->ir, "tool_choice");
        json_object_del(b->ir, "parallel");
    }
    json_t *ir = b->ir;
    b->ir = NULL;
    return ir;
}

json_t *trp_fail(struct trp *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (b->err && b->errlen)
        vsnprintf(b->err, b->errlen, fmt, ap);
    va_end(ap);
    json_decref(b->ir);
    b->ir = NULL;
    return NULL;
}

void trp_push(struct trp *b, enum trp_kind kind, int merge, json_t *parts)
{
    if (!parts)
        return;
    if (json_array_size(parts) == 0) {
        json_decref(parts);
        return;
    }
    size_t n = json_array_size(b->messages);
    if (merge && n && b->last == kind) {
        json_array_extend(json_object_get(json_array_get(b->messages, n - 1), "parts"), parts);
        json_decref(parts);
        return;
    }
    json_array_append_new(b->messages,
                          json_pack("{s:s, s:o}", "role",
                                    kind == TRP_ASSISTANT ? "assistant" : "user", "parts", parts));
    b->last = kind;
}

void trp_system(struct trp *b, const char *text, const json_t *cache_control)
{
    json_t *p = trp_text(text, cache_control);
    if (!p)
        return;
    json_object_del(p, "type");
    json_array_append_new(b->system, p);
}

static int in_list(const char *s, const char *const *list)
{
    for (; s && *list; list++)
        if (!strcmp(s, *list))
            return 1;
    return 0;
}

void trp_system_content(struct trp *b, const json_t *content, const char *const *text_types)
{
    if (json_is_string(content)) {
        trp_system(b, json_string_value(content), NULL);
        return;
    }
    size_t i;
    const json_t *p;
    json_array_foreach(content, i, p) {
        if (in_list(trp_str(p, "type"), text_types))
            trp_system(b, trp_str(p, "text"), trp_obj(p, "cache_control"));
    }
}

/* ---- getters ---- */

const char *trp_str(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

const json_t *trp_obj(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    return json_is_object(v) ? v : NULL;
}

const json_t *trp_arr(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    return json_is_array(v) ? v : NULL;
}

int trp_type_is(const json_t *o, const char *type)
{
    const char *t = trp_str(o, "type");
    return t && !strcmp(t, type);
}

/* ---- parts ---- */

void trp_add(json_t *arr, json_t *p)
{
    if (p)
        json_array_append_new(arr, p);
}

static void add_cache_control(json_t *p, const json_t *cc)
{
    if (p && json_is_object(cc))
        json_object_set_new(p, "cache_control", json_deep_copy(cc));
}

json_t *trp_text(const char *text, const json_t *cache_control)
{
    /* Empty text is dropped here once, so no emitter sends the empty blocks
     * Anthropic rejects ("text content blocks must be non-empty"). */
    if (!text || !*text)
        return NULL;
    json_t *p = json_pack("{s:s, s:o}", "type", "text", "text", zjson_string(text));
    add_cache_control(p, cache_control);
    return p;
}

json_t *trp_image_b64(const char *media_type, const char *data, const json_t *cache_control)
{
    if (!media_type || !data)
        return NULL;
    json_t *p = json_pack("{s:s, s:s, s:s, s:s}", "type", "image", "source", "base64",
                          "media_type", media_type, "data", data);
    add_cache_control(p, cache_control);
    return p;
}

/* Splits `data:<mt>[;params];base64,<data>`: 0 and the media type (up to
 * the first ';') in mt, and *data; -1 for anything else. */
static int split_data_url(const char *url, char *mt, size_t mtlen, const char **data)
{
    if (strncmp(url, "data:", 5) != 0)
        return -1;
    const char *head = url + 5, *comma = strchr(head, ',');
    if (!comma || comma - head < 7 || strncmp(comma - 7, ";base64", 7) != 0)
        return -1;
    size_t n = strcspn(head, ";");
    if (n >= mtlen)
        return -1;
    memcpy(mt, head, n);
    mt[n] = '\0';
    *data = comma + 1;
    return 0;
}

json_t *trp_image_url(const char *url, const json_t *cache_control)
{
    if (!url)
        return NULL;
    char mt[256];
    const char *data;
    if (split_data_url(url, mt, sizeof(mt), &data) == 0)
        return trp_image_b64(mt, data, cache_control);
    return json_pack("{s:s, s:s, s:s}", "type", "image", "source", "url", "url", url);
}

json_t *trp_image_file(const char *file_id, const char *family)
{
    if (!file_id)
        return NULL;
    return json_pack("{s:s, s:s, s:s, s:s}", "type", "image", "source", "file", "file_id",
                     file_id, "family", family);
}

json_t *trp_document(const char *source, const char *key, const char *value, const char *title)
{
    if (!value)
        return NULL;
    json_t *p = json_pack("{s:s, s:s, s:s}", "type", "document", "source", source, key, value);
    if (p && title)
        json_object_set_new(p, "title", json_string(title));
    return p;
}

json_t *trp_pdf_data_url(const char *url, const char *title)
{
    char mt[256];
    const char *data;
    if (!url || split_data_url(url, mt, sizeof(mt), &data) != 0 ||
        strcmp(mt, "application/pdf") != 0)
        return NULL;
    return trp_document("pdf", "data", data, title);
}

json_t *trp_file_omitted(const char *file_id)
{
    if (!file_id)
        return NULL;
    char buf[512];
    snprintf(buf, sizeof(buf), "[file omitted: %s]", file_id);
    return trp_text(buf, NULL);
}

json_t *trp_thinking(const char *text, const char *signature, const char *origin)
{
    return json_pack("{s:s, s:s, s:s, s:s}", "type", "thinking", "text", text ? text : "",
                     "signature", signature ? signature : "", "origin", origin);
}

json_t *trp_redacted(const char *data)
{
    if (!data)
        return NULL;
    return json_pack("{s:s, s:s}", "type", "redacted", "data", data);
}

json_t *trp_tool_call(const char *id, const char *name, const char *args, int custom)
{
    if (!name)
        return NULL;
    json_t *p = json_pack("{s:s, s:s, s:s, s:o}", "type", "tool_call", "id", id ? id : "",
                          "name", name, "args", zjson_string(args ? args : "{}"));
    if (p && custom)
        json_object_set_new(p, "custom", json_true());
    return p;
}

json_t *trp_custom_call(const char *id, const char *name, const json_t *input)
{
    json_t *in = input ? json_incref((json_t *)input) : json_string("");
    json_t *wrap = json_pack("{s:o}", "input", in);
    char *args = wrap ? json_dumps(wrap, JSON_COMPACT) : NULL;
    json_decref(wrap);
    json_t *p = args ? trp_tool_call(id, name, args, 1) : NULL;
    free(args);
    return p;
}

json_t *trp_tool_result(const char *call_id, json_t *content, int is_error, int custom)
{
    json_t *p = json_pack("{s:s, s:s, s:o}", "type", "tool_result", "call_id",
                          call_id ? call_id : "", "content", content ? content : json_array());
    if (p && is_error)
        json_object_set_new(p, "is_error", json_true());
    if (p && custom)
        json_object_set_new(p, "custom", json_true());
    return p;
}

json_t *trp_content(const json_t *content, json_t *(*part)(const json_t *))
{
    json_t *parts = json_array();
    if (json_is_string(content)) {
        trp_add(parts, trp_text(json_string_value(content), NULL));
        return parts;
    }
    size_t i;
    const json_t *p;
    json_array_foreach(content, i, p)
        trp_add(parts, part(p));
    return parts;
}

/* ---- tools and parameters ---- */

json_t *trp_custom_schema(void)
{
    return json_pack("{s:s, s:{s:{s:s}}, s:[s]}", "type", "object", "properties", "input",
                     "type", "string", "required", "input");
}

void trp_tool(struct trp *b, const char *name, const char *description, const json_t *schema,
              const json_t *strict, const char *kind, const json_t *format,
              const json_t *cache_control)
{
    if (!name)
        return;
    json_t *s = json_is_object(schema) ? json_deep_copy(schema)
                                       : json_pack("{s:s, s:{}}", "type", "object", "properties");
    if (!json_object_get(s, "type"))
        json_object_set_new(s, "type", json_string("object"));
    json_t *t = json_pack("{s:s, s:o, s:s}", "name", name, "schema", s, "kind", kind);
    if (!t)
        return;
    if (description)
        json_object_set_new(t, "description", json_string(description));
    if (json_is_boolean(strict))
        json_object_set_new(t, "strict", json_boolean(json_is_true(strict)));
    if (json_is_object(format))
        json_object_set_new(t, "format", json_deep_copy(format));
    add_cache_control(t, cache_control);
    json_array_append_new(b->tools, t);
}

void trp_tool_choice(struct trp *b, const char *mode, const char *name)
{
    json_t *c = json_pack("{s:s}", "mode", mode);
    if (c && name)
        json_object_set_new(c, "name", json_string(name));
    json_object_set_new(b->ir, "tool_choice", c);
}

int trp_tool_choice_word(struct trp *b, const char *word)
{
    static const char *const words[][2] = {
        {"auto", "auto"}, {"required", "any"}, {"none", "none"}};
    for (size_t i = 0; word && i < sizeof(words) / sizeof(words[0]); i++)
        if (!strcmp(word, words[i][0])) {
            trp_tool_choice(b, words[i][1], NULL);
            return 0;
        }
    return -1;
}

void trp_copy_int(struct trp *b, const json_t *body, const char *key, const char *as)
{
    const json_t *v = json_object_get(body, key);
    if (json_is_integer(v))
        json_object_set_new(b->ir, as, json_integer(json_integer_value(v)));
}

void trp_copy_real(struct trp *b, const json_t *body, const char *key, const char *as)
{
    const json_t *v = json_object_get(body, key);
    if (json_is_number(v))
        json_object_set_new(b->ir, as, json_real(json_number_value(v)));
}

void trp_copy_bool(struct trp *b, const json_t *body, const char *key, const char *as)
{
    const json_t *v = json_object_get(body, key);
    if (json_is_boolean(v))
        json_object_set_new(b->ir, as, json_boolean(json_is_true(v)));
}

void trp_copy_str(struct trp *b, const json_t *body, const char *key, const char *as)
{
    const char *s = trp_str(body, key);
    if (s)
        json_object_set_new(b->ir, as, json_string(s));
}

void trp_effort(struct trp *b, const json_t *effort)
{
    const char *e = json_string_value(effort);
    if (!e || !strcmp(e, "none"))
        return;
    json_object_set_new(b->ir, "reasoning", json_pack("{s:s, s:s}", "mode", "effort", "effort", e));
}

void trp_response_format(struct trp *b, const char *type, const json_t *holder)
{
    if (!type)
        return;
    if (!strcmp(type, "text") || !strcmp(type, "json_object")) {
        json_object_set_new(b->ir, "response_format", json_pack("{s:s}", "type", type));
        return;
    }
    if (strcmp(type, "json_schema") != 0)
        return;
    /* OpenAI requires a name; a nameless schema still means "answer in
     * JSON of this shape", so it gets a neutral one rather than vanishing. */
    const char *name = trp_str(holder, "name");
    const json_t *schema = trp_obj(holder, "schema");
    json_t *rf = json_pack("{s:s, s:s, s:o}", "type", "json_schema", "name",
                           name ? name : "response", "schema",
                           schema ? json_deep_copy(schema) : json_object());
    const json_t *strict = json_object_get(holder, "strict");
    if (rf && json_is_boolean(strict))
        json_object_set_new(rf, "strict", json_boolean(json_is_true(strict)));
    json_object_set_new(b->ir, "response_format", rf);
}

void trp_stop(struct trp *b, const json_t *stop)
{
    json_t *st = json_array();
    if (json_is_string(stop))
        json_array_append_new(st, json_string(json_string_value(stop)));
    size_t i;
    const json_t *s;
    json_array_foreach(stop, i, s) {
        if (json_is_string(s))
            json_array_append_new(st, json_string(json_string_value(s)));
    }
    if (json_array_size(st))
        json_object_set_new(b->ir, "stop", st);
    else
        json_decref(st);
}
