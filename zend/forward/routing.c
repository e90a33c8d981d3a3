/* routing.c -- scenario classification and candidate ordering (routing.h). */
#include "routing.h"

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "prices.h"
#include "rewrite.h"
#include "tr_request.h"
#include "tr_types.h"
#include "zjson.h"

#define BIT(sc) (1u << (sc))
#define KEY_MAX 320 /* "<profile>:<scenario>" */

/* ---- facts ---- */

static int starts_with(const char *s, const char *prefix)
{
    return s && strncmp(s, prefix, strlen(prefix)) == 0;
}

static const char *str_of(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

static int has_web_search_tool(const json_t *doc)
{
    size_t i;
    const json_t *t;
    json_array_foreach(json_object_get(doc, "tools"), i, t)
        if (starts_with(str_of(t, "type"), "web_search"))
            return 1;
    return 0;
}

static int effort_thinks(const json_t *effort)
{
    const char *e = json_string_value(effort);
    return e && strcmp(e, "none") != 0 && strcmp(e, "minimal") != 0;
}

static int wants_thinking(int format, const json_t *doc)
{
    if (format == TR_FORMAT_A) {
        const json_t *th = json_object_get(doc, "thinking");
        const char *type = str_of(th, "type");
        return json_is_true(th) ||
               (type && (!strcmp(type, "enabled") || !strcmp(type, "adaptive")));
    }
    if (format == TR_FORMAT_C)
        return effort_thinks(json_object_get(doc, "reasoning_effort"));
    return effort_thinks(json_object_get(json_object_get(doc, "reasoning"), "effort"));
}

/* Does a content array hold a part of this type (or, for A, inside a
 * tool_result's content)? */
static int content_has(const json_t *content, const char *type)
{
    size_t i;
    const json_t *part;
    json_array_foreach(content, i, part) {
        const char *t = str_of(part, "type");
        if (t && !strcmp(t, type))
            return 1;
        if (t && !strcmp(t, "tool_result") && content_has(json_object_get(part, "content"), type))
            return 1;
    }
    return 0;
}

/* An image in the last user turn only: one old screenshot must not send every
 * later request of the conversation to the image route. */
static int last_user_turn_has_image(int format, const json_t *doc)
{
    const json_t *list = json_object_get(doc, format == TR_FORMAT_R ? "input" : "messages");
    for (size_t i = json_array_size(list); i-- > 0;) {
        const json_t *m = json_array_get(list, i);
        const char *role = str_of(m, "role");
        if (!role || strcmp(role, "user") != 0)
            continue;
        const char *part = format == TR_FORMAT_A   ? "image"
                         : format == TR_FORMAT_C ? "image_url"
                                                 : "input_image";
        return content_has(json_object_get(m, "content"), part);
    }
    return 0;
}

static int contains_ci(const char *s, size_t len, const char *needle)
{
    size_t n = strlen(needle);
    for (size_t i = 0; i + n <= len; i++) {
        size_t k = 0;
        while (k < n && tolower((unsigned char)s[i + k]) == needle[k])
            k++;
        if (k == n)
            return 1;
    }
    return 0;
}

/* The facts from what the rules found: model (len bytes, NULL when the body
 * names none) and the rules' verdicts. */
static void facts_set(struct routing_facts *f, const char *model, size_t len, int web_search,
                      int thinking, int image)
{
    if (model)
        snprintf(f->model, sizeof(f->model), "%.*s", (int)(len < INT_MAX ? len : INT_MAX), model);
    if (web_search)
        f->matches |= BIT(ZCFG_SCENARIO_WEB_SEARCH);
    if (thinking)
        f->matches |= BIT(ZCFG_SCENARIO_THINK);
    if (image)
        f->matches |= BIT(ZCFG_SCENARIO_IMAGE);
    if (model && contains_ci(model, len, "claude") && contains_ci(model, len, "haiku"))
        f->matches |= BIT(ZCFG_SCENARIO_BACKGROUND);
    else if (model && len)
        f->matches |= BIT(ZCFG_SCENARIO_CODE);
}

static void facts_clear(struct routing_facts *f)
{
    memset(f, 0, sizeof(*f));
    f->input_tokens = -1;
    f->matches = BIT(ZCFG_SCENARIO_DEFAULT);
}

void routing_facts_from_doc(int format, const json_t *doc, int want_tokens,
                            struct routing_facts *f)
{
    facts_clear(f);
    if (!json_is_object(doc) || format < TR_FORMAT_A || format > TR_FORMAT_R)
        return;
    const char *model = str_of(doc, "model");
    facts_set(f, model, model ? strlen(model) : 0,
              has_web_search_tool(doc) || (format == TR_FORMAT_C &&
                                           json_is_object(json_object_get(doc, "web_search_options"))),
              wants_thinking(format, doc), last_user_turn_has_image(format, doc));
    if (want_tokens) {
        char err[16];
        json_t *ir = tr_request_parse_doc((enum tr_format)format, doc, err, sizeof(err));
        f->input_tokens = ir ? tr_count_tokens_estimate(ir) : -1;
        json_decref(ir);
    }
}

/* ---- the same facts without a tree ----
 *
 * One pass of zjson's reader over the body, reading exactly what the rules
 * above read and skipping (but checking) the rest. jansson keeps the last of
 * duplicate keys, so each rule keeps the verdict of a key's last occurrence.
 * Anything unusual -- a key or a string the rules read that has escapes, a
 * body that is not a JSON object, a text the reader refuses -- gives up
 * (SCAN_GIVE_UP), and the caller parses: the facts are the tree's on every
 * body (tests/fuzz/fuzz_routing.c holds the two to that). */

#define SCAN_GIVE_UP (-1)
#define SCAN_MAX_DEPTH 64 /* the scan's own recursion stays small */

struct str_span {
    const char *s; /* NULL: not a string (or absent) */
    size_t n;
};

static int span_is(const struct str_span *v, const char *word)
{
    return v->s && v->n == strlen(word) && memcmp(v->s, word, v->n) == 0;
}

/* A value the rules read as a string: its bytes, or a NULL span for any
 * other value (skipped). Escapes give up. */
static int scan_str(struct zjson_reader *r, struct str_span *v)
{
    int escaped;
    v->s = NULL;
    v->n = 0;
    if (zjson_reader_peek(r) != '"')
        return zjson_reader_skip(r);
    if (zjson_reader_string(r, &v->s, &v->n, &escaped) != 0 || escaped)
        return SCAN_GIVE_UP;
    return 0;
}

/* Calls fn for each element of the array at r; any other value is skipped. */
typedef int (*scan_element_fn)(struct zjson_reader *r, void *ud);

static int scan_array(struct zjson_reader *r, scan_element_fn fn, void *ud)
{
    if (zjson_reader_peek(r) != '[')
        return zjson_reader_skip(r);
    int more = zjson_reader_enter(r);
    while (more > 0) {
        if (fn(r, ud) != 0)
            return SCAN_GIVE_UP;
        more = zjson_reader_next(r, ']');
    }
    return more;
}

static int key_is(const char *key, size_t n, const char *word)
{
    return n == strlen(word) && memcmp(key, word, n) == 0;
}

/* One member of an object whose "type" (and, for a content part, "content")
 * the rules read. */
struct typed {
    struct str_span type;
    const char *want;  /* content parts: the part type looked for */
    int nested;        /* content parts: content_has of its "content" */
};

static int scan_content(struct zjson_reader *r, const char *want, int *has);

static int typed_member(struct zjson_reader *r, const char *key, size_t n, void *ud)
{
    struct typed *t = ud;
    if (key_is(key, n, "type"))
        return scan_str(r, &t->type);
    if (t->want && key_is(key, n, "content"))
        return scan_content(r, t->want, &t->nested);
    return zjson_reader_skip(r);
}

/* has_web_search_tool: one element of "tools". */
static int tool_element(struct zjson_reader *r, void *ud)
{
    struct typed t = {{NULL, 0}, NULL, 0};
    if (zjson_reader_members(r, typed_member, &t) != 0)
        return SCAN_GIVE_UP;
    if (t.type.s && t.type.n >= 10 && memcmp(t.type.s, "web_search", 10) == 0)
        *(int *)ud = 1;
    return 0;
}

/* content_has: one part of a content array. */
struct content_scan {
    const char *want;
    int has;
};

static int content_element(struct zjson_reader *r, void *ud)
{
    struct content_scan *c = ud;
    struct typed t = {{NULL, 0}, c->want, 0};
    if (zjson_reader_members(r, typed_member, &t) != 0)
        return SCAN_GIVE_UP;
    if (span_is(&t.type, c->want) || (span_is(&t.type, "tool_result") && t.nested))
        c->has = 1;
    return 0;
}

static int scan_content(struct zjson_reader *r, const char *want, int *has)
{
    struct content_scan c = {want, 0};
    if (r->depth > SCAN_MAX_DEPTH)
        return SCAN_GIVE_UP; /* tool_results nested this deep: the tree's recursion */
    if (scan_array(r, content_element, &c) != 0)
        return SCAN_GIVE_UP;
    *has = c.has;
    return 0;
}

/* last_user_turn_has_image: one element of "messages" / "input". */
struct turn {
    struct str_span role;
    const char *want;
    int has;
};

static int turn_member(struct zjson_reader *r, const char *key, size_t n, void *ud)
{
    struct turn *t = ud;
    if (key_is(key, n, "role"))
        return scan_str(r, &t->role);
    if (key_is(key, n, "content"))
        return scan_content(r, t->want, &t->has);
    return zjson_reader_skip(r);
}

struct turns {
    const char *want;
    int last_user_has; /* the verdict of the last user turn so far */
};

static int turn_element(struct zjson_reader *r, void *ud)
{
    struct turns *ts = ud;
    struct turn t = {{NULL, 0}, ts->want, 0};
    if (zjson_reader_members(r, turn_member, &t) != 0)
        return SCAN_GIVE_UP;
    if (span_is(&t.role, "user"))
        ts->last_user_has = t.has;
    return 0;
}

/* "thinking" (A) is true or {"type": enabled|adaptive}; "reasoning" (R) is
 * {"effort": ...}. */
struct thinking {
    int format;
    struct str_span value; /* A: the type; R: the effort */
};

static int thinking_member(struct zjson_reader *r, const char *key, size_t n, void *ud)
{
    struct thinking *t = ud;
    if (key_is(key, n, t->format == TR_FORMAT_A ? "type" : "effort"))
        return scan_str(r, &t->value);
    return zjson_reader_skip(r);
}

static int span_effort_thinks(const struct str_span *e)
{
    return e->s && !span_is(e, "none") && !span_is(e, "minimal");
}

/* The top object: each rule's verdict from its key's last occurrence. */
struct top_scan {
    int format;
    struct str_span model;
    int web_tools, web_options, thinking, image;
};

static int top_member(struct zjson_reader *r, const char *key, size_t n, void *ud)
{
    struct top_scan *s = ud;
    int f = s->format;
    if (key_is(key, n, "model"))
        return scan_str(r, &s->model);
    if (key_is(key, n, "tools")) {
        s->web_tools = 0;
        return scan_array(r, tool_element, &s->web_tools);
    }
    if (key_is(key, n, f == TR_FORMAT_R ? "input" : "messages")) {
        struct turns ts = {f == TR_FORMAT_A ? "image" : f == TR_FORMAT_C ? "image_url"
                                                                          : "input_image", 0};
        int rc = scan_array(r, turn_element, &ts);
        s->image = ts.last_user_has;
        return rc;
    }
    if (f == TR_FORMAT_C && key_is(key, n, "web_search_options")) {
        s->web_options = zjson_reader_peek(r) == '{';
        return zjson_reader_skip(r);
    }
    if (f == TR_FORMAT_C && key_is(key, n, "reasoning_effort")) {
        struct str_span e;
        int rc = scan_str(r, &e);
        s->thinking = span_effort_thinks(&e);
        return rc;
    }
    if ((f == TR_FORMAT_A && key_is(key, n, "thinking")) ||
        (f == TR_FORMAT_R && key_is(key, n, "reasoning"))) {
        struct thinking t = {f, {NULL, 0}};
        int is_true = zjson_reader_peek(r) == 't';
        int rc = zjson_reader_members(r, thinking_member, &t);
        s->thinking = f == TR_FORMAT_A ? is_true || span_is(&t.value, "enabled") ||
                                             span_is(&t.value, "adaptive")
                                       : span_effort_thinks(&t.value);
        return rc;
    }
    return zjson_reader_skip(r);
}

int routing_scan_facts(int format, const char *body, size_t len, struct routing_facts *f)
{
    facts_clear(f);
    if (format < TR_FORMAT_A || format > TR_FORMAT_R)
        return 0;
    struct zjson_reader r;
    struct top_scan s = {format, {NULL, 0}, 0, 0, 0, 0};
    zjson_reader_init(&r, body, len);
    if (zjson_reader_peek(&r) != '{' || zjson_reader_members(&r, top_member, &s) != 0 ||
        zjson_reader_end(&r) != 0)
        return SCAN_GIVE_UP;
    facts_set(f, s.model.s, s.model.n, s.web_tools || s.web_options, s.thinking, s.image);
    return 0;
}

void routing_read_facts(int format, const char *body, size_t len, int want_tokens,
                        struct routing_facts *f)
{
    if (!want_tokens && routing_scan_facts(format, body, len, f) == 0)
        return;
    json_t *doc = body ? zjson_load(body, len, 0) : NULL;
    routing_facts_from_doc(format, doc, want_tokens, f);
    json_decref(doc);
}

/* ---- classification ---- */

int64_t routing_long_context_threshold(const struct zcfg_profile *p)
{
    const struct zcfg_route *r = &p->routes[ZCFG_SCENARIO_LONG_CONTEXT];
    return r->present && r->long_context_threshold >= 0 ? r->long_context_threshold
                                                        : p->long_context_threshold;
}

void routing_classify(const struct zcfg_profile *p, const struct routing_facts *f,
                      const struct routing_session *s, struct routing_choice *out)
{
    unsigned matches = f->matches | BIT(ZCFG_SCENARIO_DEFAULT);
    out->forget_session = 0;
    if (f->input_tokens >= 0) {
        int64_t t = routing_long_context_threshold(p);
        int64_t last = s && s->known ? s->input_tokens : 0;
        if (last > 0 && (double)f->input_tokens < ROUTING_RESET_RATIO * (double)last) {
            out->forget_session = 1; /* compacted or restarted: no longer long */
            last = 0;
        }
        if (f->input_tokens >= t ||
            (last >= t && f->input_tokens > ROUTING_STICKY_MIN_TOKENS))
            matches |= BIT(ZCFG_SCENARIO_LONG_CONTEXT);
    }
    out->route = -1;
    out->scenario = -1;
    for (int i = 0; i < ZCFG_N_SCENARIOS; i++) {
        int sc = p->scenario_order[i];
        if (!(matches & BIT(sc)))
            continue;
        if (out->scenario < 0 && sc != ZCFG_SCENARIO_DEFAULT)
            out->scenario = sc;
        if (p->routes[sc].present) {
            out->route = sc;
            out->scenario = sc;
            return;
        }
    }
    if (out->scenario < 0)
        out->scenario = ZCFG_SCENARIO_DEFAULT;
}

/* ---- strategy state ---- */

struct current_weight {
    char *provider;
    int64_t current;
};

struct routing_key {
    char *key;
    uint64_t counter;  /* round-robin position */
    uint64_t explore;  /* least-latency requests seen */
    struct current_weight *cw;
    size_t n_cw;
};

struct routing_state {
    struct routing_key *keys;
    size_t n_keys;
};

struct routing_state *routing_state_new(void)
{
    return calloc(1, sizeof(struct routing_state));
}

void routing_state_free(struct routing_state *st)
{
    if (!st)
        return;
    for (size_t i = 0; i < st->n_keys; i++) {
        for (size_t k = 0; k < st->keys[i].n_cw; k++)
            free(st->keys[i].cw[k].provider);
        free(st->keys[i].cw);
        free(st->keys[i].key);
    }
    free(st->keys);
    free(st);
}

static struct routing_key *state_key(struct routing_state *st, const char *key)
{
    for (size_t i = 0; i < st->n_keys; i++)
        if (strcmp(st->keys[i].key, key) == 0)
            return &st->keys[i];
    struct routing_key *grown = realloc(st->keys, (st->n_keys + 1) * sizeof(*grown));
    char *copy = strdup(key);
    if (!grown || !copy) {
        free(copy);
        if (grown)
            st->keys = grown;
        return NULL;
    }
    st->keys = grown;
    struct routing_key *k = &st->keys[st->n_keys++];
    memset(k, 0, sizeof(*k));
    k->key = copy;
    return k;
}

static int64_t *current_weight(struct routing_key *k, const char *provider)
{
    for (size_t i = 0; i < k->n_cw; i++)
        if (strcmp(k->cw[i].provider, provider) == 0)
            return &k->cw[i].current;
    struct current_weight *grown = realloc(k->cw, (k->n_cw + 1) * sizeof(*grown));
    char *copy = strdup(provider);
    if (!grown || !copy) {
        free(copy);
        if (grown)
            k->cw = grown;
        return NULL;
    }
    k->cw = grown;
    k->cw[k->n_cw].provider = copy;
    k->cw[k->n_cw].current = 0;
    return &k->cw[k->n_cw++].current;
}

void routing_state_each(const struct routing_state *st, routing_counter_fn counter,
                        routing_weight_fn weight, void *ud)
{
    for (size_t i = 0; i < st->n_keys; i++) {
        const struct routing_key *k = &st->keys[i];
        counter(ud, k->key, k->counter, k->explore);
        for (size_t j = 0; j < k->n_cw; j++)
            weight(ud, k->key, k->cw[j].provider, k->cw[j].current);
    }
}

void routing_state_restore_counter(struct routing_state *st, const char *key, uint64_t counter,
                                   uint64_t explore)
{
    struct routing_key *k = state_key(st, key);
    if (k) {
        k->counter = counter;
        k->explore = explore;
    }
}

void routing_state_restore_weight(struct routing_state *st, const char *key,
                                  const char *provider, int64_t current)
{
    struct routing_key *k = state_key(st, key);
    int64_t *cw = k ? current_weight(k, provider) : NULL;
    if (cw)
        *cw = current;
}

const char *routing_affinity_provider(const char *session, const struct routing_session *s)
{
    if (!session || strcmp(session, "-") == 0 || !s || !s->known)
        return NULL;
    return s->last_provider;
}

double routing_ewma(double prev, uint32_t samples, double x)
{
    return samples == 0 ? x : prev + ROUTING_EWMA_ALPHA * (x - prev);
}

/* ---- ordering ---- */

/* One policy: the route's or the profile's list and how to order it. */
struct policy {
    const struct zcfg *cfg;
    const struct zcfg_profile *p;
    const struct zcfg_route *route;  /* NULL: the profile's own */
    int strategy;
    int affinity;
    char key[KEY_MAX];
};

static int64_t weight_of(const struct policy *pol, size_t idx)
{
    if (pol->route && pol->route->weights && pol->route->weights[idx] >= 0)
        return pol->route->weights[idx];
    if (pol->p->weights && pol->p->weights[idx] >= 0)
        return pol->p->weights[idx];
    return pol->cfg->providers[idx].weight;
}

static void move_to_front(struct routing_candidate *c, size_t i)
{
    struct routing_candidate pick = c[i];
    memmove(c + 1, c, i * sizeof(*c));
    c[0] = pick;
}

static void order_round_robin(struct routing_key *k, struct routing_candidate *c, size_t n,
                              int advance)
{
    if (!k || n < 2) {
        if (k && advance)
            k->counter++;
        return;
    }
    size_t start = (size_t)(k->counter % n);
    if (advance)
        k->counter++;
    struct routing_candidate tmp[ZCFG_MAX_PROFILE_PROVIDERS * 2];
    for (size_t i = 0; i < n; i++)
        tmp[i] = c[(start + i) % n];
    memcpy(c, tmp, n * sizeof(*c));
}

/* nginx's smooth weighted round-robin: each pick adds every weight to its
 * current weight, takes the largest and subtracts the total from it. */
static void order_weighted(const struct policy *pol, struct routing_key *k,
                           struct routing_candidate *c, size_t n, int advance)
{
    if (!k || n == 0)
        return;
    int64_t w[ZCFG_MAX_PROFILE_PROVIDERS * 2], total = 0;
    int all_zero = 1;
    for (size_t i = 0; i < n; i++) {
        w[i] = weight_of(pol, c[i].provider);
        if (w[i] > 0)
            all_zero = 0;
    }
    for (size_t i = 0; i < n; i++) {
        if (all_zero)
            w[i] = 1;
        total += w[i];
    }
    size_t best = n;
    int64_t best_cw = 0;
    for (size_t i = 0; i < n; i++) {
        if (w[i] <= 0)
            continue;
        int64_t *cw = current_weight(k, pol->cfg->providers[c[i].provider].name);
        int64_t now = (cw ? *cw : 0) + w[i];
        if (advance && cw)
            *cw = now;
        if (best == n || now > best_cw) {
            best = i;
            best_cw = now;
        }
    }
    if (best == n)
        return;
    if (advance) {
        int64_t *cw = current_weight(k, pol->cfg->providers[c[best].provider].name);
        if (cw)
            *cw -= total;
    }
    move_to_front(c, best);
}

static void order_least_latency(struct routing_key *k, struct routing_candidate *c, size_t n,
                                const struct routing_provider_view *views, int advance)
{
    /* Stable insertion sort: ranked ones by EWMA first, the rest in configured order. */
    for (size_t i = 1; i < n; i++) {
        struct routing_candidate x = c[i];
        const struct routing_provider_view *vx = &views[x.provider];
        int rx = vx->ttfb_samples >= ROUTING_MIN_SAMPLES;
        size_t j = i;
        while (j > 0) {
            const struct routing_provider_view *vy = &views[c[j - 1].provider];
            int ry = vy->ttfb_samples >= ROUTING_MIN_SAMPLES;
            int before = rx && (!ry || vx->ttfb_ewma_ms < vy->ttfb_ewma_ms);
            if (!before)
                break;
            c[j] = c[j - 1];
            j--;
        }
        c[j] = x;
    }
    if (!k)
        return;
    uint64_t seen = k->explore;
    if (advance)
        k->explore++;
    if (seen % ROUTING_EXPLORE_EVERY != ROUTING_EXPLORE_EVERY - 1)
        return;
    /* Explore: the provider with the fewest samples (first in configured order). */
    size_t pick = n;
    for (size_t i = 0; i < n; i++) {
        uint32_t s = views[c[i].provider].ttfb_samples;
        if (s < ROUTING_MIN_SAMPLES && (pick == n || s < views[c[pick].provider].ttfb_samples))
            pick = i;
    }
    if (pick < n)
        move_to_front(c, pick);
}

static double price_of(const struct zcfg *cfg, const struct routing_candidate *c,
                       const struct routing_facts *f)
{
    const char *model = c->model;
    if (!model) {
        const char *req = f->model[0] ? f->model : NULL;
        model = rewrite_pick_model(&cfg->providers[c->provider], req,
                                   (f->matches & BIT(ZCFG_SCENARIO_THINK)) != 0);
        if (!model)
            model = req;
    }
    struct model_price mp;
    if (!prices_find(cfg, model, &mp))
        return -1;
    return mp.input_per_million + mp.output_per_million;
}

static void order_least_cost(const struct zcfg *cfg, struct routing_candidate *c, size_t n,
                             const struct routing_facts *f)
{
    double price[ZCFG_MAX_PROFILE_PROVIDERS * 2];
    for (size_t i = 0; i < n; i++)
        price[i] = price_of(cfg, &c[i], f);
    for (size_t i = 1; i < n; i++) {
        struct routing_candidate x = c[i];
        double px = price[i];
        size_t j = i;
        while (j > 0 && px >= 0 && (price[j - 1] < 0 || px < price[j - 1])) {
            c[j] = c[j - 1];
            price[j] = price[j - 1];
            j--;
        }
        c[j] = x;
        price[j] = px;
    }
}

static int listed(const struct routing_candidate *c, size_t n, size_t provider)
{
    for (size_t i = 0; i < n; i++)
        if (c[i].provider == provider)
            return 1;
    return 0;
}

/* Orders the available part of c[0..n) in place by pol's strategy;
 * affinity_provider, when it is there and the strategy keeps sessions, goes
 * first without the strategy state moving. */
static void order_available(struct routing_state *st, const struct policy *pol,
                            struct routing_candidate *c, size_t n,
                            const struct routing_provider_view *views,
                            const struct routing_facts *f, const char *affinity_provider,
                            int advance)
{
    int s = pol->strategy;
    if (pol->affinity && affinity_provider &&
        (s == ZCFG_STRATEGY_ROUND_ROBIN || s == ZCFG_STRATEGY_WEIGHTED ||
         s == ZCFG_STRATEGY_LEAST_LATENCY)) {
        for (size_t i = 0; i < n; i++) {
            if (strcmp(pol->cfg->providers[c[i].provider].name, affinity_provider) == 0) {
                move_to_front(c, i);
                return;
            }
        }
    }
    struct routing_key *k = s == ZCFG_STRATEGY_FAILOVER || s == ZCFG_STRATEGY_LEAST_COST
                                ? NULL
                                : state_key(st, pol->key);
    switch (s) {
    case ZCFG_STRATEGY_ROUND_ROBIN:
        order_round_robin(k, c, n, advance);
        break;
    case ZCFG_STRATEGY_WEIGHTED:
        order_weighted(pol, k, c, n, advance);
        break;
    case ZCFG_STRATEGY_LEAST_LATENCY:
        order_least_latency(k, c, n, views, advance);
        break;
    case ZCFG_STRATEGY_LEAST_COST:
        order_least_cost(pol->cfg, c, n, f);
        break;
    default:
        break;
    }
}

/* Appends pol's list (minus disabled and already listed) to out, ordered:
 * available by strategy, then cooling in configured order. */
static size_t order_policy(struct routing_state *st, const struct policy *pol,
                           const struct routing_provider_view *views,
                           const struct routing_facts *f, const char *affinity_provider,
                           int advance, struct routing_candidate *out, size_t n_out, size_t max)
{
    struct routing_candidate avail[ZCFG_MAX_PROFILE_PROVIDERS * 2];
    struct routing_candidate cooling[ZCFG_MAX_PROFILE_PROVIDERS * 2];
    size_t na = 0, nc = 0;
    size_t n = pol->route ? pol->route->n_providers : pol->p->n_providers;
    for (size_t i = 0; i < n; i++) {
        struct routing_candidate c = {0, NULL};
        if (pol->route) {
            c.provider = pol->route->providers[i].provider;
            c.model = pol->route->providers[i].model;
        } else {
            c.provider = pol->p->providers[i];
        }
        if (views[c.provider].disabled || listed(out, n_out, c.provider))
            continue;
        if (views[c.provider].cooling)
            cooling[nc++] = c;
        else
            avail[na++] = c;
    }
    order_available(st, pol, avail, na, views, f, affinity_provider, advance);
    for (size_t i = 0; i < na && n_out < max; i++)
        out[n_out++] = avail[i];
    for (size_t i = 0; i < nc && n_out < max; i++)
        out[n_out++] = cooling[i];
    return n_out;
}

static void policy_init(struct policy *pol, const struct zcfg *cfg, const struct zcfg_profile *p,
                        int route)
{
    memset(pol, 0, sizeof(*pol));
    pol->cfg = cfg;
    pol->p = p;
    pol->strategy = p->strategy_kind;
    pol->affinity = p->session_affinity;
    if (route >= 0 && route < ZCFG_N_SCENARIOS && p->routes[route].present) {
        pol->route = &p->routes[route];
        pol->strategy = pol->route->strategy;
        if (pol->route->session_affinity >= 0)
            pol->affinity = pol->route->session_affinity;
        snprintf(pol->key, sizeof(pol->key), "%s:%s", p->name, zcfg_scenario_name(route));
    } else {
        snprintf(pol->key, sizeof(pol->key), "%s", p->name);
    }
}

size_t routing_order(struct routing_state *st, const struct zcfg *cfg,
                     const struct zcfg_profile *p, const struct routing_choice *c,
                     const struct routing_facts *f, const struct routing_provider_view *views,
                     const char *affinity_provider, struct routing_candidate *out, size_t max)
{
    struct policy pol;
    policy_init(&pol, cfg, p, c->route);
    size_t n = order_policy(st, &pol, views, f, affinity_provider, 1, out, 0, max);
    if (pol.route && pol.route->fallback_to_default) {
        struct policy prof;
        policy_init(&prof, cfg, p, -1);
        n = order_policy(st, &prof, views, f, NULL, 0, out, n, max);
    }
    return n;
}
