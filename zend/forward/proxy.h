/* proxy.h -- the data path, one straight line:
 * accept -> parse (http_server) -> guard -> route -> attempt loop (provider
 * selection -> rewrite -> upstream) -> relay (head, body or stream,
 * backpressure) -> record (metrics, log).
 *
 * The admission step (the global limiter) plugs in between route and the
 * attempt loop; draining plugs into proxy_stop_accepting / proxy_in_flight.
 *
 * Where each step lives: proxy.c (entry, admission, draining, lifecycle),
 * limiter.c (slots and the FIFO queue), attempt.c (the attempt loop),
 * policy.c (what an outcome means), forward_headers.c and rewrite.c (the
 * request sent upstream), relay.c (the answer sent back), answer.c (zend's own
 * error bodies), proxy_request.c (the one end of a request: record, free,
 * reply) and sessions.c (active sessions). */
#ifndef ZEND_PROXY_H
#define ZEND_PROXY_H

#include <ev.h>
#include <stddef.h>

#include "config.h"
#include "metrics.h"

struct proxy;
struct provider_states;
struct sessions;
struct routing_state;
struct smem;
struct ledger;
struct budget_tracker;

/* Called once nothing is left in flight after proxy_drain. */
typedef void (*proxy_drained_fn)(void *ctx, unsigned drained, unsigned aborted);

/* Serves listen_fd (already listening; still owned by the caller). Holds its
 * own reference to cfg. */
struct proxy *proxy_new(struct ev_loop *loop, int listen_fd, struct zcfg *cfg,
                        struct metrics *metrics, char *err, size_t errlen);
void proxy_start(struct proxy *px);
/* New requests use cfg; requests in flight keep the config they started with. */
void proxy_set_config(struct proxy *px, struct zcfg *cfg);
void proxy_stop_accepting(struct proxy *px);
/* Aborts whatever is still in flight and frees everything. */
void proxy_free(struct proxy *px);
size_t proxy_in_flight(const struct proxy *px);
size_t proxy_client_connections(const struct proxy *px);
size_t proxy_upstream_transfers(const struct proxy *px);
size_t proxy_queued(const struct proxy *px);
/* Request body bytes received or held right now (daemon.max_body_bytes_total). */
size_t proxy_body_bytes_held(const struct proxy *px);
/* Distinct <profile>:<session> keys seen in the last two hours. */
size_t proxy_active_sessions(const struct proxy *px);
/* Did profile `profile` get a request in the last ten minutes (health)? */
int proxy_profile_recent(const struct proxy *px, const char *profile);
struct provider_states *proxy_provider_states(const struct proxy *px);
/* The session memory (sessions.h), for state.json. */
struct sessions *proxy_sessions(const struct proxy *px);
/* The strategy state and the session memory (docs/routing.md), for
 * state.json and the control socket. */
struct routing_state *proxy_routing_state(const struct proxy *px);
struct smem *proxy_session_memory(const struct proxy *px);
/* The usage ledger each finished request's row goes to (docs/usage.md);
 * NULL while daemon.usage is off. The daemon owns it and sets it here on
 * every open and before every close. */
void proxy_set_ledger(struct proxy *px, struct ledger *l);
/* The budget tracker (budget.h): the spend of the current periods, kept
 * across reloads and whether or not the ledger is on. */
struct budget_tracker *proxy_budget(const struct proxy *px);

/* Graceful shutdown (docs/operations.md, "Limiter and shutdown"): stop accepting, close idle
 * connections, answer queued requests 503, let in-flight ones finish for up
 * to timeout_s, then end the rest (streams with the in-band error event).
 * done runs from the loop once nothing is in flight. */
void proxy_drain(struct proxy *px, double timeout_s, proxy_drained_fn done, void *ctx);

#endif
