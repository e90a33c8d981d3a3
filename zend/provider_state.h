/* provider_state.h -- health of each provider, shared by every profile
 * (proxy.md §5).
 *
 * A provider that fails cools down: cooldown_initial_ms, doubling per
 * consecutive failure up to cooldown_max_ms (auth failures use the long auth
 * pair; a 429 with Retry-After cools for exactly that long, capped). When the
 * cooldown ends the circuit is half-open: the next request may try it, and
 * success closes it. While a provider cools after a network, timeout or
 * server failure, an active probe (HEAD base_url) every probe_interval_ms may
 * close the circuit early, so a recovered primary is back within seconds.
 * Auth and rate-limit cooldowns are not probed: a HEAD without credentials
 * proves nothing about a bad token or an exhausted quota.
 *
 * State is keyed by provider name and survives a config change while the
 * provider's URL and token are unchanged. */
#ifndef ZEND_PROVIDER_STATE_H
#define ZEND_PROVIDER_STATE_H

#include <ev.h>
#include <stdint.h>

#include "config.h"
#include "upstream.h"

enum circuit { CIRCUIT_CLOSED, CIRCUIT_OPEN, CIRCUIT_HALF_OPEN };

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
    struct upstream_transfer *probe;
    struct provider_states *owner;
};

struct provider_states;

struct provider_states *pstates_new(struct ev_loop *loop, struct upstream *up);
void pstates_free(struct provider_states *ps);
/* Brings the table in line with cfg: new providers get fresh state, a
 * provider whose URL or token changed starts over, others keep theirs. */
void pstates_apply_config(struct provider_states *ps, const struct zcfg *cfg);
struct provider_state *pstates_get(struct provider_states *ps, const char *name);

enum circuit pstate_circuit(const struct provider_state *s, int64_t now_ms);
/* Cooling: open and the cooldown has not run out (not yet half-open). */
int pstate_cooling(const struct provider_state *s, int64_t now_ms);
int64_t pstate_cooldown_remaining_ms(const struct provider_state *s, int64_t now_ms);
void pstate_success(struct provider_state *s, const char *reason);
/* retry_after_ms < 0: none given. */
void pstate_failure(struct provider_state *s, int error_type, int status, const char *detail,
                    int64_t retry_after_ms);

#endif
