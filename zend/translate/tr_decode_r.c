/* tr_decode_r.c -- OpenAI Responses answers -> IR events (docs/translate.md,
 * decoder R): the event stream, keyed by item_id / output_index, and the
 * whole body. */
#include <stdlib.h>
#include <string.h>

#include "tr_decode.h"
#include "tr_decode_int.h"

enum { IT_OTHER, IT_MESSAGE, IT_FUNCTION, IT_CUSTOM, IT_REASONING };

struct rpart {
    int64_t ci; /* content_index */
    int b;
};

/* One output item: its block (tool, reasoning) or its text blocks (message). */
struct ritem {
    char *id;
    size_t id_len;
    int64_t oi;          /* output_index, -1 unknown */
    int type;
    int b;
    int args_seen;       /* arguments / input already sent as DELTAs */
    int64_t last_summary; /* the summary part the thinking text is in, -1 none yet */
    struct rpart *parts;
    size_t n_parts, cap_parts;
};

struct rst {
    struct ritem *items;
    size_t n_items, cap_items;
    int refusal;
};

static const char R_SIG[] = "zend1.r";
/* A custom tool's free text travels as the args {"input":"<text>"}. */
static const char CTC_OPEN[] = "{\"input\":\"";
static const char CTC_CLOSE[] = "\"}";

static int r_init(struct tr_decoder *d)
{
    d->st = calloc(1, sizeof(struct rst));
    return d->st ? 0 : -1;
}

static void r_free(struct tr_decoder *d)
{
    struct rst *st = d->st;
    for (size_t i = 0; i < st->n_items; i++) {
        free(st->items[i].id);
        free(st->items[i].parts);
    }
    free(st->items);
    free(st);
}

static int item_type(const char *t)
{
    if (!t)
        return IT_OTHER;
    if (!strcmp(t, "message"))
        return IT_MESSAGE;
    if (!strcmp(t, "function_call"))
        return IT_FUNCTION;
    if (!strcmp(t, "custom_tool_call"))
        return IT_CUSTOM;
    if (!strcmp(t, "reasoning"))
        return IT_REASONING;
    return IT_OTHER;
}

/* The text as the inside of a JSON string (what goes between the quotes). */
static void delta_escaped(struct tr_decoder *d, int b, const char *s, size_t n)
{
    if (!s || n == 0)
        return;
    json_t *js = json_stringn(s, n);
    char *enc = js ? tr_dec_dump(js) : NULL;
    if (enc && strlen(enc) >= 2)
        tr_dec_delta(d, b, enc + 1, strlen(enc) - 2);
    free(enc);
    json_decref(js);
}

/* ---- items ---- */

static struct ritem *find_item(struct rst *st, const char *id, size_t id_len, int64_t oi)
{
    for (size_t i = st->n_items; i-- > 0;) {
        struct ritem *it = &st->items[i];
        if (id ? (it->id && it->id_len == id_len && !memcmp(it->id, id, id_len))
               : (oi >= 0 && it->oi == oi))
            return it;
    }
    return NULL;
}

static struct ritem *new_item(struct tr_decoder *d, const char *id, size_t id_len, int64_t oi,
                              int type)
{
    struct rst *st = d->st;
    if (tr_dec_room(&st->items, &st->cap_items, st->n_items, sizeof(*st->items)) < 0)
        return NULL;
    struct ritem *it = &st->items[st->n_items++];
    *it = (struct ritem){.oi = oi, .type = type, .b = -1, .last_summary = -1};
    if (id && (it->id = tr_dec_dup(d, id, id_len)))
        it->id_len = id_len;
    return it;
}

/* Opens an item's own block (tool or thinking); nothing for a message. */
static void open_item(struct tr_decoder *d, struct ritem *it, const json_t *item)
{
    size_t n = 0, n2 = 0;
    const char *call_id = tr_dec_str_ne(item, "call_id", &n);
    const char *name = tr_dec_str(item, "name", &n2);
    if (it->type == IT_FUNCTION) {
        it->b = tr_dec_open(d, TR_BLOCK_TOOL, call_id, n, name, n2, NULL);
        const char *args = tr_dec_str_ne(item, "arguments", &n);
        if (args) {
            tr_dec_delta(d, it->b, args, n);
            it->args_seen = 1;
        }
    } else if (it->type == IT_CUSTOM) {
        it->b = tr_dec_open(d, TR_BLOCK_TOOL, call_id, n, name, n2, NULL);
        tr_dec_delta(d, it->b, CTC_OPEN, strlen(CTC_OPEN));
    } else if (it->type == IT_REASONING) {
        it->b = tr_dec_open(d, TR_BLOCK_THINKING, NULL, 0, NULL, 0, R_SIG);
    }
}

/* The item an item-scoped event names (item_id, else output_index); made
 * and opened when the upstream skipped its output_item.added. */
static struct ritem *event_item(struct tr_decoder *d, const json_t *root, int type)
{
    struct rst *st = d->st;
    size_t n = 0;
    const char *id = tr_dec_str_ne(root, "item_id", &n);
    int64_t oi = -1;
    tr_dec_int(root, "output_index", &oi);
    struct ritem *it = find_item(st, id, n, oi);
    if (!it && type != IT_OTHER && (it = new_item(d, id, n, oi, type)))
        open_item(d, it, NULL);
    return it;
}

static int part_block(struct tr_decoder *d, struct ritem *it, int64_t ci, int create)
{
    for (size_t i = 0; i < it->n_parts; i++)
        if (it->parts[i].ci == ci)
            return it->parts[i].b;
    if (!create || tr_dec_room(&it->parts, &it->cap_parts, it->n_parts, sizeof(*it->parts)) < 0)
        return -1;
    int b = tr_dec_open(d, TR_BLOCK_TEXT, NULL, 0, NULL, 0, NULL);
    it->parts[it->n_parts++] = (struct rpart){ci, b};
    return b;
}

static void close_item(struct tr_decoder *d, struct ritem *it)
{
    if (it->type == IT_CUSTOM && tr_dec_is_open(d, it->b))
        tr_dec_delta(d, it->b, CTC_CLOSE, strlen(CTC_CLOSE));
    tr_dec_close(d, it->b);
    for (size_t i = 0; i < it->n_parts; i++)
        tr_dec_close(d, it->parts[i].b);
}

/* A message part's text: output_text's text, refusal's refusal. */
static const char *part_text(struct rst *st, const json_t *part, size_t *n)
{
    const char *t = tr_dec_str(part, "type", NULL);
    if (t && !strcmp(t, "refusal")) {
        st->refusal = 1;
        return tr_dec_str(part, "refusal", n);
    }
    return tr_dec_str(part, "text", n);
}

/* Everything an item holds, for an item seen only whole (output_item.done
 * without its deltas, or a non-streamed body). */
static void item_content(struct tr_decoder *d, struct rst *st, struct ritem *it,
                         const json_t *item)
{
    size_t n = 0, i;
    const char *s;
    const json_t *p;
    switch (it->type) {
    case IT_FUNCTION:
        if (!it->args_seen && (s = tr_dec_str(item, "arguments", &n)))
            tr_dec_delta(d, it->b, s, n);
        break;
    case IT_CUSTOM:
        if (!it->args_seen && (s = tr_dec_str(item, "input", &n)))
            delta_escaped(d, it->b, s, n);
        break;
    case IT_REASONING:
        if (it->last_summary >= 0)
            break;
        json_array_foreach(json_object_get(item, "summary"), i, p) {
            if ((s = tr_dec_str(p, "text", &n)) && n) {
                if (it->last_summary >= 0)
                    tr_dec_delta(d, it->b, "\n\n", 2);
                tr_dec_delta(d, it->b, s, n);
                it->last_summary = (int64_t)i;
            }
        }
        break;
    case IT_MESSAGE:
        if (it->n_parts)
            break;
        json_array_foreach(json_object_get(item, "content"), i, p) {
            s = part_text(st, p, &n);
            int b = part_block(d, it, (int64_t)i, 1);
            tr_dec_delta(d, b, s, n);
            tr_dec_close(d, b); /* as its content_part.done would */
        }
        break;
    }
    it->args_seen = 1;
}

/* ---- the stream ---- */

static void on_item(struct tr_decoder *d, struct rst *st, const json_t *root, int done)
{
    const json_t *item = json_object_get(root, "item");
    int type = item_type(tr_dec_str(item, "type", NULL));
    size_t n = 0;
    const char *id = tr_dec_str_ne(item, "id", &n);
    int64_t oi = -1;
    tr_dec_int(root, "output_index", &oi);
    struct ritem *it = find_item(st, id, n, oi);
    if (!it && id)
        it = find_item(st, NULL, 0, oi); /* added without an id, done with one */
    if (!it) {
        if (type == IT_OTHER || !(it = new_item(d, id, n, oi, type)))
            return;
        open_item(d, it, item);
    }
    if (!done)
        return;
    item_content(d, st, it, item);
    close_item(d, it);
}

/* The text block of a message part (item, content_index); -1 when the
 * event is about another kind of item (reasoning has parts too). */
static int message_part(struct tr_decoder *d, const json_t *root, int create)
{
    struct ritem *it = event_item(d, root, create ? IT_MESSAGE : IT_OTHER);
    int64_t ci = 0;
    if (!it || it->type != IT_MESSAGE)
        return -1;
    tr_dec_int(root, "content_index", &ci);
    return part_block(d, it, ci, create);
}

static void on_text_delta(struct tr_decoder *d, const json_t *root, int refusal)
{
    struct rst *st = d->st;
    size_t n = 0;
    const char *s = tr_dec_str(root, "delta", &n);
    int b = message_part(d, root, 1);
    if (refusal && b >= 0)
        st->refusal = 1;
    tr_dec_delta(d, b, s, n);
}

static void on_reasoning_delta(struct tr_decoder *d, const json_t *root)
{
    struct ritem *it = event_item(d, root, IT_REASONING);
    if (!it)
        return;
    size_t n = 0;
    const char *s = tr_dec_str(root, "delta", &n);
    int64_t si = 0;
    tr_dec_int(root, "summary_index", &si);
    if (!s || n == 0)
        return;
    /* Summary parts are joined by a blank line, as in a whole body. */
    if (it->last_summary >= 0 && si != it->last_summary)
        tr_dec_delta(d, it->b, "\n\n", 2);
    it->last_summary = si;
    tr_dec_delta(d, it->b, s, n);
}

static void on_args(struct tr_decoder *d, const json_t *root, int custom, int done)
{
    struct ritem *it = event_item(d, root, custom ? IT_CUSTOM : IT_FUNCTION);
    if (!it || (done && it->args_seen))
        return;
    size_t n = 0;
    const char *key = done ? (custom ? "input" : "arguments") : "delta";
    const char *s = tr_dec_str(root, key, &n);
    if (custom)
        delta_escaped(d, it->b, s, n);
    else
        tr_dec_delta(d, it->b, s, n);
    it->args_seen = 1;
}

static void on_end(struct tr_decoder *d, struct rst *st, const json_t *resp, int incomplete)
{
    struct tr_usage u;
    int has_usage = tr_dec_usage_r(json_object_get(resp, "usage"), &u);
    enum tr_stop stop = TR_STOP_END_TURN; /* a function_call makes it tool_use */
    if (incomplete) {
        const char *why = tr_dec_str(json_object_get(resp, "incomplete_details"), "reason", NULL);
        stop = why && !strcmp(why, "content_filter") ? TR_STOP_REFUSAL : TR_STOP_MAX_TOKENS;
    }
    if (st->refusal)
        stop = TR_STOP_REFUSAL;
    tr_dec_finish(d, stop, NULL, 0, has_usage ? &u : NULL);
}

/* `error` events carry code/message at the top or in a nested error{}. */
static void on_error(struct tr_decoder *d, const json_t *err, const char *fallback)
{
    const char *type = tr_dec_str_ne(err, "code", NULL);
    if (!type && json_is_object(json_object_get(err, "error"))) {
        on_error(d, json_object_get(err, "error"), fallback);
        return;
    }
    if (!type)
        type = tr_dec_str_ne(err, "type", NULL);
    if (type && !strcmp(type, "error"))
        type = NULL; /* the event's own type, not the error's */
    const char *msg = tr_dec_str_ne(err, "message", NULL);
    tr_dec_error_upstream(d, type, msg ? msg : fallback);
}

static void r_sse_event(struct tr_decoder *d, const char *name, const char *data, size_t len)
{
    struct rst *st = d->st;
    json_t *root = tr_dec_parse(data, len);
    if (!json_is_object(root)) {
        json_decref(root);
        return;
    }
    d->seen_json = 1;
    const char *t = tr_dec_event_type(name, root);
    const json_t *resp = json_object_get(root, "response");
    if (!strncmp(t, "response.", 9))
        t += 9;
    if (!strcmp(t, "created") || !strcmp(t, "in_progress")) {
        tr_dec_start(d, tr_dec_str(resp, "id", NULL), tr_dec_str(resp, "model", NULL), NULL);
    } else if (!strcmp(t, "output_item.added") || !strcmp(t, "output_item.done")) {
        on_item(d, st, root, t[12] == 'd');
    } else if (!strcmp(t, "content_part.added")) {
        int b = message_part(d, root, 1);
        size_t n = 0;
        const char *s = b >= 0 ? part_text(st, json_object_get(root, "part"), &n) : NULL;
        tr_dec_delta(d, b, s, n);
    } else if (!strcmp(t, "content_part.done")) {
        tr_dec_close(d, message_part(d, root, 0));
    } else if (!strcmp(t, "output_text.delta") || !strcmp(t, "refusal.delta")) {
        on_text_delta(d, root, t[0] == 'r');
    } else if (!strcmp(t, "reasoning_summary_text.delta") || !strcmp(t, "reasoning_text.delta")) {
        on_reasoning_delta(d, root);
    } else if (!strcmp(t, "function_call_arguments.delta")) {
        on_args(d, root, 0, 0);
    } else if (!strcmp(t, "function_call_arguments.done")) {
        on_args(d, root, 0, 1);
    } else if (!strcmp(t, "custom_tool_call_input.delta")) {
        on_args(d, root, 1, 0);
    } else if (!strcmp(t, "custom_tool_call_input.done")) {
        on_args(d, root, 1, 1);
    } else if (!strcmp(t, "completed") || !strcmp(t, "incomplete")) {
        tr_dec_start(d, tr_dec_str(resp, "id", NULL), tr_dec_str(resp, "model", NULL), NULL);
        on_end(d, st, resp, t[0] == 'i');
    } else if (!strcmp(t, "failed")) {
        on_error(d, json_object_get(resp, "error"), "upstream response failed");
    } else if (!strcmp(t, "error")) {
        on_error(d, root, "upstream error");
    }
    json_decref(root);
}

static void r_sse_end(struct tr_decoder *d, int transport_ok, const char *why)
{
    (void)d; /* without completed/incomplete/failed the answer is not whole */
    (void)transport_ok;
    (void)why;
}

/* ---- the whole body ---- */

static void r_json(struct tr_decoder *d, json_t *root)
{
    struct rst *st = d->st;
    const json_t *output = json_object_get(root, "output"), *item;
    const char *status = tr_dec_str(root, "status", NULL);
    if (status && !strcmp(status, "failed")) {
        on_error(d, json_object_get(root, "error"), "upstream response failed");
        return;
    }
    if (!json_is_array(output)) {
        tr_dec_error(d, TR_ERR_API, NULL, "upstream returned an answer without output");
        return;
    }
    struct tr_usage u;
    int has_usage = tr_dec_usage_r(json_object_get(root, "usage"), &u);
    tr_dec_start(d, tr_dec_str(root, "id", NULL), tr_dec_str(root, "model", NULL),
                 has_usage ? &u : NULL);
    size_t i;
    json_array_foreach(output, i, item) {
        int type = item_type(tr_dec_str(item, "type", NULL));
        struct ritem *it = type == IT_OTHER ? NULL : new_item(d, NULL, 0, (int64_t)i, type);
        if (!it)
            continue;
        open_item(d, it, item);
        item_content(d, st, it, item);
        close_item(d, it);
    }
    on_end(d, st, root, status && !strcmp(status, "incomplete"));
}

const struct tr_dec_ops tr_dec_ops_r = {
    .init = r_init,
    .free = r_free,
    .sse_event = r_sse_event,
    .sse_end = r_sse_end,
    .json = r_json,
};
