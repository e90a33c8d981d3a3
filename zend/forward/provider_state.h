/* provider_state.h -- health of each provider, shared by every profile
 * (docs/operations.md, "Cooldown and circuit").
 *
 * A provider that fails cools down: cooldown_initial_ms, doubling per
 * consecutive failure up to cooldown_max_ms (auth failures use the long auth
 * pair; a 429 with Retry-After cools for exactly that long, capped). When the
 * cooldown ends the circuit is half-open: the next request may try it, and
 * success closes it. While a provider cools after a network, timeout or
 * server failure, an active probe (HEAD base_url) every probe_interval_ms may
 * close the circuit early, so a recovered primary is back within seconds;
 * only a probe answered 2xx-4xx other than 429 does (policy_probe_up).
 * Auth and rate-limit cooldowns are not probed: a HEAD without credentials
 * proves nothing about a bad token or an exhausted quota.
 *
 * The recent error rate health reports is over a time window (the last
 * PSTATE_WINDOW_MS of attempts, in PSTATE_WINDOW_BUCKETS steps), not the last
 * N attempts: a provider that failed once long ago on a quiet machine is not
 * degraded for ever.
 *
 * State is keyed by provider name and survives a config change while the
 * provider's URL and token are unchanged.
 *
 * Lifetime: the table holds one reference to each state, and a request holds
 * one for the attempt it runs. A reload that drops or replaces a provider
 * detaches its state (timers and transfers stop, nothing more is recorded)
 * and drops the table's reference; the memory goes when the last request
 * using it ends, so a reload never frees what a request can still touch. */
#ifndef ZEND_PROVIDER_STATE_H
#define ZEND_PROVIDER_STATE_H

#include <ev.h>
#include <stdint.h>

#include "config.h"
#include "upstream.h"

enum circuit { CIRCUIT_CLOSED, CIRCUIT_OPEN, CIRCUIT_HALF_OPEN };

/* The window of the "recent error rate" health reports: the last 5 minutes
 * of attempts, counted in 30 buckets of 10 s. */
#define PSTATE_WINDOW_MS (5 * 60 * 1000)
#define PSTATE_WINDOW_BUCKETS 30
#define PSTATE_BUCKET_MS (PSTATE_WINDOW_MS / PSTATE_WINDOW_BUCKETS)
/* Fewer attempts than this in the window say nothing about the error rate. */
#define PSTATE_WINDOW_MIN_ATTEMPTS 5

/* Attempts and failures in one PSTATE_BUCKET_MS step of the window. */
struct pstate_bucket {
    int64_t epoch;          /* monotonic ms / PSTATE_BUCKET_MS */
    uint32_t attempts, failures;
};

struct provider_state;

/* One HEAD request to a provider's probe URL in flight: the cooldown probe
 * and the active health check are both one of these (provider_state.c's
 * head_probe_start), differing only in timeout and in what `done` makes of
 * the answer. */
struct pstate_head_probe {
    struct provider_state *s;
    struct upstream_transfer *t;  /* NULL when none is out */
    int status;                   /* the HEAD's status, 0 until one came */
    double started_s;             /* monotonic */
    /* what failed, when it did not come up: "HEAD 503", "connect timeout: ..." */
    int error_type;               /* enum zen_error_type */
    char error[160];
    void (*done)(struct provider_state *s, int up, int status, double latency_ms);
};

struct provider_state {
    char *name;
    char *identity;             /* base_url + token fingerprint */
    int open;                   /* circuit open (cooling, or half-open once it expired) */
    int64_t cooldown_until_ms;  /* monotonic */
    int64_t cooldown_ms;        /* length of the current cooldown */
    int consecutive_failures;
    int last_error_type;        /* enum zen_error_type */
    int last_status;
    char last_error[256];
    /* active probe */
    char *probe_url, *proxy_url, *ca_file;
    int probe_enabled;          /* this cooldown may be closed by a probe */
    ev_timer probe_timer;
    struct pstate_head_probe probe;
    /* runtime disable (provider.disable; never written to zen.json) */
    int disabled;
    int64_t disabled_until_ms;  /* monotonic; 0 = until enabled */
    /* the active health checker (health_check.enabled) */
    ev_timer check_timer;
    struct pstate_head_probe check;
    uint64_t check_count, check_fail_count;
    int64_t last_check_wall_ms;   /* 0 = never */
    int last_check_ok;
    double check_latency_ms;
    char check_error[160];        /* the last failed check's status or error */
    /* outcomes of the attempts in the last PSTATE_WINDOW_MS, for the recent
     * error rate; attempts_total counts them all (0: no data) */
    struct pstate_bucket window[PSTATE_WINDOW_BUCKETS];
    uint64_t attempts_total;
    /* the openai wire that worked after a fallback (openai_api "auto"):
     * enum tr_format, or -1 for none; forgotten at every reload */
    int learned_wire;
    int model_default_logged;   /* model_default_applied was logged for it */
    /* time to first byte of its successful attempts (least-latency, routing.h) */
    double ttfb_ewma_ms;
    uint32_t ttfb_samples;
    struct provider_states *owner;
    int refs;
    int detached;               /* no longer in the table: outcomes are ignored */
};

struct provider_states;

struct provider_states *pstates_new(struct ev_loop *loop, struct upstream *up);
void pstates_free(struct provider_states *ps);
/* Brings the table in line with cfg: new providers get fresh state, a
 * provider whose URL or token changed starts over, others keep theirs. */
void pstates_apply_config(struct provider_states *ps, const struct zcfg *cfg);
struct provider_state *pstates_get(struct provider_states *ps, const char *name);
/* The state of exactly this provider (name, URL and token), or NULL: a
 * request still running on an older config must not blame or consult the
 * state of a provider that has since been given another URL or token. */
struct provider_state *pstates_lookup(struct provider_states *ps,
                                      const struct zcfg_provider *p);

/* References for the requests that use a state across a reload. */
struct provider_state *pstate_ref(struct provider_state *s);
void pstate_unref(struct provider_state *s);

/* Number of states and the i-th, for listings. */
size_t pstates_count(const struct provider_states *ps);
struct provider_state *pstates_at(struct provider_states *ps, size_t i);

/* Active checking: every interval_s, HEAD base_url (no credentials) with
 * timeout_s; status < 500 counts as up. Restartable any number of times. */
void pstates_health_check(struct provider_states *ps, int enabled, double interval_s,
                          double timeout_s);
int pstates_health_check_running(const struct provider_states *ps);
/* Probes and checks in flight (transfers not owned by any request). */
size_t pstates_active_transfers(const struct provider_states *ps);

/* for_ms <= 0: until enabled again. */
void pstate_disable(struct provider_state *s, int64_t for_ms);
void pstate_enable(struct provider_state *s);
int pstate_disabled(const struct provider_state *s, int64_t now_ms);
/* state.json (zend/state_file.h) is told through fn(ud) whenever what it
 * keeps changes: a disable or enable, a cooldown opening or closing, a
 * failure's details, a learned wire. fn NULL: nobody is told. */
void pstates_set_on_change(struct provider_states *ps, void (*fn)(void *ud), void *ud);
/* One more successful attempt's time to first byte, into the EWMA. */
void pstate_note_ttfb(struct provider_state *s, double ttfb_ms);
/* The openai wire a fallback taught (enum tr_format); tells on_change. */
void pstate_learn_wire(struct provider_state *s, int wire);
/* A cooldown restored from state.json gets its probe timer back (when the
 * cooldown is one a probe may close). */
void pstate_resume_probe(struct provider_state *s);
/* Attempts and failures in the window ending at now_ms (monotonic). */
void pstate_window_counts(const struct provider_state *s, int64_t now_ms, uint32_t *attempts,
                          uint32_t *failures);
/* Share of the window's attempts that succeeded (1 with none). */
double pstate_success_rate(const struct provider_state *s, int64_t now_ms);

enum circuit pstate_circuit(const struct provider_state *s, int64_t now_ms);
const char *pstate_circuit_name(enum circuit c);
/* Cooling: open and the cooldown has not run out (not yet half-open). */
int pstate_cooling(const struct provider_state *s, int64_t now_ms);
int64_t pstate_cooldown_remaining_ms(const struct provider_state *s, int64_t now_ms);
void pstate_success(struct provider_state *s, const char *reason);
/* retry_after_ms < 0: none given. */
void pstate_failure(struct provider_state *s, int error_type, int status, const char *detail,
                    int64_t retry_after_ms);
/* The same for a failure of a request that already cooled s (a same-provider
 * retry, policy_cooled_earlier): counted and the cooldown restarted, but not
 * doubled again: one request doubles a provider's cooldown at most once. */
void pstate_failure_again(struct provider_state *s, int error_type, int status,
                          const char *detail, int64_t retry_after_ms);

/* ---- reports (issue 9: typed, not JSON; the RPC edge serialises them) ---- */

/* A provider whose recent attempts fail this often is degraded. */
#define PSTATE_DEGRADED_ERROR_RATE 0.05

/* What health and providers say of one provider. */
enum pstatus {
    PSTATUS_UNKNOWN,   /* no attempt and no check yet */
    PSTATUS_HEALTHY,
    PSTATUS_DEGRADED,  /* half-open, recent errors above the rate, or last check failed
                        * (enum pdegraded says which) */
    PSTATUS_UNHEALTHY, /* circuit open: cooling down */
    PSTATUS_DISABLED,  /* zen.json's disabled_providers, or provider.disable */
};

/* Why a provider is degraded (the first that applies). */
enum pdegraded {
    PDEGRADED_NO,
    PDEGRADED_HALF_OPEN,  /* its cooldown ran out; no success since */
    PDEGRADED_ERRORS,     /* >= PSTATE_DEGRADED_ERROR_RATE of >= PSTATE_WINDOW_MIN_ATTEMPTS */
    PDEGRADED_CHECK,      /* the last active health check failed */
};

struct pstate_report {
    const char *name;        /* borrowed from the state */
    enum pstatus status;
    enum circuit circuit;
    int disabled;
    /* While disabled: how long until it comes back by itself, the later of
     * zen.json's disabled_providers expiry and a provider.disable --for;
     * PSTATE_DISABLED_UNTIL_ENABLED when one of them has no end. 0 when not
     * disabled. disabled_by_config/_runtime say which of the two holds it. */
    int64_t disabled_remaining_ms;
    int disabled_by_config, disabled_by_runtime;
    int64_t cooldown_remaining_ms;
    int consecutive_failures;
    int last_error_type;     /* enum zen_error_type, 0 when none */
    int last_status;         /* the last failure's HTTP status, 0 when none */
    const char *last_error;  /* borrowed; "" when none */
    enum pdegraded degraded_by;
    uint32_t window_attempts, window_failures; /* in the last PSTATE_WINDOW_MS */
    const char *check_error; /* borrowed: the last failed check's error, "" when none */
    int64_t last_check_wall_ms; /* 0 = never */
    double check_latency_ms;
    double success_rate;
    uint64_t check_count, check_fail_count;
    const char *wire;        /* "anthropic", "chat", "responses" or "auto" (wire.h) */
    int wire_learned;        /* wire was learned from a fallback, not configured */
    double ttfb_ewma_ms;     /* of successful attempts; 0 with no sample */
    uint32_t ttfb_samples;
};

#define PSTATE_DISABLED_UNTIL_ENABLED (-1)

/* The one rule for "disabled": listed in cfg's disabled_providers and not
 * yet expired (now_wall_s), or switched off at run time (provider.disable)
 * and not yet due back (now_mono_ms). s may be NULL (no state: only the
 * config decides). */
int pstate_is_disabled(const struct zcfg *cfg, const struct provider_state *s,
                       const char *name, int64_t now_wall_s, int64_t now_mono_ms);
/* The same for a provider known by name only (the request path). */
int pstates_provider_disabled(struct provider_states *ps, const struct zcfg *cfg,
                              const char *name, int64_t now_wall_s);
/* Fills r from s at the given moments (one pair for a whole listing). */
void pstate_report(const struct provider_state *s, const struct zcfg *cfg, int64_t now_wall_s,
                   int64_t now_mono_ms, struct pstate_report *r);
/* "unknown", "healthy", "degraded", "unhealthy", "disabled". */
const char *pstatus_name(enum pstatus st);
/* The one rule for "up": it can take traffic (not cooling, not switched
 * off). Unknown counts as up: nothing says otherwise. */
int pstatus_up(enum pstatus st);

#endif
