/* tr_chunk_scan.c -- the usual Chat stream chunk, read without a tree
 * (tr_chunk_scan.h). Every function returns 0 when it read its part, -1
 * when the chunk is not JSON or not one the scanner takes. */
#include "tr_chunk_scan.h"

#include <stdlib.h>
#include <string.h>

#include "zjson.h"

static int key_is(const char *key, size_t n, const char *word, size_t wn)
{
    return n == wn && memcmp(key, word, n) == 0;
}
#define KEY_IS(key, n, lit) key_is(key, n, lit, sizeof(lit) - 1)

/* A key read once: a later duplicate would replace the value in the tree,
 * which the scanner does not try to follow. */
static int first_time(unsigned *seen, unsigned bit)
{
    if (*seen & bit)
        return -1;
    *seen |= bit;
    return 0;
}

/* A value read as tr_dec_str_ne reads it: a non-empty string, else none. */
static int read_str(struct zjson_reader *r, struct tr_chunk_str *v)
{
    *v = (struct tr_chunk_str){0};
    if (zjson_reader_peek(r) != '"')
        return zjson_reader_skip(r);
    if (zjson_reader_string(r, &v->s, &v->len, &v->escaped) != 0)
        return -1;
    if (v->len == 0)
        v->s = NULL; /* an escape never decodes to nothing: raw empty is empty */
    return 0;
}

/* ---- one choice ---- */

enum { C_INDEX = 1, C_DELTA = 2, C_FINISH = 4 };
enum { D_CONTENT = 1, D_REASONING_CONTENT = 2, D_REASONING = 4, D_REFUSAL = 8, D_TOOLS = 16 };

struct choice {
    unsigned seen, dseen;
    int index_zero;   /* index is an integer 0 */
    int has_delta;    /* delta is an object */
    struct tr_chunk_str content, reasoning_content, reasoning;
    char finish[TR_CHUNK_FINISH_MAX + 1];
};

static int delta_member(struct zjson_reader *r, const char *key, size_t n, void *ud)
{
    struct choice *ch = ud;
    struct tr_chunk_str v;
    if (KEY_IS(key, n, "content"))
        return first_time(&ch->dseen, D_CONTENT) ? -1 : read_str(r, &ch->content);
    if (KEY_IS(key, n, "reasoning_content"))
        return first_time(&ch->dseen, D_REASONING_CONTENT) ? -1
                                                           : read_str(r, &ch->reasoning_content);
    if (KEY_IS(key, n, "reasoning"))
        return first_time(&ch->dseen, D_REASONING) ? -1 : read_str(r, &ch->reasoning);
    if (KEY_IS(key, n, "refusal")) /* a refusal ends the answer as one: the tree's */
        return first_time(&ch->dseen, D_REFUSAL) || read_str(r, &v) || v.s ? -1 : 0;
    if (KEY_IS(key, n, "tool_calls")) {
        if (first_time(&ch->dseen, D_TOOLS))
            return -1;
        if (zjson_reader_peek(r) != '[')
            return zjson_reader_skip(r); /* not an array: no calls */
        return zjson_reader_enter(r) == 0 ? 0 : -1; /* calls: the tree's */
    }
    return zjson_reader_skip(r);
}

/* An integer 0 ("0" or "-0"): the choice a client sees. Any other number,
 * an integer or not, and any other value is an index that is not 0. */
static int read_index(struct zjson_reader *r, int *zero)
{
    int c = zjson_reader_peek(r);
    const unsigned char *start = r->p;
    if (zjson_reader_skip(r) != 0)
        return -1;
    size_t n = (size_t)(r->p - start);
    *zero = (c == '0' && n == 1) || (c == '-' && n == 2 && start[1] == '0');
    return 0;
}

static int choice_member(struct zjson_reader *r, const char *key, size_t n, void *ud)
{
    struct choice *ch = ud;
    if (KEY_IS(key, n, "index"))
        return first_time(&ch->seen, C_INDEX) ? -1 : read_index(r, &ch->index_zero);
    if (KEY_IS(key, n, "delta")) {
        if (first_time(&ch->seen, C_DELTA) || zjson_reader_peek(r) != '{')
            return -1; /* no object delta: the tree reads "message" instead */
        ch->has_delta = 1;
        return zjson_reader_members(r, delta_member, ch);
    }
    if (KEY_IS(key, n, "finish_reason")) {
        struct tr_chunk_str f;
        if (first_time(&ch->seen, C_FINISH) || read_str(r, &f) != 0 || f.escaped ||
            f.len > TR_CHUNK_FINISH_MAX)
            return -1;
        memcpy(ch->finish, f.s ? f.s : "", f.len);
        ch->finish[f.len] = 0;
        return 0;
    }
    return zjson_reader_skip(r);
}

/* ---- usage ---- */

/* A token count as tr_dec_int reads it: an integer (up to 18 digits here)
 * is one, a string or null or any other value is none; a real or a longer
 * integer (the tree truncates or refuses) is left to the tree. */
struct count {
    int has;
    int64_t v;
};

static int read_count(struct zjson_reader *r, struct count *c)
{
    int ch = zjson_reader_peek(r);
    const unsigned char *start = r->p;
    if (zjson_reader_skip(r) != 0)
        return -1;
    if (ch != '-' && (ch < '0' || ch > '9'))
        return 0; /* not a number */
    const unsigned char *p = start + (ch == '-'), *end = r->p;
    if (end - p > 18)
        return -1;
    int64_t v = 0;
    for (; p < end; p++) {
        if (*p < '0' || *p > '9')
            return -1; /* a fraction or an exponent */
        v = v * 10 + (*p - '0');
    }
    c->has = 1;
    c->v = ch == '-' ? -v : v;
    return 0;
}

enum { U_PROMPT = 1, U_COMPLETION = 2, U_HIT = 4, U_CREATION = 8, U_DETAILS = 16,
       U_CACHED = 32, U_WRITE = 64 };

struct usage_read {
    unsigned seen;
    struct count prompt, completion, hit, creation, cached, write;
};

static int details_member(struct zjson_reader *r, const char *key, size_t n, void *ud)
{
    struct usage_read *u = ud;
    if (KEY_IS(key, n, "cached_tokens"))
        return first_time(&u->seen, U_CACHED) ? -1 : read_count(r, &u->cached);
    if (KEY_IS(key, n, "cache_write_tokens"))
        return first_time(&u->seen, U_WRITE) ? -1 : read_count(r, &u->write);
    return zjson_reader_skip(r);
}

static int usage_member(struct zjson_reader *r, const char *key, size_t n, void *ud)
{
    struct usage_read *u = ud;
    if (KEY_IS(key, n, "prompt_tokens"))
        return first_time(&u->seen, U_PROMPT) ? -1 : read_count(r, &u->prompt);
    if (KEY_IS(key, n, "completion_tokens"))
        return first_time(&u->seen, U_COMPLETION) ? -1 : read_count(r, &u->completion);
    if (KEY_IS(key, n, "prompt_cache_hit_tokens"))
        return first_time(&u->seen, U_HIT) ? -1 : read_count(r, &u->hit);
    if (KEY_IS(key, n, "cache_creation_input_tokens"))
        return first_time(&u->seen, U_CREATION) ? -1 : read_count(r, &u->creation);
    if (KEY_IS(key, n, "prompt_tokens_details")) {
        if (first_time(&u->seen, U_DETAILS))
            return -1;
        if (zjson_reader_peek(r) != '{')
            return zjson_reader_skip(r); /* not an object: no details */
        return zjson_reader_members(r, details_member, u);
    }
    return zjson_reader_skip(r);
}

/* The usage object at r, into u as tr_dec_usage_c fills it. */
static int read_usage(struct zjson_reader *r, struct tr_usage *out)
{
    struct usage_read u = {.seen = 0};
    if (zjson_reader_members(r, usage_member, &u) != 0)
        return -1;
    *out = (struct tr_usage){.input_total = 0};
    if (u.prompt.has) {
        out->input_total = u.prompt.v;
        out->has_input = 1;
    }
    const struct count *read = u.cached.has ? &u.cached : &u.hit; /* DeepSeek's second */
    if (read->has) {
        out->cache_read = read->v;
        out->has_input = out->has_cache_read = 1;
    }
    const struct count *write = u.creation.has ? &u.creation : &u.write;
    if (write->has) {
        out->cache_write = write->v;
        out->has_input = out->has_cache_write = 1;
    }
    if (u.completion.has) {
        out->output = u.completion.v;
        out->has_output = 1;
    }
    return 0;
}

/* ---- the chunk ---- */

enum { R_ERROR = 1, R_USAGE = 2, R_CHOICES = 4, R_ID = 8, R_MODEL = 16 };

struct root {
    unsigned seen;
    struct tr_chunk *c;
};

/* The choices array: the first object whose index is absent or 0 is the
 * one (c_choice in tr_decode_c.c); every object in it must be plain. */
static int read_choices(struct zjson_reader *r, struct tr_chunk *c)
{
    if (zjson_reader_peek(r) != '[')
        return zjson_reader_skip(r); /* not an array: no choice */
    int more = zjson_reader_enter(r);
    while (more > 0) {
        if (zjson_reader_peek(r) != '{') {
            if (zjson_reader_skip(r) != 0) /* not an object: never the one */
                return -1;
        } else {
            struct choice ch = {.seen = 0};
            if (zjson_reader_members(r, choice_member, &ch) != 0 || !ch.has_delta)
                return -1;
            if (!c->has_choice && (!(ch.seen & C_INDEX) || ch.index_zero)) {
                c->has_choice = 1;
                c->reasoning = ch.reasoning_content.s ? ch.reasoning_content : ch.reasoning;
                c->content = ch.content;
                memcpy(c->finish, ch.finish, sizeof(c->finish));
            }
        }
        more = zjson_reader_next(r, ']');
    }
    return more;
}

static int root_member(struct zjson_reader *r, const char *key, size_t n, void *ud)
{
    struct root *rt = ud;
    if (KEY_IS(key, n, "error")) /* only null is no error */
        return first_time(&rt->seen, R_ERROR) || zjson_reader_peek(r) != 'n'
                   ? -1 : zjson_reader_skip(r);
    if (KEY_IS(key, n, "usage")) {
        if (first_time(&rt->seen, R_USAGE))
            return -1;
        if (zjson_reader_peek(r) != '{')
            return zjson_reader_skip(r); /* not an object: no usage */
        rt->c->has_usage = 1;
        return read_usage(r, &rt->c->usage);
    }
    if (KEY_IS(key, n, "id"))
        return first_time(&rt->seen, R_ID) ? -1 : read_str(r, &rt->c->id);
    if (KEY_IS(key, n, "model"))
        return first_time(&rt->seen, R_MODEL) ? -1 : read_str(r, &rt->c->model);
    if (KEY_IS(key, n, "choices"))
        return first_time(&rt->seen, R_CHOICES) ? -1 : read_choices(r, rt->c);
    return zjson_reader_skip(r);
}

int tr_chunk_scan(const char *data, size_t len, struct tr_chunk *c)
{
    struct zjson_reader r;
    struct root rt = {.seen = 0, .c = c};
    *c = (struct tr_chunk){.has_choice = 0};
    zjson_reader_init(&r, data, len);
    if (zjson_reader_peek(&r) != '{' || zjson_reader_members(&r, root_member, &rt) != 0 ||
        zjson_reader_end(&r) != 0)
        return 0;
    return 1;
}

/* ---- the memo ---- */

void tr_chunk_memo_fini(struct tr_chunk_memo *m)
{
    free(m->buf);
    *m = (struct tr_chunk_memo){.buf = NULL};
}

/* A string of the remembered facts, moved from `from` to `to` (a chunk of
 * to_len bytes that has the memo's bytes around its varying token). */
static void rebase(const struct tr_chunk_memo *m, struct tr_chunk_str *v, const char *to,
                   size_t to_len)
{
    if (!v->s)
        return;
    size_t off = (size_t)(v->s - m->buf);
    v->s = to + (off < m->tok ? off : off + to_len - m->len);
}

/* The memo's chunk with another string token in its place: 1 and *c. */
static int memo_hit(const struct tr_chunk_memo *m, const char *data, size_t len,
                    struct tr_chunk *c)
{
    size_t tail = m->len - m->tok_end;
    if (!m->buf || len < m->tok + tail + 2 || data[m->tok] != '"' ||
        memcmp(data, m->buf, m->tok) != 0 || memcmp(data + len - tail, m->buf + m->tok_end, tail) != 0)
        return 0;
    struct zjson_reader r;
    struct tr_chunk_str v;
    zjson_reader_init(&r, data + m->tok, len - tail - m->tok);
    if (zjson_reader_string(&r, &v.s, &v.len, &v.escaped) != 0 || zjson_reader_end(&r) != 0 ||
        r.p != (const unsigned char *)data + len - tail || v.len == 0)
        return 0; /* not one string token, or an empty one (another key may count then) */
    *c = m->c;
    rebase(m, &c->id, data, len);
    rebase(m, &c->model, data, len);
    if (m->tok_is_content) {
        rebase(m, &c->reasoning, data, len);
        c->content = v;
    } else {
        c->reasoning = v;
    }
    return 1;
}

/* Remembers a chunk just taken, when it has a varying token. */
static void memo_keep(struct tr_chunk_memo *m, const char *data, size_t len,
                      const struct tr_chunk *c)
{
    const struct tr_chunk_str *tok = c->content.s ? &c->content : &c->reasoning;
    m->len = 0;
    if (!tok->s)
        return;
    if (len > m->cap) {
        char *p = realloc(m->buf, len);
        if (!p)
            return;
        m->buf = p;
        m->cap = len;
    }
    if (!m->buf)
        return;
    memcpy(m->buf, data, len);
    m->len = len;
    m->tok = (size_t)(tok->s - data) - 1;
    m->tok_end = (size_t)(tok->s - data) + tok->len + 1;
    m->tok_is_content = tok == &c->content;
    m->c = *c;
    struct tr_chunk_str *strs[] = {&m->c.id, &m->c.model, &m->c.reasoning, &m->c.content};
    for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
        if (strs[i]->s)
            strs[i]->s = m->buf + (strs[i]->s - data);
}

int tr_chunk_scan_memo(struct tr_chunk_memo *m, const char *data, size_t len, struct tr_chunk *c)
{
    if (m->len && memo_hit(m, data, len, c))
        return 1;
    if (!tr_chunk_scan(data, len, c)) {
        m->len = 0;
        return 0;
    }
    memo_keep(m, data, len, c);
    return 1;
}
