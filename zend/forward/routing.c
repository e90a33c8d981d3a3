/* routing.c -- scenario classification and candidate ordering (routing.h). */
#include "routing.h"

#include <ctype.h>
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

static int contains_ci(const char *s, const char *needle)
{
    size_t n = strlen(needle);
    for (; *s; s++) {
        size_t k = 0;
        while (k < n && s[k] && tolower((unsigned char)s[k]) == needle[k])
            k++;
        if (k == n)
            return 1;
    }
    return 0;
}

void routing_facts_from_doc(int format, const json_t *doc, int want_tokens,
                            struct routing_facts *f)
{
    memset(f, 0, sizeof(*f));
    f->input_tokens = -1;
    f->matches = BIT(ZCFG_SCENARIO_DEFAULT);
    if (!json_is_object(doc) || format < TR_FORMAT_A || format > TR_FORMAT_R)
        return;
    const char *model = str_of(doc, "model");
    if (model)
        snprintf(f->model, sizeof(f->model), "%s", model);
    if (has_web_search_tool(doc) ||
        (format == TR_FORMAT_C && json_is_object(json_object_get(doc, "web_search_options"))))
        f->matches |= BIT(ZCFG_SCENARIO_WEB_SEARCH);
    if (wants_thinking(format, doc))
        f->matches |= BIT(ZCFG_SCENARIO_THINK);
    if (last_user_turn_has_image(format, doc))
        f->matches |= BIT(ZCFG_SCENARIO_IMAGE);
    if (model && contains_ci(model, "claude") && contains_ci(model, "haiku"))
        f->matches |= BIT(ZCFG_SCENARIO_BACKGROUND);
    else if (model && *model)
        f->matches |= BIT(ZCFG_SCENARIO_CODE);
    if (want_tokens) {
        char err[16];
        json_t *ir = tr_request_parse_doc((enum tr_format)format, doc, err, sizeof(err));
        f->input_tokens = ir ? tr_count_tokens_estimate(ir) : -1;
        json_decref(ir);
    }
}

void routing_read_facts(int format, const char *body, size_t len, int want_tokens,
                        struct routing_facts *f)
{
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
