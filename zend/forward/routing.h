/* routing.h -- which providers a request tries, in which order
 * (docs/routing.md): scenario classification, scenario routes, strategies
 * and session affinity.
 *
 * Everything here is a function of (request facts, config, provider views,
 * session memory, strategy state) with no I/O and no clock of its own, so
 * every rule is unit-tested white-box. The strategy state (round-robin
 * counters, smooth weighted current weights, exploration counters) is the
 * only thing it changes; the caller keeps it across reloads and in
 * state.json. Latency EWMAs live in the provider state (they follow a
 * provider's URL), and reach this module through routing_provider_view. */
#ifndef ZEND_ROUTING_H
#define ZEND_ROUTING_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

#define ROUTING_EWMA_ALPHA 0.2
#define ROUTING_MIN_SAMPLES 5       /* least-latency ranks a provider from this many */
#define ROUTING_EXPLORE_EVERY 20    /* one least-latency request in 20 explores */
#define ROUTING_STICKY_MIN_TOKENS 5000
#define ROUTING_RESET_RATIO 0.2
#define ROUTING_MODEL_MAX 128

/* What classification needs from a request body. */
struct routing_facts {
    char model[ROUTING_MODEL_MAX]; /* "" when the body names none */
    unsigned matches;              /* bit (1u << enum zcfg_scenario) per rule that matched,
                                    * except longContext, which needs the threshold */
    int64_t input_tokens;          /* the count_tokens estimate; -1 = not computed */
};

/* Reads the facts from a client body in format `format` (enum tr_format).
 * A body that is not a JSON object classifies as default. The token
 * estimate (an IR parse) is computed only when want_tokens is set: only a
 * profile with a longContext route needs it; without it the body is
 * scanned, not parsed (routing_scan_facts), unless the scan gives up. */
void routing_read_facts(int format, const char *body, size_t len, int want_tokens,
                        struct routing_facts *f);
/* The same facts without building a tree: one allocation-free pass over
 * the body (routing_read_facts' common case). 0 with *f filled; -1 when it
 * gives up (a body that is not a JSON object, escapes where a rule reads,
 * ...), and then only the tree knows: routing_facts_from_doc. */
int routing_scan_facts(int format, const char *body, size_t len, struct routing_facts *f);
/* The same from the parsed body. */
void routing_facts_from_doc(int format, const json_t *doc, int want_tokens,
                            struct routing_facts *f);

/* What session memory says of the request's session (<profile>:<session>). */
struct routing_session {
    int known;
    int64_t input_tokens;       /* of its last successful response; 0 = none */
    const char *last_provider;  /* NULL = none */
};

struct routing_choice {
    int scenario;        /* enum zcfg_scenario: reported (header, record, metrics) */
    int route;           /* the scenario whose route applies, -1 = the profile's providers */
    int forget_session;  /* the conversation shrank below ROUTING_RESET_RATIO: clear memory */
};

/* The longContext threshold of profile p: its longContext route's, else its own. */
int64_t routing_long_context_threshold(const struct zcfg_profile *p);
/* Picks the scenario and route (docs/routing.md, "Scenarios"). s may be NULL. */
void routing_classify(const struct zcfg_profile *p, const struct routing_facts *f,
                      const struct routing_session *s, struct routing_choice *out);

/* What the ordering needs of one provider's state. */
struct routing_provider_view {
    int disabled;          /* removed from the list */
    int cooling;           /* goes last */
    double ttfb_ewma_ms;
    uint32_t ttfb_samples;
};

/* The provider a session is kept on: its last provider, or NULL for the
 * session "-" (plain /v1 URLs: no conversation to keep together) and for a
 * session memory does not know. */
const char *routing_affinity_provider(const char *session, const struct routing_session *s);

/* The EWMA after one more sample x (the first sample is taken as is). */
double routing_ewma(double prev, uint32_t samples, double x);

struct routing_candidate {
    size_t provider;       /* index into cfg->providers */
    const char *model;     /* the route's override (borrowed from cfg), NULL = none */
};

struct routing_state;
struct routing_state *routing_state_new(void);
void routing_state_free(struct routing_state *st);

/* The ordered candidates for one request (docs/routing.md, "The candidate
 * list" and "Strategies"): the route's or the profile's providers without the
 * disabled ones, ordered by the strategy with cooling ones last, the
 * session's provider first under affinity, then (route with
 * fallback_to_default) the profile's providers not yet listed. views has one
 * entry per cfg->providers. affinity_provider: the session's last provider,
 * NULL when none (or session "-"). Advances the strategy state. Returns the
 * count written to out (at most max). */
size_t routing_order(struct routing_state *st, const struct zcfg *cfg,
                     const struct zcfg_profile *p, const struct routing_choice *c,
                     const struct routing_facts *f, const struct routing_provider_view *views,
                     const char *affinity_provider, struct routing_candidate *out, size_t max);

/* For state.json: each key's counters and smooth weighted current weights;
 * restore puts them back (before any request). */
typedef void (*routing_counter_fn)(void *ud, const char *key, uint64_t counter,
                                   uint64_t explore);
typedef void (*routing_weight_fn)(void *ud, const char *key, const char *provider,
                                  int64_t current);
void routing_state_each(const struct routing_state *st, routing_counter_fn counter,
                        routing_weight_fn weight, void *ud);
void routing_state_restore_counter(struct routing_state *st, const char *key, uint64_t counter,
                                   uint64_t explore);
void routing_state_restore_weight(struct routing_state *st, const char *key,
                                  const char *provider, int64_t current);

#endif
