/* control.h -- the control socket server (proto/PROTOCOL.md).
 *
 * A Unix stream socket, 0600 inside the 0700 home. Every accepted peer is
 * checked with SO_PEERCRED: only zend's own euid (or root) may talk to it.
 * A second, read-only server (daemon.control_read_socket, 0660) also admits
 * the peers its admission function accepts; its connections say so
 * (control_conn_read_only) and the dispatch function decides what they may
 * call.
 * Frames go through proto/'s bounded reader; a peer that sends garbage is
 * answered (when a msgid could be read) and closed, and nobody else notices.
 *
 * This is the transport only (the Knot/relayd shape): accept, peer check,
 * framing, idle and frame deadlines, output bounds and subscriptions. What a
 * method does, and whether it may run now (draining), is decided by the
 * dispatch function given to control_new (control_methods.c); the server
 * never looks at the daemon. */
#ifndef ZEND_CONTROL_H
#define ZEND_CONTROL_H

#include <ev.h>
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common.h"
#include "log.h"
#include "rpc.h"

/* More control clients than this at once is a runaway script. */
#define CONTROL_MAX_CONNECTIONS 64
/* A client that does not read its answers is dropped past this. */
#define CONTROL_MAX_OUTPUT_BYTES (4u * 1024 * 1024)
/* A log subscriber's queue: records beyond it push the oldest out (counted
 * and reported as log_dropped), so a subscriber that never reads costs at
 * most this many records plus CONTROL_SUB_OUTPUT_BYTES of encoded output. */
#define CONTROL_LOG_QUEUE 1024
#define CONTROL_SUB_OUTPUT_BYTES (256u * 1024)
#define CONTROL_MIN_METRICS_INTERVAL_MS 100
/* Best-effort time to flush answers when zend exits. */
#define CONTROL_EXIT_FLUSH_MS 1000
/* A connection that is not subscribed (logs, metrics, shutdown.done) is
 * closed after this long without a complete frame; a frame, once started,
 * must be complete within CONTROL_FRAME_TIMEOUT_MS. Tests shorten both
 * through the environment. When every slot is taken, a new peer evicts the
 * least recently active unsubscribed connection, so idle or half-sent
 * connections can never lock zenctl out. */
#define CONTROL_IDLE_TIMEOUT_MS 60000
#define CONTROL_FRAME_TIMEOUT_MS 5000
#define CONTROL_TEST_IDLE_ENV "ZEND_TEST_CONTROL_IDLE_MS"
#define CONTROL_TEST_FRAME_ENV "ZEND_TEST_CONTROL_FRAME_MS"

struct control_server;
struct control_conn;

struct rpc_error {
    int code;
    char message[ZEN_ERRLEN];
};

/* Answers one request: the result map (a new reference), or NULL with err
 * filled in (an err.code of 0 becomes RPC_ERR_INTERNAL). c is the caller's
 * connection, for methods that subscribe it. ctx is control_new's. */
typedef json_t *(*control_dispatch_fn)(void *ctx, struct control_conn *c, const char *method,
                                       const json_t *params, struct rpc_error *err);
/* Builds one periodic notification's payload (a new reference), or NULL to
 * skip this tick. */
typedef json_t *(*control_produce_fn)(void *ctx);
/* May a peer of the read-only socket that is neither zend's user nor root
 * (uid and primary gid from SO_PEERCRED) use it? */
typedef int (*control_peer_fn)(void *ctx, uid_t uid, gid_t gid);

/* Binds and listens on path (mode 0600), replacing a stale socket file
 * nobody answers on. Refuses when another process answers there. Returns the
 * fd (the supervisor keeps it across worker restarts) or -1 with err. */
int control_bind(const char *path, char *err, size_t errlen);
/* The same for the read-only socket: mode 0660, group gid (-1: zend's own). */
int control_bind_shared(const char *path, gid_t gid, char *err, size_t errlen);
/* Serves an already listening control socket; every request goes to
 * dispatch(ctx, ...). NULL when out of memory. */
struct control_server *control_new(int listen_fd, control_dispatch_fn dispatch, void *ctx);
/* Serves the read-only socket: peers allow(ctx, ...) accepts, and zend's
 * own user and root, get in; the others are refused with error 5. */
struct control_server *control_new_read_only(int listen_fd, control_dispatch_fn dispatch,
                                             void *ctx, control_peer_fn allow);
/* Did c come in through the read-only socket? */
int control_conn_read_only(const struct control_conn *c);
/* Starts serving on loop; with accept 0 the server takes its peers only
 * through control_adopt (control_front.h accepts them on its thread). */
void control_start(struct control_server *s, struct ev_loop *loop, int accept);

/* A connection accepted elsewhere (control_front.c), handed over with what
 * its first owner read but did not answer (in), the answers it has not
 * sent yet (out), and its deadline clocks (ztime_mono_ms; 0 = none), so
 * the peer sees one connection whose answers keep their order. */
struct control_handoff {
    int fd;
    const void *in;
    size_t inlen;
    const void *out;
    size_t outlen;
    int64_t last_frame_ms;    /* accepted, or the last complete frame */
    int64_t frame_started_ms; /* the incomplete frame's first byte */
};
/* Takes the connection over: the peer check and the connection cap apply as
 * to a peer accepted here; the buffered requests are answered at once. */
void control_adopt(struct control_server *s, const struct control_handoff *h);
/* The idle and frame deadlines every control connection gets (the test
 * environment may shorten them). */
void control_deadlines(int64_t *idle_ms, int64_t *frame_ms);
/* Flushes what can be flushed and closes every connection. The listening
 * socket and its file stay: they belong to whoever called control_bind. */
void control_close(struct control_server *s);

/* ---- deferred answers ----
 * A method that answers later (its work runs off the loop) calls
 * control_reply_defer(c) while it is being dispatched and returns NULL: the
 * server then sends nothing for that request. The token outlives the
 * connection: control_reply_send answers if the connection is still open,
 * does nothing if it closed meanwhile, and frees the token either way. The
 * owner must send every token once (an error is fine: a server that shuts
 * down leaves the owner's tokens valid, pointing nowhere). */
struct control_reply;
struct control_reply *control_reply_defer(struct control_conn *c);
/* Answers with result (a reference taken over) or, when result is NULL,
 * with err (NULL or code 0: RPC_ERR_INTERNAL). Frees r. */
void control_reply_send(struct control_reply *r, json_t *result, const struct rpc_error *err);
/* Answers not yet sent on this server's open connections. */
size_t control_pending_replies(const struct control_server *s);

/* This connection wants the shutdown.done notification before zend exits. */
void control_conn_want_shutdown_done(struct control_conn *c);
/* Sends shutdown.done (summary is borrowed) to every connection that asked. */
void control_notify_shutdown_done(struct control_server *s, const json_t *summary);

size_t control_connection_count(const struct control_server *s);

/* Hands a new log record (its JSON line) to every matching log subscriber;
 * the line is parsed once, and only if someone wants it. */
void control_publish_log(struct control_server *s, int level, const char *event,
                         const char *line, size_t len);
/* Makes c a log subscriber: backlog (references taken over) is queued first;
 * without follow a log.end notification ends the subscription. The queue
 * starts draining after the current answer is written. */
void control_conn_subscribe_logs(struct control_conn *c, json_t **backlog, size_t n,
                                 const struct log_filter *f, int follow);
void control_conn_unsubscribe_logs(struct control_conn *c);
/* Pushes [notification, [produce(ctx)]] every interval_s on c (notification
 * is a static string), skipping a tick while c's output is over
 * CONTROL_SUB_OUTPUT_BYTES (it is not reading). A second call replaces the
 * first. */
void control_conn_subscribe_ticks(struct control_conn *c, const char *notification,
                                  double interval_s, control_produce_fn produce, void *ctx);

#endif
