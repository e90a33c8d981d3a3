/* metrics.c -- counters, latency windows and per-provider figures for the
 * `metrics` RPC.
 *
 * Providers live in a fixed array indexed through a small open-addressing
 * hash table of names, so finding one costs a hash and usually one strcmp,
 * and nothing moves once created: metrics_record never allocates after the
 * first record that names a provider. */
#include "metrics.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "common.h"
#include "log.h"
#include "procself.h"
#include "stats.h"

/* status_codes counts codes 1..999: HTTP status codes have three digits
 * (RFC 9110 §15), so one counter per possible code is 8 KB and no lookup. */
#define METRICS_STATUS_LIMIT 1000

/* Slots of the provider-name hash table: a power of two at least twice the
 * entries it may hold (the named providers plus "(other)"), so linear
 * probing stays short and always finds an empty slot. */
#define METRICS_PROVIDER_SLOTS 1024
_Static_assert((METRICS_PROVIDER_SLOTS & (METRICS_PROVIDER_SLOTS - 1)) == 0,
               "provider slots must be a power of two");
_Static_assert(METRICS_PROVIDER_SLOTS >= 2 * (METRICS_MAX_PROVIDERS + 1),
               "provider hash table must stay at most half full");
_Static_assert(METRICS_PROVIDER_SLOTS >= 2 * (METRICS_MAX_USAGE_PAIRS + 1),
               "usage pair hash table must stay at most half full");
_Static_assert(BUDGET_N_PERIODS == 3, "budget_spend_usd names daily, weekly, monthly");

/* Milliseconds in the JSON keep microsecond precision; beyond this magnitude
 * the scaled value would not fit an int64 and rounding is pointless anyway. */
#define MS_ROUND_LIMIT 1e12

/* The percentiles every latency window reports, and their key infixes. */
static const double report_percentiles[] = {50, 95, 99};
static const char *const report_percentile_names[] = {"p50", "p95", "p99"};
#define N_REPORT_PERCENTILES ZEN_ARRAY_LEN(report_percentiles)

struct metrics_provider {
    char *name;
    uint64_t requests; /* attempts sent to it */
    uint64_t served;   /* requests whose response it relayed */
    uint64_t picked_first; /* routed requests whose candidate list it headed */
    uint64_t errors;   /* failed attempts */
    uint64_t errors_by_type[ZERR__COUNT];
    struct zstats_ring latency; /* attempt durations, ms */
    double latency_sum_ms;      /* of every attempt (the ring keeps the recent ones) */
};

/* Tokens and cost of one (provider, model) pair; counts the provider did not
 * report, and costs without a price, are not in the sums. */
struct metrics_usage_pair {
    char *provider, *model;
    uint64_t input, output, cache_read, cache_write;
    double cost_usd;
};

struct metrics {
    uint64_t requests_total, success_count, rejected_total;
    uint64_t attempts_total, failovers_total;
    uint64_t status_counts[METRICS_STATUS_LIMIT];
    uint64_t errors_by_type[ZERR__COUNT];
    uint64_t requests_by_scenario[ZCFG_N_SCENARIOS];
    uint64_t routed, served_by_first_pick; /* the strategy's decision, and whether it held */
    struct zstats_ring latency, ttfb; /* ms */
    /* metrics_latency_summary's last answer and the number of requests
     * recorded when it was computed: health asks for it every call, and a
     * sort of the window costs far more than the rest of health. */
    uint64_t latency_summary_at;
    struct metrics_latency latency_summary;
    double ttfb_sum_ms;               /* of every request with a first byte */
    uint64_t ttfb_count;
    struct zstats_hist histogram;     /* seconds */

    int64_t in_flight, in_flight_peak, queued;
    int64_t client_connections, client_connections_peak;
    int64_t rss_bytes, rss_peak_bytes, open_fds, open_fds_peak;
    int64_t heap_bytes, fd_limit, threads; /* sampled with rss and fds */
    uint64_t resource_samples;

    /* Entries [0, n_providers) are in use; the last one is only ever
     * METRICS_OTHER_PROVIDER. slots hold index + 1, 0 meaning empty. */
    struct metrics_provider providers[METRICS_MAX_PROVIDERS + 1];
    size_t n_providers;
    uint16_t provider_slots[METRICS_PROVIDER_SLOTS];

    /* The same shape for (provider, model) pairs; the last entry is only
     * ever (METRICS_OTHER_PROVIDER, METRICS_OTHER_PROVIDER). */
    struct metrics_usage_pair pairs[METRICS_MAX_USAGE_PAIRS + 1];
    size_t n_pairs;
    uint16_t pair_slots[METRICS_PROVIDER_SLOTS];

    double budget_spend[BUDGET_N_PERIODS]; /* USD, once budget_spend_set */
    int budget_spend_set;

    /* Sort space for percentiles, sized for the largest window. */
    double *scratch;
};

/* True for a type that counts as an error; ZERR_NONE and values outside the
 * enum do not (they would index past errors_by_type). */
static int is_error_type(int type) { return type > ZERR_NONE && type < ZERR__COUNT; }

static int64_t non_negative(int64_t v) { return v < 0 ? 0 : v; }

static void raise_peak(int64_t *peak, int64_t v)
{
    if (v > *peak)
        *peak = v;
}

/* ---- lifecycle ---- */

struct metrics *metrics_new(void)
{
    struct metrics *m = calloc(1, sizeof(*m));
    if (!m)
        return NULL;
    m->scratch = calloc(METRICS_LATENCY_WINDOW, sizeof(double));
    if (!m->scratch || zstats_ring_init(&m->latency, METRICS_LATENCY_WINDOW) != ZEN_OK ||
        zstats_ring_init(&m->ttfb, METRICS_LATENCY_WINDOW) != ZEN_OK) {
        metrics_free(m);
        return NULL;
    }
    return m;
}

void metrics_free(struct metrics *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->n_providers; i++) {
        free(m->providers[i].name); m->providers[i].name = NULL;
        zstats_ring_free(&m->providers[i].latency);
    }
    for (size_t i = 0; i < m->n_pairs; i++) {
        free(m->pairs[i].provider); m->pairs[i].provider = NULL;
        free(m->pairs[i].model); m->pairs[i].model = NULL;
    }
    zstats_ring_free(&m->latency);
    zstats_ring_free(&m->ttfb);
    free(m->scratch); m->scratch = NULL;
    free(m);
}

/* ---- provider table ---- */

#define FNV_OFFSET 2166136261u
#define FNV_PRIME 16777619u

/* FNV-1a: short, good enough spread for a few hundred short names. */
static uint32_t name_hash_from(uint32_t h, const char *s)
{
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * FNV_PRIME;
    return h;
}

static uint32_t name_hash(const char *s) { return name_hash_from(FNV_OFFSET, s); }

/* The slot holding `name`, or the empty slot where it would go. Terminates
 * because the table is never more than half full. */
static size_t provider_slot(const struct metrics *m, const char *name)
{
    size_t s = name_hash(name) & (METRICS_PROVIDER_SLOTS - 1);
    while (m->provider_slots[s]) {
        const struct metrics_provider *p = &m->providers[m->provider_slots[s] - 1];
        if (strcmp(p->name, name) == 0)
            break;
        s = (s + 1) & (METRICS_PROVIDER_SLOTS - 1);
    }
    return s;
}

/* Creates the entry for `name` in the empty slot `slot`. NULL when out of
 * memory; the attempt is then left out of the per-provider figures and the
 * next record tries again. */
static struct metrics_provider *provider_add(struct metrics *m, size_t slot, const char *name)
{
    if (m->n_providers >= ZEN_ARRAY_LEN(m->providers))
        return NULL; /* cannot happen: only "(other)" is added past the cap */
    struct metrics_provider *p = &m->providers[m->n_providers];
    memset(p, 0, sizeof(*p));
    p->name = strdup(name);
    if (!p->name || zstats_ring_init(&p->latency, METRICS_LATENCY_WINDOW) != ZEN_OK) {
        free(p->name); p->name = NULL;
        return NULL;
    }
    m->n_providers++;
    m->provider_slots[slot] = (uint16_t)m->n_providers;
    return p;
}

/* The entry for `name`, created on first sight. Past METRICS_MAX_PROVIDERS
 * names, new ones share the METRICS_OTHER_PROVIDER entry. NULL for a NULL
 * name or when out of memory. */
static struct metrics_provider *provider_get(struct metrics *m, const char *name)
{
    if (!name)
        return NULL;
    size_t slot = provider_slot(m, name);
    if (m->provider_slots[slot])
        return &m->providers[m->provider_slots[slot] - 1];
    if (m->n_providers < METRICS_MAX_PROVIDERS)
        return provider_add(m, slot, name);
    slot = provider_slot(m, METRICS_OTHER_PROVIDER);
    if (m->provider_slots[slot])
        return &m->providers[m->provider_slots[slot] - 1];
    return provider_add(m, slot, METRICS_OTHER_PROVIDER);
}

/* ---- (provider, model) table ---- */

/* Hashes provider, a NUL, then model: ("ab", "c") and ("a", "bc") differ. */
static size_t pair_slot(const struct metrics *m, const char *provider, const char *model)
{
    uint32_t h = name_hash_from(name_hash(provider) * FNV_PRIME, model);
    size_t s = h & (METRICS_PROVIDER_SLOTS - 1);
    while (m->pair_slots[s]) {
        const struct metrics_usage_pair *p = &m->pairs[m->pair_slots[s] - 1];
        if (strcmp(p->provider, provider) == 0 && strcmp(p->model, model) == 0)
            break;
        s = (s + 1) & (METRICS_PROVIDER_SLOTS - 1);
    }
    return s;
}

/* The entry for (provider, model), created in the empty slot `slot`; NULL
 * when out of memory (the usage is then left out, the next record retries). */
static struct metrics_usage_pair *pair_add(struct metrics *m, size_t slot, const char *provider,
                                           const char *model)
{
    if (m->n_pairs >= ZEN_ARRAY_LEN(m->pairs))
        return NULL; /* cannot happen: only the "(other)" pair is added past the cap */
    struct metrics_usage_pair *p = &m->pairs[m->n_pairs];
    memset(p, 0, sizeof(*p));
    p->provider = strdup(provider);
    p->model = strdup(model);
    if (!p->provider || !p->model) {
        free(p->provider); p->provider = NULL;
        free(p->model); p->model = NULL;
        return NULL;
    }
    m->n_pairs++;
    m->pair_slots[slot] = (uint16_t)m->n_pairs;
    return p;
}

/* As provider_get: past METRICS_MAX_USAGE_PAIRS pairs, new ones share the
 * ("(other)", "(other)") entry. */
static struct metrics_usage_pair *pair_get(struct metrics *m, const char *provider,
                                           const char *model)
{
    size_t slot = pair_slot(m, provider, model);
    if (m->pair_slots[slot])
        return &m->pairs[m->pair_slots[slot] - 1];
    if (m->n_pairs < METRICS_MAX_USAGE_PAIRS)
        return pair_add(m, slot, provider, model);
    slot = pair_slot(m, METRICS_OTHER_PROVIDER, METRICS_OTHER_PROVIDER);
    if (m->pair_slots[slot])
        return &m->pairs[m->pair_slots[slot] - 1];
    return pair_add(m, slot, METRICS_OTHER_PROVIDER, METRICS_OTHER_PROVIDER);
}

static void add_known(uint64_t *sum, int64_t count)
{
    if (count >= 0) /* USAGE_UNKNOWN and nonsense stay out */
        *sum += (uint64_t)count;
}

/* Tokens and cost of a request a provider answered; a request no provider
 * served used nothing upstream and is not counted. */
static void record_usage(struct metrics *m, const struct metrics_record *r)
{
    if (!r->has_usage || !r->provider)
        return;
    struct metrics_usage_pair *p =
        pair_get(m, r->provider, r->model ? r->model : METRICS_UNKNOWN_MODEL);
    if (!p)
        return;
    add_known(&p->input, r->tokens.input);
    add_known(&p->output, r->tokens.output);
    add_known(&p->cache_read, r->tokens.cache_read);
    add_known(&p->cache_write, r->tokens.cache_write);
    if (r->cost_usd >= 0 && r->cost_usd < HUGE_VAL)
        p->cost_usd += r->cost_usd;
}

/* ---- recording ---- */

static void record_attempt(struct metrics *m, const struct metrics_attempt *a)
{
    int failed = is_error_type(a->error_type);
    m->attempts_total++;
    if (failed)
        m->errors_by_type[a->error_type]++;
    struct metrics_provider *p = provider_get(m, a->provider);
    if (!p)
        return;
    p->requests++;
    zstats_ring_add(&p->latency, a->duration_ms);
    p->latency_sum_ms += a->duration_ms;
    if (failed) {
        p->errors++;
        p->errors_by_type[a->error_type]++;
    }
}

/* Counts the attempts, and one failover when they named more than one
 * distinct provider: any name differing from the first one proves it, so
 * this stays O(attempts) without a set. An attempt without a provider name
 * names no provider: it neither sets the first name nor makes a failover. */
static void record_attempts(struct metrics *m, const struct metrics_attempt *attempts,
                            size_t n)
{
    if (!attempts)
        return;
    const char *first = NULL;
    int failover = 0;
    for (size_t i = 0; i < n; i++) {
        const char *name = attempts[i].provider;
        record_attempt(m, &attempts[i]);
        if (!name)
            continue;
        if (!first)
            first = name;
        else if (!failover && strcmp(name, first) != 0)
            failover = 1;
    }
    if (failover)
        m->failovers_total++;
}

void metrics_record(struct metrics *m, const struct metrics_record *r)
{
    m->requests_total++;
    if (r->success)
        m->success_count++;
    if (r->status > 0 && r->status < METRICS_STATUS_LIMIT)
        m->status_counts[r->status]++;
    zstats_ring_add(&m->latency, r->duration_ms);
    zstats_hist_add(&m->histogram, r->duration_ms / 1000.0);
    if (r->ttfb_ms >= 0) {
        zstats_ring_add(&m->ttfb, r->ttfb_ms);
        m->ttfb_sum_ms += r->ttfb_ms;
        m->ttfb_count++;
    }
    if (is_error_type(r->error_type))
        m->errors_by_type[r->error_type]++;
    int sc = r->scenario ? zcfg_scenario_parse(r->scenario) : -1;
    if (sc >= 0)
        m->requests_by_scenario[sc]++;
    if (r->provider) {
        struct metrics_provider *p = provider_get(m, r->provider);
        if (p)
            p->served++;
    }
    if (r->first_pick) {
        struct metrics_provider *p = provider_get(m, r->first_pick);
        if (p)
            p->picked_first++;
        m->routed++;
        if (r->provider && strcmp(r->provider, r->first_pick) == 0)
            m->served_by_first_pick++;
    }
    record_attempts(m, r->attempts, r->n_attempts);
    record_usage(m, r);
}

/* ---- gauges ---- */

void metrics_set_in_flight(struct metrics *m, int64_t in_flight)
{
    m->in_flight = non_negative(in_flight);
    raise_peak(&m->in_flight_peak, m->in_flight);
}

void metrics_set_queued(struct metrics *m, int64_t queued) { m->queued = non_negative(queued); }

void metrics_set_client_connections(struct metrics *m, int64_t n)
{
    m->client_connections = non_negative(n);
    raise_peak(&m->client_connections_peak, m->client_connections);
}

void metrics_note_rejected(struct metrics *m) { m->rejected_total++; }

void metrics_set_budget_spend(struct metrics *m, const double spend[BUDGET_N_PERIODS])
{
    for (int i = 0; i < BUDGET_N_PERIODS; i++)
        m->budget_spend[i] = spend[i] >= 0 && spend[i] < HUGE_VAL ? spend[i] : 0;
    m->budget_spend_set = 1;
}

uint64_t metrics_requests_total(const struct metrics *m) { return m->requests_total; }

/* ---- resources ---- */

void metrics_sample_resources(struct metrics *m)
{
    int64_t v;
    if (procself_rss(&v) == ZEN_OK) {
        m->rss_bytes = v;
        raise_peak(&m->rss_peak_bytes, v);
    }
    if (procself_fds(&v, NULL, NULL) == ZEN_OK) {
        m->open_fds = v;
        raise_peak(&m->open_fds_peak, v);
    }
    if (procself_threads(&v) == ZEN_OK)
        m->threads = v;
    struct mallinfo2 mi = mallinfo2();
    m->heap_bytes = (int64_t)mi.uordblks;
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
        m->fd_limit = rl.rlim_cur == RLIM_INFINITY ? -1 : (int64_t)rl.rlim_cur;
    m->resource_samples++;
}

void metrics_resources(const struct metrics *m, struct metrics_resources *out)
{
    *out = (struct metrics_resources){
        .rss_bytes = m->rss_bytes,
        .open_fds = m->open_fds,
        .heap_bytes = m->heap_bytes,
        .fd_limit = m->fd_limit,
        .threads = m->threads,
        .samples = m->resource_samples,
    };
}

/* ---- JSON ---- */

/* Rounds to 3 decimals without libm: half away from zero. */
static double round_us(double ms)
{
    if (!(ms < MS_ROUND_LIMIT && ms > -MS_ROUND_LIMIT))
        return ms;
    double scaled = ms * 1000.0;
    int64_t k = (int64_t)(scaled + (scaled >= 0 ? 0.5 : -0.5));
    return (double)k / 1000.0;
}

/* Each setter returns nonzero on failure (including a NULL value from an
 * out-of-memory constructor), so callers can OR them and check once. */
static int set_new(json_t *obj, const char *key, json_t *v)
{
    return json_object_set_new(obj, key, v) != 0;
}

static int set_count(json_t *obj, const char *key, uint64_t v)
{
    return set_new(obj, key, json_integer((json_int_t)v));
}

static int set_gauge(json_t *obj, const char *key, int64_t v)
{
    return set_new(obj, key, json_integer((json_int_t)v));
}

static int set_ms(json_t *obj, const char *key, double ms)
{
    return set_new(obj, key, json_real(round_us(ms)));
}

/* <prefix>_p50_ms, _p95_ms, _p99_ms and, when with_max, <prefix>_max_ms. */
static int set_percentiles(json_t *obj, const char *prefix, const struct zstats_ring *ring,
                           double *scratch, int with_max)
{
    double out[N_REPORT_PERCENTILES], max;
    char key[64];
    int bad = 0;
    zstats_ring_percentiles_scratch(ring, report_percentiles, N_REPORT_PERCENTILES, out, &max,
                                    scratch);
    for (size_t i = 0; i < N_REPORT_PERCENTILES; i++) {
        snprintf(key, sizeof(key), "%s_%s_ms", prefix, report_percentile_names[i]);
        bad |= set_ms(obj, key, out[i]);
    }
    if (with_max) {
        snprintf(key, sizeof(key), "%s_max_ms", prefix);
        bad |= set_ms(obj, key, max);
    }
    return bad;
}

static json_t *status_codes_json(const struct metrics *m)
{
    json_t *o = json_object();
    char key[16];
    int bad = !o;
    for (int s = 1; o && s < METRICS_STATUS_LIMIT; s++) {
        if (!m->status_counts[s])
            continue;
        snprintf(key, sizeof(key), "%d", s);
        bad |= set_count(o, key, m->status_counts[s]);
    }
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* Every type name but "none", zeros included: dashboards and the
 * Prometheus exporter see a stable set of series. */
/* Every scenario, zero or not, so a reader never misses a key. */
static json_t *scenarios_json(const struct metrics *m)
{
    json_t *o = json_object();
    for (int sc = 0; o && sc < ZCFG_N_SCENARIOS; sc++)
        if (set_count(o, zcfg_scenario_name(sc), m->requests_by_scenario[sc]))
            break;
    return o;
}

static json_t *errors_by_type_json(const uint64_t counts[ZERR__COUNT])
{
    json_t *o = json_object();
    int bad = !o;
    for (int t = ZERR_NONE + 1; o && t < ZERR__COUNT; t++)
        bad |= set_count(o, zen_error_type_name(t), counts[t]);
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* {bounds_s: [...], counts: [cumulative ..., +Inf], sum_s, count}: counts has
 * one more element than bounds_s, the last being the +Inf bucket (== count). */
static json_t *histogram_json(const struct zstats_hist *h)
{
    json_t *o = json_object(), *bounds = json_array(), *counts = json_array();
    int bad = !o || !bounds || !counts;
    for (size_t i = 0; !bad && i < ZSTATS_HIST_BUCKETS; i++)
        bad |= json_array_append_new(bounds, json_real(zstats_hist_bounds[i])) != 0;
    for (size_t i = 0; !bad && i <= ZSTATS_HIST_BUCKETS; i++)
        bad |= json_array_append_new(
                   counts, json_integer((json_int_t)zstats_hist_cumulative(h, i))) != 0;
    if (bad) {
        json_decref(o);
        json_decref(bounds);
        json_decref(counts);
        return NULL;
    }
    bad |= set_new(o, "bounds_s", bounds);
    bad |= set_new(o, "counts", counts);
    bad |= set_new(o, "sum_s", json_real(h->sum));
    bad |= set_count(o, "count", h->count);
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *resources_json(const struct metrics *m)
{
    json_t *o = json_object();
    int bad = !o;
    if (o) {
        bad |= set_gauge(o, "rss_bytes", m->rss_bytes);
        bad |= set_gauge(o, "rss_peak_bytes", m->rss_peak_bytes);
        bad |= set_gauge(o, "open_fds", m->open_fds);
        bad |= set_gauge(o, "open_fds_peak", m->open_fds_peak);
        bad |= set_gauge(o, "in_flight_peak", m->in_flight_peak);
        bad |= set_gauge(o, "client_connections", m->client_connections);
        bad |= set_gauge(o, "client_connections_peak", m->client_connections_peak);
    }
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *provider_json(const struct metrics_provider *p, double *scratch)
{
    json_t *o = json_object();
    int bad = !o;
    if (o) {
        bad |= set_count(o, "requests", p->requests);
        bad |= set_count(o, "served", p->served);
        bad |= set_count(o, "errors", p->errors);
        bad |= set_new(o, "errors_by_type", errors_by_type_json(p->errors_by_type));
        bad |= set_percentiles(o, "latency", &p->latency, scratch, 0);
        /* The totals Prometheus' summary pairs with the recent percentiles. */
        bad |= set_new(o, "latency_sum_s", json_real(p->latency_sum_ms / 1000.0));
    }
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* Fills `providers` ({name: {...}}), `errors_by_provider` and
 * `picked_first` ({name: n}, every known provider, zeros included) in one
 * pass, in first-seen order. */
static int set_provider_tables(json_t *obj, struct metrics *m)
{
    json_t *providers = json_object(), *errors = json_object(), *first = json_object();
    int bad = !providers || !errors || !first;
    for (size_t i = 0; !bad && i < m->n_providers; i++) {
        const struct metrics_provider *p = &m->providers[i];
        bad |= set_new(providers, p->name, provider_json(p, m->scratch));
        bad |= set_count(errors, p->name, p->errors);
        bad |= set_count(first, p->name, p->picked_first);
    }
    if (bad) {
        json_decref(providers);
        json_decref(errors);
        json_decref(first);
        return 1;
    }
    bad |= set_new(obj, "errors_by_provider", errors);
    bad |= set_new(obj, "picked_first", first);
    bad |= set_new(obj, "providers", providers);
    return bad;
}

static json_t *usage_pair_json(const struct metrics_usage_pair *p)
{
    json_t *o = json_object();
    int bad = !o;
    if (o) {
        bad |= set_new(o, "provider", json_string(p->provider));
        bad |= set_new(o, "model", json_string(p->model));
        bad |= set_count(o, "input", p->input);
        bad |= set_count(o, "output", p->output);
        bad |= set_count(o, "cache_read", p->cache_read);
        bad |= set_count(o, "cache_write", p->cache_write);
        bad |= set_new(o, "cost_usd", json_real(p->cost_usd));
    }
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* [{provider, model, input, ...}] in first-seen order. */
static json_t *tokens_json(const struct metrics *m)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < m->n_pairs; i++) {
        json_t *o = usage_pair_json(&m->pairs[i]);
        if (!o || json_array_append_new(a, o) != 0) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

/* {daily, weekly, monthly}: set only once the budget module has said. */
static int set_budget_spend(json_t *obj, const struct metrics *m)
{
    static const char *const names[BUDGET_N_PERIODS] = {"daily", "weekly", "monthly"};
    if (!m->budget_spend_set)
        return 0;
    json_t *o = json_object();
    int bad = !o;
    for (int i = 0; o && i < BUDGET_N_PERIODS; i++)
        bad |= set_new(o, names[i], json_real(m->budget_spend[i]));
    if (bad) {
        json_decref(o);
        return 1;
    }
    return set_new(obj, "budget_spend_usd", o);
}

json_t *metrics_to_json(struct metrics *m)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    uint64_t errors = m->requests_total - m->success_count;
    double rate = m->requests_total ? (double)m->success_count / (double)m->requests_total : 0;
    int bad = 0;

    bad |= set_count(o, "requests_total", m->requests_total);
    bad |= set_count(o, "success_count", m->success_count);
    bad |= set_count(o, "error_count", errors);
    bad |= set_new(o, "success_rate", json_real(rate));
    bad |= set_gauge(o, "in_flight", m->in_flight);
    bad |= set_gauge(o, "queued", m->queued);
    bad |= set_count(o, "rejected_total", m->rejected_total);
    bad |= set_new(o, "status_codes", status_codes_json(m));

    bad |= set_percentiles(o, "latency", &m->latency, m->scratch, 1);
    bad |= set_percentiles(o, "ttfb", &m->ttfb, m->scratch, 1);
    bad |= set_new(o, "ttfb_sum_s", json_real(m->ttfb_sum_ms / 1000.0));
    bad |= set_count(o, "ttfb_count", m->ttfb_count);
    bad |= set_new(o, "latency_histogram", histogram_json(&m->histogram));

    bad |= set_count(o, "attempts_total", m->attempts_total);
    bad |= set_count(o, "failovers_total", m->failovers_total);
    bad |= set_new(o, "errors_by_type", errors_by_type_json(m->errors_by_type));
    bad |= set_new(o, "requests_by_scenario", scenarios_json(m));
    bad |= set_count(o, "routed_total", m->routed);
    bad |= set_count(o, "served_by_first_pick", m->served_by_first_pick);
    bad |= set_provider_tables(o, m);
    bad |= set_new(o, "tokens", tokens_json(m));
    bad |= set_budget_spend(o, m);

    bad |= set_new(o, "resources", resources_json(m));
    struct zlog_file_report lr;
    zlog_file_report(&lr);
    bad |= set_count(o, "log_write_failed", lr.write_failed);
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* ---- typed summaries ---- */

static void latency_of(const struct zstats_ring *ring, double *scratch, int with_max,
                       struct metrics_latency *out)
{
    double p[N_REPORT_PERCENTILES], max;
    zstats_ring_percentiles_scratch(ring, report_percentiles, N_REPORT_PERCENTILES, p, &max,
                                    scratch);
    _Static_assert(N_REPORT_PERCENTILES == 3, "p50, p95, p99");
    out->p50_ms = round_us(p[0]);
    out->p95_ms = round_us(p[1]);
    out->p99_ms = round_us(p[2]);
    out->max_ms = with_max ? round_us(max) : 0;
}

void metrics_latency_summary(struct metrics *m, struct metrics_latency *out)
{
    /* requests_total + 1: 0 would match a fresh metrics never summarised. */
    if (m->latency_summary_at != m->requests_total + 1) {
        latency_of(&m->latency, m->scratch, 1, &m->latency_summary);
        m->latency_summary_at = m->requests_total + 1;
    }
    *out = m->latency_summary;
}

int metrics_provider_summary(struct metrics *m, const char *name,
                             struct metrics_provider_summary *out)
{
    memset(out, 0, sizeof(*out));
    size_t slot = name ? provider_slot(m, name) : 0;
    if (!name || !m->provider_slots[slot])
        return ZEN_ERR;
    const struct metrics_provider *p = &m->providers[m->provider_slots[slot] - 1];
    out->requests = p->requests;
    out->served = p->served;
    out->errors = p->errors;
    latency_of(&p->latency, m->scratch, 0, &out->latency);
    return ZEN_OK;
}
