/* tr_decode_c.c -- Chat Completions answers -> IR events (docs/translate.md,
 * decoder C): the chunk stream with its tool slots, and the whole body. */
#include <stdlib.h>
#include <string.h>

#include "tr_chunk_scan.h"
#include "tr_decode.h"
#include "tr_decode_int.h"
#include "zjson.h"

enum { SLOT_PENDING, SLOT_OPEN, SLOT_CLOSED };

/* One upstream tool call. Its key is the upstream index (or a made-up one
 * for an entry that has only an id); a reused index with another id gets a
 * new slot under the same key, which then stands for the newer call. */
struct slot {
    int64_t key;
    char *id, *name;
    size_t id_len, name_len;
    struct tr_dec_buf args; /* args that came before the name */
    int state;
    int b;
};

struct cst {
    int has_finish;
    enum tr_stop stop;
    int has_usage;
    struct tr_usage usage;
    int refusal;
    int cur_b;                  /* the open text or thinking block, -1 */
    enum tr_block_kind cur_kind;
    struct slot *slots;
    size_t n_slots, cap_slots;
    int last_slot;              /* -1 none */
    int64_t next_key;           /* made-up keys, below every real index */
    char *unesc;                /* scanned chunks: their escaped strings, decoded */
    size_t unesc_cap;
    struct tr_chunk_memo memo;  /* the last chunk scanned, for the next */
};

static const char C_SIG[] = "zend1.c";

enum tr_stop tr_dec_c_stop(const char *f)
{
    if (!f)
        return TR_STOP_END_TURN;
    if (!strcmp(f, "length") || !strcmp(f, "max_tokens"))
        return TR_STOP_MAX_TOKENS;
    if (!strcmp(f, "tool_calls") || !strcmp(f, "function_call") || !strcmp(f, "tool_use"))
        return TR_STOP_TOOL_USE;
    if (!strcmp(f, "content_filter"))
        return TR_STOP_REFUSAL;
    return TR_STOP_END_TURN; /* stop, eos, end_turn, and anything unknown */
}

/* DeepSeek aborted the generation: no finish, an overload (stop reasons, adjustment 3). */
static int c_aborted(struct tr_decoder *d, const char *finish)
{
    if (!finish || strcmp(finish, "insufficient_system_resource") != 0)
        return 0;
    tr_dec_error(d, TR_ERR_OVERLOADED, "overloaded_error",
                 "upstream overloaded: insufficient_system_resource");
    return 1;
}

static int c_init(struct tr_decoder *d)
{
    struct cst *st = calloc(1, sizeof(*st));
    if (!st)
        return -1;
    st->cur_b = -1;
    st->last_slot = -1;
    st->next_key = INT64_MIN;
    d->st = st;
    return 0;
}

static void c_free(struct tr_decoder *d)
{
    struct cst *st = d->st;
    for (size_t i = 0; i < st->n_slots; i++) {
        free(st->slots[i].id);
        free(st->slots[i].name);
        tr_dec_buf_free(&st->slots[i].args);
    }
    free(st->slots);
    free(st->unesc);
    tr_chunk_memo_fini(&st->memo);
    free(st);
}

/* The argument text of a tool entry: a string, or any other JSON compact. */
static const char *c_args(const json_t *fn, char **owned, size_t *len)
{
    json_t *a = json_object_get(fn, "arguments");
    *owned = NULL;
    *len = 0;
    if (json_is_string(a)) {
        *len = json_string_length(a);
        return json_string_value(a);
    }
    if (!a || json_is_null(a))
        return NULL;
    *owned = tr_dec_dump(a);
    *len = *owned ? strlen(*owned) : 0;
    return *owned;
}

/* ---- the stream ---- */

static void close_cur(struct tr_decoder *d, struct cst *st)
{
    if (st->cur_b >= 0)
        tr_dec_close(d, st->cur_b);
    st->cur_b = -1;
}

static void close_tools(struct tr_decoder *d, struct cst *st)
{
    for (size_t i = 0; i < st->n_slots; i++)
        if (st->slots[i].state == SLOT_OPEN) {
            tr_dec_close(d, st->slots[i].b);
            st->slots[i].state = SLOT_CLOSED;
        }
}

/* Before a part of kind k: close what k does not live beside, open k's block. */
static void kind_switch(struct tr_decoder *d, struct cst *st, enum tr_block_kind k)
{
    if (k == TR_BLOCK_TOOL) {
        close_cur(d, st);
        return;
    }
    if (st->cur_b >= 0 && st->cur_kind != k)
        close_cur(d, st);
    close_tools(d, st);
    if (st->cur_b < 0) {
        st->cur_b = tr_dec_open(d, k, NULL, 0, NULL, 0, k == TR_BLOCK_THINKING ? C_SIG : NULL);
        st->cur_kind = k;
    }
}

static void part(struct tr_decoder *d, struct cst *st, enum tr_block_kind k, const char *s,
                 size_t n)
{
    if (!s || n == 0)
        return;
    kind_switch(d, st, k);
    tr_dec_delta(d, st->cur_b, s, n);
}

static int find_key(const struct cst *st, int64_t key)
{
    for (size_t i = st->n_slots; i-- > 0;)
        if (st->slots[i].key == key)
            return (int)i;
    return -1;
}

static int find_id(const struct cst *st, const char *id, size_t n)
{
    for (size_t i = st->n_slots; i-- > 0;)
        if (st->slots[i].id && st->slots[i].id_len == n && !memcmp(st->slots[i].id, id, n))
            return (int)i;
    return -1;
}

static int new_slot(struct cst *st, int64_t key)
{
    /* an upstream inventing calls without end: later ones are dropped */
    if (tr_dec_room(&st->slots, &st->cap_slots, st->n_slots, sizeof(*st->slots)) < 0)
        return -1;
    st->slots[st->n_slots] = (struct slot){.key = key, .state = SLOT_PENDING, .b = -1};
    return (int)st->n_slots++;
}


/* Which slot a tool_calls entry belongs to (decoder C, slot rules). */
static int slot_for(struct cst *st, const json_t *e, const char *id, size_t id_len)
{
    json_t *ix = json_object_get(e, "index");
    if (json_is_integer(ix)) {
        int64_t key = (int64_t)json_integer_value(ix);
        int si = find_key(st, key);
        if (si < 0)
            return new_slot(st, key);
        const struct slot *s = &st->slots[si];
        if (id && s->id && (s->id_len != id_len || memcmp(s->id, id, id_len) != 0))
            return new_slot(st, key); /* Ollama/SGLang reuse index 0 for the next call */
        return si;
    }
    if (id) {
        int si = find_id(st, id, id_len);
        return si >= 0 ? si : new_slot(st, st->next_key++);
    }
    if (st->last_slot >= 0)
        return st->last_slot;
    int si = find_key(st, 0);
    return si >= 0 ? si : new_slot(st, 0);
}

static void tool_entry(struct tr_decoder *d, struct cst *st, const json_t *e)
{
    if (!json_is_object(e))
        return;
    size_t id_len = 0, name_len = 0, args_len = 0;
    const char *id = tr_dec_str_ne(e, "id", &id_len);
    const json_t *fn = json_object_get(e, "function");
    const char *name = tr_dec_str_ne(fn, "name", &name_len);
    int si = slot_for(st, e, id, id_len);
    if (si < 0)
        return;
    st->last_slot = si;
    struct slot *s = &st->slots[si];
    if (s->state == SLOT_CLOSED)
        return; /* a fragment for a call already closed cannot be placed */
    if (!s->id && id)
        s->id = tr_dec_dup(d, id, s->id_len = id_len);
    if (!s->name && name)
        s->name = tr_dec_dup(d, name, s->name_len = name_len);
    char *owned;
    const char *args = c_args(fn, &owned, &args_len);
    kind_switch(d, st, TR_BLOCK_TOOL);
    if (s->state == SLOT_PENDING && s->name) {
        s->b = tr_dec_open(d, TR_BLOCK_TOOL, s->id, s->id ? s->id_len : 0, s->name,
                           s->name_len, NULL);
        if (s->b >= 0) {
            s->state = SLOT_OPEN;
            tr_dec_delta(d, s->b, s->args.p, s->args.len);
            d->kept -= s->args.len;
            tr_dec_buf_free(&s->args);
        }
    }
    if (s->state == SLOT_OPEN)
        tr_dec_delta(d, s->b, args, args_len);
    else if (args && tr_dec_keep(d, args_len) == 0)
        tr_dec_buf_add(&s->args, args, args_len, TR_DEC_KEEP_MAX);
    free(owned);
}

void tr_dec_c_finalize(struct tr_decoder *d)
{
    struct cst *st = d->st;
    /* Slots still pending never got a name: nothing a client could call. */
    tr_dec_finish(d, st->refusal ? TR_STOP_REFUSAL : st->stop, NULL, 0,
                  st->has_usage ? &st->usage : NULL);
}

int tr_dec_c_awaiting(const struct tr_decoder *d)
{
    const struct cst *st = d->st;
    return st->has_finish;
}

/* The choice a client sees: index 0, or one without an index. */
static const json_t *c_choice(const json_t *root, int first_fallback)
{
    const json_t *choices = json_object_get(root, "choices"), *c;
    size_t i;
    json_array_foreach(choices, i, c) {
        json_t *ix = json_object_get(c, "index");
        if (json_is_object(c) && (!ix || (json_is_integer(ix) && json_integer_value(ix) == 0)))
            return c;
    }
    c = json_array_get(choices, 0);
    return first_fallback && json_is_object(c) ? c : NULL;
}

static const char *c_reasoning(const json_t *m, size_t *n)
{
    const char *s = tr_dec_str_ne(m, "reasoning_content", n);
    return s ? s : tr_dec_str_ne(m, "reasoning", n); /* OpenRouter */
}

/* A choice's finish_reason (NULL: none). */
static void c_finish_reason(struct tr_decoder *d, struct cst *st, const char *finish)
{
    if (!finish || st->has_finish || d->done)
        return;
    if (c_aborted(d, finish))
        return;
    st->has_finish = 1;
    st->stop = tr_dec_c_stop(finish);
    tr_dec_close_all(d);
    close_tools(d, st);
    st->cur_b = -1;
    if (st->has_usage)
        tr_dec_c_finalize(d);
}

static void c_chunk(struct tr_decoder *d, struct cst *st, json_t *root)
{
    json_t *err = json_object_get(root, "error");
    if (err && !json_is_null(err)) {
        if (json_is_string(err)) {
            tr_dec_error_upstream(d, NULL, json_string_value(err));
            return;
        }
        const char *type = tr_dec_str_ne(err, "type", NULL);
        tr_dec_error_upstream(d, type ? type : tr_dec_str_ne(err, "code", NULL),
                              tr_dec_str(err, "message", NULL));
        return;
    }
    tr_dec_start(d, tr_dec_str(root, "id", NULL), tr_dec_str(root, "model", NULL), NULL);
    /* Only a usage object counts: a chunk whose usage is null or absent
     * leaves what an earlier one said (some providers send it before the
     * last content chunk), and a later one replaces it (totals so far). */
    struct tr_usage u;
    if (tr_dec_usage_c(json_object_get(root, "usage"), &u)) {
        st->usage = u;
        st->has_usage = 1;
        if (st->has_finish) {
            tr_dec_c_finalize(d);
            return;
        }
    }
    const json_t *ch = c_choice(root, 0);
    if (!ch)
        return;
    const json_t *delta = json_object_get(ch, "delta");
    if (!json_is_object(delta))
        delta = json_object_get(ch, "message"); /* fake streams send whole messages */
    if (!st->has_finish && json_is_object(delta)) {
        size_t n = 0;
        const char *s = c_reasoning(delta, &n);
        part(d, st, TR_BLOCK_THINKING, s, n);
        s = tr_dec_str_ne(delta, "content", &n);
        part(d, st, TR_BLOCK_TEXT, s, n);
        if ((s = tr_dec_str_ne(delta, "refusal", &n))) {
            part(d, st, TR_BLOCK_TEXT, s, n);
            st->refusal = 1;
        }
        const json_t *calls = json_object_get(delta, "tool_calls"), *e;
        size_t i;
        json_array_foreach(calls, i, e) tool_entry(d, st, e);
    }
    c_finish_reason(d, st, tr_dec_str_ne(ch, "finish_reason", NULL));
}

/* The chunk the scanner took (tr_chunk_scan.h): what c_chunk does with the
 * same facts. Returns 0, or -1 (out of memory: nothing was emitted). */
static int c_scanned(struct tr_decoder *d, struct cst *st, const struct tr_chunk *c)
{
    /* Strings are decoded before anything is emitted; id and model (only
     * read before START) also get their NUL, which tr_dec_start wants. */
    enum { ID, MODEL, REASONING, CONTENT, N_STR };
    const struct tr_chunk_str *strs[N_STR] = {&c->id, &c->model, &c->reasoning, &c->content};
    const char *s[N_STR];
    size_t n[N_STR], need = 0, off = 0;
    for (int i = 0; i < N_STR; i++) {
        int own = strs[i]->escaped || (i <= MODEL && strs[i]->s);
        if (own && (i > MODEL || !d->started))
            need += strs[i]->len + 1;
    }
    if (need > st->unesc_cap) {
        char *p = realloc(st->unesc, need);
        if (!p)
            return -1;
        st->unesc = p;
        st->unesc_cap = need;
    }
    for (int i = 0; i < N_STR; i++) {
        s[i] = strs[i]->s;
        n[i] = strs[i]->len;
        int own = strs[i]->escaped || (i <= MODEL && strs[i]->s);
        if (!own || (i <= MODEL && d->started))
            continue;
        n[i] = zjson_reader_unescape(strs[i]->s, strs[i]->len, st->unesc + off);
        if (n[i] == (size_t)-1)
            return -1;
        s[i] = st->unesc + off;
        st->unesc[off + n[i]] = 0;
        off += n[i] + 1;
    }
    /* from here on, what c_sse_event and c_chunk do with the tree */
    d->seen_json = 1;
    tr_dec_start(d, s[ID], s[MODEL], NULL);
    if (c->has_usage) {
        st->usage = c->usage;
        st->has_usage = 1;
        if (st->has_finish) {
            tr_dec_c_finalize(d);
            return 0;
        }
    }
    if (!c->has_choice)
        return 0;
    if (!st->has_finish) {
        part(d, st, TR_BLOCK_THINKING, s[REASONING], n[REASONING]);
        part(d, st, TR_BLOCK_TEXT, s[CONTENT], n[CONTENT]);
    }
    c_finish_reason(d, st, c->finish[0] ? c->finish : NULL);
    return 0;
}

static int is_done_marker(const char *s, size_t n)
{
    while (n && (*s == ' ' || *s == '\t')) {
        s++;
        n--;
    }
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
        n--;
    return n == 6 && !memcmp(s, "[DONE]", 6);
}

static void c_sse_event(struct tr_decoder *d, const char *name, const char *data, size_t len)
{
    (void)name; /* Chat chunks carry no event names worth reading */
    struct cst *st = d->st;
    if (is_done_marker(data, len)) {
        if (d->seen_json)
            tr_dec_c_finalize(d);
        else
            tr_dec_error_ended(d, 1, NULL); /* nothing but [DONE] is no answer */
        return;
    }
    /* The usual chunks skip the tree (tr_chunk_scan.h). */
    struct tr_chunk c;
    if (!d->tree_only && tr_chunk_scan_memo(&st->memo, data, len, &c) &&
        c_scanned(d, st, &c) == 0)
        return;
    json_t *root = tr_dec_parse(data, len);
    if (json_is_object(root)) {
        d->seen_json = 1;
        c_chunk(d, st, root);
    }
    json_decref(root);
}

static void c_sse_end(struct tr_decoder *d, int transport_ok, const char *why)
{
    (void)transport_ok;
    (void)why;
    struct cst *st = d->st;
    if (st->has_finish)
        tr_dec_c_finalize(d); /* complete enough: only usage or [DONE] was missing */
}

/* ---- the whole body ---- */

static void one_block(struct tr_decoder *d, enum tr_block_kind k, const char *id, size_t id_len,
                      const char *name, size_t name_len, const char *s, size_t n,
                      const char *sig)
{
    int b = tr_dec_open(d, k, id, id_len, name, name_len, sig);
    tr_dec_delta(d, b, s, n);
    tr_dec_close(d, b);
}

static void c_json(struct tr_decoder *d, json_t *root)
{
    if (!json_is_array(json_object_get(root, "choices"))) {
        tr_dec_error(d, TR_ERR_API, NULL, "upstream returned an answer without choices");
        return;
    }
    const json_t *ch = c_choice(root, 1);
    const char *finish = tr_dec_str_ne(ch, "finish_reason", NULL);
    if (c_aborted(d, finish))
        return;
    struct tr_usage u;
    int has_usage = tr_dec_usage_c(json_object_get(root, "usage"), &u);
    tr_dec_start(d, tr_dec_str(root, "id", NULL), tr_dec_str(root, "model", NULL),
                 has_usage ? &u : NULL);
    const json_t *m = json_object_get(ch, "message");
    size_t n = 0;
    const char *s = c_reasoning(m, &n);
    if (s)
        one_block(d, TR_BLOCK_THINKING, NULL, 0, NULL, 0, s, n, C_SIG);
    /* content: a string or text parts; a refusal is text too */
    struct tr_dec_buf text = {0};
    const json_t *content = json_object_get(m, "content"), *p;
    size_t i;
    if (json_is_string(content))
        tr_dec_buf_add(&text, json_string_value(content), json_string_length(content),
                       TR_JSON_BODY_MAX);
    json_array_foreach(content, i, p) {
        size_t pn = 0;
        const char *ps = tr_dec_str(p, "text", &pn);
        if (ps)
            tr_dec_buf_add(&text, ps, pn, TR_JSON_BODY_MAX);
    }
    const char *refusal = tr_dec_str_ne(m, "refusal", &n);
    if (refusal)
        tr_dec_buf_add(&text, refusal, n, TR_JSON_BODY_MAX);
    if (text.len)
        one_block(d, TR_BLOCK_TEXT, NULL, 0, NULL, 0, text.p, text.len, NULL);
    tr_dec_buf_free(&text);
    const json_t *calls = json_object_get(m, "tool_calls"), *e;
    json_array_foreach(calls, i, e) {
        const json_t *fn = json_object_get(e, "function");
        size_t id_len = 0, name_len = 0, args_len = 0;
        const char *id = tr_dec_str_ne(e, "id", &id_len);
        const char *name = tr_dec_str_ne(fn, "name", &name_len);
        if (!name)
            continue; /* a call without a name cannot be made */
        char *owned;
        const char *args = c_args(fn, &owned, &args_len);
        one_block(d, TR_BLOCK_TOOL, id, id_len, name, name_len, args, args_len, NULL);
        free(owned);
    }
    enum tr_stop stop = refusal ? TR_STOP_REFUSAL : tr_dec_c_stop(finish);
    tr_dec_finish(d, stop, NULL, 0, has_usage ? &u : NULL);
}

const struct tr_dec_ops tr_dec_ops_c = {
    .init = c_init,
    .free = c_free,
    .sse_event = c_sse_event,
    .sse_end = c_sse_end,
    .json = c_json,
};
