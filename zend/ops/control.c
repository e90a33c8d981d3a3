#include "control.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "acceptor.h"
#include "common.h"
#include "log.h"
#include "ring.h"
#include "methods.h"
#include "timeutil.h"

#define CONTROL_READ_CHUNK 4096

struct control_conn {
    struct control_server *server;
    LIST_ENTRY(control_conn) link; /* in control_server.conns, newest first */
    int fd;
    ev_io read_io;
    ev_io write_io;
    struct rpc_reader reader;
    zbuf out;
    int closing;            /* close once out is flushed */
    int want_shutdown_done;
    /* log subscription */
    int log_active;
    int log_follow;
    int log_min_level;
    json_t *log_events;             /* filter, or NULL */
    json_t *log_queue[CONTROL_LOG_QUEUE]; /* NULL entry: the log.end marker */
    struct zring log_idx;      /* which log_queue slots are queued, oldest first */
    uint64_t log_dropped;
    /* periodic subscription (metrics.subscribe) */
    int ticks_active;
    ev_timer tick_timer;
    const char *tick_notification; /* static string */
    control_produce_fn tick_produce;
    void *tick_ctx;
    /* idle and per-frame deadlines (conn_arm_deadline) */
    ev_timer deadline_timer;
    int64_t last_frame_ms;     /* accepted, or the last complete frame */
    int64_t frame_started_ms;  /* first byte of the frame still incomplete; 0 = none */
    /* deferred answers (control_reply_defer) */
    uint32_t dispatching_msgid;     /* the request being dispatched */
    int deferred;                   /* its method will answer later */
    LIST_HEAD(, control_reply) replies; /* answers still owed on this connection */
    size_t n_replies;
};

struct control_reply {
    struct control_conn *conn;      /* NULL once the connection closed */
    uint32_t msgid;
    LIST_ENTRY(control_reply) link;
};

struct control_server {
    control_dispatch_fn dispatch;
    void *dispatch_ctx;
    struct ev_loop *loop;
    int fd;                 /* listening socket; owned by whoever bound it */
    struct acceptor acceptor;
    LIST_HEAD(, control_conn) conns;
    size_t nconns;
    int64_t idle_timeout_ms, frame_timeout_ms;
    control_peer_fn allow_reader; /* the read-only socket's admission; NULL on the main one */
    int accepting;          /* accepts its own peers (else control_front hands them over) */
};

static void conn_close(struct control_conn *c);
static void conn_arm_deadline(struct control_conn *c);
static void pump_logs(struct control_conn *c);

/* ---- connection output ---- */

static void conn_flush(struct control_conn *c)
{
    for (;;) {
        pump_logs(c);
        if (zbuf_len(&c->out) == 0)
            break;
        int sent = zbuf_send(&c->out, c->fd);
        if (sent == ZBUF_BLOCKED) {
            ev_io_start(c->server->loop, &c->write_io);
            return;
        }
        if (sent == ZBUF_PEER_GONE) {
            conn_close(c);
            return;
        }
    }
    ev_io_stop(c->server->loop, &c->write_io);
    if (c->closing && !c->n_replies) { /* a half-closed peer still gets what it is owed */
        conn_close(c);
        return;
    }
    conn_arm_deadline(c); /* a drained backlog ends its exemption */
}

static void write_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    struct control_conn *c = w->data;
    conn_flush(c);
    /* conn_flush may have closed c; it only does so when it is closing, and
     * a closing connection has no write watcher left to call us again. */
}

/* Queues output and lets the write watcher send it. Never sends or closes
 * synchronously: this runs from inside arbitrary log calls. */
static void queue_output(struct control_conn *c)
{
    if (zbuf_len(&c->out) > 0)
        ev_io_start(c->server->loop, &c->write_io);
}

/* ---- subscriptions ---- */

static void log_queue_push(struct control_conn *c, json_t *record)
{
    int evicted;
    size_t slot = zring_push(&c->log_idx, CONTROL_LOG_QUEUE, &evicted);
    if (evicted) {
        /* A slow subscriber loses its oldest records, never the daemon's time. */
        json_decref(c->log_queue[slot]);
        c->log_dropped++;
    }
    c->log_queue[slot] = record;
}

/* Moves queued records into the output while it is below the bound. */
static void pump_logs(struct control_conn *c)
{
    while (c->log_idx.len > 0 && zbuf_len(&c->out) < CONTROL_SUB_OUTPUT_BYTES) {
        if (c->log_dropped) {
            json_t *note = json_pack("{s:s, s:I}", "event", "log_dropped", "count",
                                     (json_int_t)c->log_dropped);
            rpc_encode_notification(&c->out, RPC_NOTIFY_LOG, note);
            json_decref(note);
            c->log_dropped = 0;
        }
        json_t *record = c->log_queue[zring_pop(&c->log_idx, CONTROL_LOG_QUEUE)];
        if (record) {
            rpc_encode_notification(&c->out, RPC_NOTIFY_LOG, record);
            json_decref(record);
        } else {
            rpc_encode_notification(&c->out, RPC_NOTIFY_LOG_END, NULL);
        }
    }
}

static void clear_log_subscription(struct control_conn *c)
{
    while (c->log_idx.len > 0)
        json_decref(c->log_queue[zring_pop(&c->log_idx, CONTROL_LOG_QUEUE)]);
    json_decref(c->log_events);
    c->log_events = NULL;
    c->log_active = 0;
    c->log_dropped = 0;
}

void control_publish_log(struct control_server *s, int level, const char *event,
                         const char *line, size_t len)
{
    json_t *record = NULL;
    struct control_conn *c;
    LIST_FOREACH(c, &s->conns, link) {
        if (!c->log_active || !c->log_follow)
            continue;
        struct log_filter f = {c->log_min_level, c->log_events};
        if (!log_filter_match(&f, level, event))
            continue;
        if (!record && !(record = json_loadb(line, len, 0, NULL)))
            return;
        log_queue_push(c, json_incref(record));
        pump_logs(c);
        queue_output(c);
    }
    json_decref(record);
}

void control_conn_subscribe_logs(struct control_conn *c, json_t **backlog, size_t n,
                                 const struct log_filter *f, int follow)
{
    clear_log_subscription(c);
    c->log_active = follow;
    c->log_follow = follow;
    c->log_min_level = f->min_level;
    c->log_events = json_is_array(f->events) ? json_incref((json_t *)f->events) : NULL;
    for (size_t i = 0; i < n; i++)
        log_queue_push(c, backlog[i]);
    if (!follow)
        log_queue_push(c, NULL); /* log.end */
}

void control_conn_unsubscribe_logs(struct control_conn *c) { clear_log_subscription(c); }

static void tick_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct control_conn *c = w->data;
    if (zbuf_len(&c->out) >= CONTROL_SUB_OUTPUT_BYTES)
        return; /* it is not reading: skip this tick rather than pile up */
    json_t *m = c->tick_produce(c->tick_ctx);
    if (m) {
        rpc_encode_notification(&c->out, c->tick_notification, m);
        json_decref(m);
        queue_output(c);
    }
}

void control_conn_subscribe_ticks(struct control_conn *c, const char *notification,
                                  double interval_s, control_produce_fn produce, void *ctx)
{
    ev_timer_stop(c->server->loop, &c->tick_timer);
    c->tick_notification = notification;
    c->tick_produce = produce;
    c->tick_ctx = ctx;
    ev_timer_init(&c->tick_timer, tick_cb, interval_s, interval_s);
    c->tick_timer.data = c;
    ev_timer_start(c->server->loop, &c->tick_timer);
    c->ticks_active = 1;
}

/* ---- idle and frame deadlines ---- */

/* Subscribers wait for zend, not the other way round: no idle timeout (a
 * subscriber that stops reading is bounded by its output caps instead).
 * A log backlog still being sent counts as a subscription until it is out. */
static int conn_subscribed(const struct control_conn *c)
{
    return c->log_active || c->log_idx.len > 0 || c->ticks_active || c->want_shutdown_done;
}

/* The moment c is due to be closed, or 0 for never. */
static int64_t conn_deadline_ms(const struct control_conn *c)
{
    const struct control_server *s = c->server;
    if (c->frame_started_ms)
        return c->frame_started_ms + s->frame_timeout_ms;
    if (!conn_subscribed(c))
        return c->last_frame_ms + s->idle_timeout_ms;
    return 0;
}

static void conn_arm_deadline(struct control_conn *c)
{
    ev_timer_stop(c->server->loop, &c->deadline_timer);
    int64_t due = conn_deadline_ms(c);
    if (!due || (c->closing && !c->n_replies)) /* one waiting for an answer still times out */
        return;
    int64_t left = due - ztime_mono_ms();
    ev_timer_set(&c->deadline_timer, left > 1 ? (double)left / 1000.0 : 0.001, 0.);
    ev_timer_start(c->server->loop, &c->deadline_timer);
}

static void deadline_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct control_conn *c = w->data;
    int64_t due = conn_deadline_ms(c);
    if (!due || ztime_mono_ms() < due) {
        conn_arm_deadline(c); /* the state changed since it was armed */
        return;
    }
    zlog_pack(ZLOG_DEBUG, "control_conn_timeout", "{s:s}", "reason",
              c->frame_started_ms ? "frame incomplete" : "idle");
    conn_close(c);
}

/* ---- dispatch ---- */

static void handle_request(struct control_conn *c, const struct rpc_message *m)
{
    struct control_server *s = c->server;
    struct rpc_error err = {0};
    c->dispatching_msgid = m->msgid;
    c->deferred = 0;
    json_t *result = s->dispatch(s->dispatch_ctx, c, m->method, m->params, &err);
    if (c->deferred) {
        c->deferred = 0;
        json_decref(result); /* the answer comes through control_reply_send */
        return;
    }
    if (!result && err.code == 0) {
        err.code = RPC_ERR_INTERNAL;
        snprintf(err.message, sizeof(err.message), "%s failed", m->method);
    }
    if (result)
        rpc_encode_response(&c->out, m->msgid, NULL, result);
    else
        rpc_encode_error(&c->out, m->msgid, err.code, err.message);
    json_decref(result);
}

/* Handles every complete frame buffered. Returns ZEN_ERR when the peer sent
 * something that is not MessagePack-RPC; the connection is then closing. */
static int process_frames(struct control_conn *c)
{
    for (;;) {
        struct rpc_message m;
        struct rpc_read_error e;
        int rc = rpc_reader_next(&c->reader, &m, &e);
        if (rc == RPC_READ_NEED_MORE) {
            /* Bytes left over start the next frame's clock. */
            if (rpc_reader_pending(&c->reader) == 0)
                c->frame_started_ms = 0;
            else if (!c->frame_started_ms)
                c->frame_started_ms = ztime_mono_ms();
            return ZEN_OK;
        }
        if (rc == RPC_READ_ERROR) {
            zlog_pack(ZLOG_WARN, "control_bad_frame", "{s:s}", "detail", e.message);
            if (e.has_msgid)
                rpc_encode_error(&c->out, e.msgid, RPC_ERR_BAD_PARAMS, e.message);
            return ZEN_ERR;
        }
        c->last_frame_ms = ztime_mono_ms();
        c->frame_started_ms = 0;
        /* Clients send requests; anything else from them is ignored. */
        if (m.type == RPC_REQUEST)
            handle_request(c, &m);
        rpc_message_clear(&m);
        if (zbuf_len(&c->out) > CONTROL_MAX_OUTPUT_BYTES)
            return ZEN_ERR; /* it sends but never reads */
    }
}

static void read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    struct control_conn *c = w->data;
    char buf[CONTROL_READ_CHUNK];
    for (;;) {
        ssize_t n = recv(c->fd, buf, sizeof(buf), 0);
        if (n > 0) {
            if (rpc_reader_feed(&c->reader, buf, (size_t)n) != ZEN_OK ||
                process_frames(c) != ZEN_OK) {
                c->closing = 1;
                break;
            }
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            conn_arm_deadline(c);
            conn_flush(c);
            return;
        }
        /* EOF or error. A half-closed peer may still read its answers. */
        c->closing = 1;
        break;
    }
    ev_io_stop(loop, &c->read_io);
    conn_flush(c);
}

/* ---- connection lifecycle ---- */

static void conn_close(struct control_conn *c)
{
    struct control_server *s = c->server;
    struct control_reply *r;
    while ((r = LIST_FIRST(&c->replies))) {
        LIST_REMOVE(r, link); /* its owner still holds it, and sends into the void */
        r->conn = NULL;
    }
    ev_io_stop(s->loop, &c->read_io);
    ev_io_stop(s->loop, &c->write_io);
    ev_timer_stop(s->loop, &c->tick_timer);
    ev_timer_stop(s->loop, &c->deadline_timer);
    clear_log_subscription(c);
    close(c->fd);
    rpc_reader_free(&c->reader);
    zbuf_free(&c->out);
    LIST_REMOVE(c, link);
    s->nconns--;
    free(c);
}

/* Answers a refused peer once, without waiting for it, and closes it. */
static void refuse(int fd, int code, const char *message)
{
    zbuf out;
    zbuf_init(&out);
    if (rpc_encode_error(&out, RPC_UNSOLICITED_MSGID, code, message) == ZEN_OK)
        (void)!send(fd, zbuf_head(&out), zbuf_len(&out), MSG_NOSIGNAL | MSG_DONTWAIT);
    zbuf_free(&out);
    close(fd);
}

static int peer_allowed(const struct control_server *s, int fd, struct ucred *cred)
{
    socklen_t len = sizeof(*cred);
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, cred, &len) != 0)
        return 0;
    if (cred->uid == geteuid() || cred->uid == 0)
        return 1;
    return s->allow_reader && s->allow_reader(s->dispatch_ctx, cred->uid, cred->gid);
}

/* The table is full: closes the unsubscribed connection that has been
 * quiet longest (it is idle, or stuck in a frame), so the peer knocking
 * now -- likely zenctl -- gets in. ZEN_ERR when every one is a subscriber. */
static int evict_one(struct control_server *s)
{
    struct control_conn *victim = NULL, *c;
    LIST_FOREACH(c, &s->conns, link)
        /* <=: the list is newest first, so ties go to the older peer */
        if (!conn_subscribed(c) && (!victim || c->last_frame_ms <= victim->last_frame_ms))
            victim = c;
    if (!victim)
        return ZEN_ERR;
    zlog_pack(ZLOG_INFO, "control_conn_evicted", "{s:I, s:I}", "connections",
              (json_int_t)s->nconns, "idle_ms",
              (json_int_t)(ztime_mono_ms() - victim->last_frame_ms));
    conn_close(victim);
    return ZEN_OK;
}

/* A new peer: checked, given a slot, and read. NULL when it was refused
 * (and closed). */
static struct control_conn *admit(struct control_server *s, int fd)
{
    struct ucred cred = {.pid = 0, .uid = (uid_t)-1, .gid = (gid_t)-1};
    if (!peer_allowed(s, fd, &cred)) {
        zlog_pack(ZLOG_WARN, "control_peer_refused", "{s:i, s:i, s:b}", "uid", (int)cred.uid,
                  "pid", (int)cred.pid, "read_only", s->allow_reader != NULL);
        refuse(fd, RPC_ERR_PERMISSION,
               s->allow_reader ? "permission denied: not one of daemon.control_readers"
                               : "permission denied: only zend's own user may use the "
                                 "control socket");
        return NULL;
    }
    if (s->nconns >= CONTROL_MAX_CONNECTIONS && evict_one(s) != ZEN_OK) {
        refuse(fd, RPC_ERR_INTERNAL, "too many control connections");
        return NULL;
    }
    struct control_conn *c = calloc(1, sizeof(*c));
    if (!c) {
        close(fd);
        return NULL;
    }
    c->server = s;
    c->fd = fd;
    rpc_reader_init(&c->reader, RPC_MAX_FRAME);
    zbuf_init(&c->out);
    ev_io_init(&c->read_io, read_cb, fd, EV_READ);
    ev_io_init(&c->write_io, write_cb, fd, EV_WRITE);
    ev_timer_init(&c->deadline_timer, deadline_cb, 0., 0.);
    c->read_io.data = c->write_io.data = c->deadline_timer.data = c;
    c->last_frame_ms = ztime_mono_ms();
    LIST_INIT(&c->replies);
    LIST_INSERT_HEAD(&s->conns, c, link);
    s->nconns++;
    ev_io_start(s->loop, &c->read_io);
    conn_arm_deadline(c);
    return c;
}

static void on_accept(void *ctx, int fd) { (void)admit(ctx, fd); }

void control_adopt(struct control_server *s, const struct control_handoff *h)
{
    struct control_conn *c = admit(s, h->fd);
    if (!c)
        return;
    if (h->last_frame_ms)
        c->last_frame_ms = h->last_frame_ms;
    c->frame_started_ms = h->frame_started_ms;
    /* Answers already given go out first, then what the peer asked since. */
    if (zbuf_append(&c->out, h->out, h->outlen) != ZEN_OK ||
        rpc_reader_feed(&c->reader, h->in, h->inlen) != ZEN_OK || process_frames(c) != ZEN_OK)
        c->closing = 1;
    conn_arm_deadline(c);
    conn_flush(c);
}

/* ---- server ---- */

/* A leftover socket file is stale when connecting to it is refused. */
static int socket_is_live(const char *path)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return 0;
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
    int live = connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0;
    close(fd);
    return live;
}

/* Binds path with mode, in group gid unless it is -1. */
static int bind_socket(const char *path, mode_t mode, gid_t gid, char *err, size_t errlen)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(sun.sun_path)) {
        snprintf(err, errlen, "control socket path too long: %s", path);
        return -1;
    }
    struct stat st;
    if (lstat(path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            snprintf(err, errlen, "%s exists and is not a socket; remove it", path);
            return -1;
        }
        if (socket_is_live(path)) {
            snprintf(err, errlen, "another process answers on %s", path);
            return -1;
        }
        unlink(path);
    }
    snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errlen, "socket: %s", strerror(errno));
        return -1;
    }
    /* umask closes the window between bind and chmod: the group gets in
     * only once the file is in its group. */
    mode_t old = umask(077);
    int rc = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
    umask(old);
    if (rc != 0 || (gid != (gid_t)-1 && chown(path, (uid_t)-1, gid) != 0) ||
        chmod(path, mode) != 0 || listen(fd, SOMAXCONN) != 0) {
        snprintf(err, errlen, "cannot listen on %s: %s", path, strerror(errno));
        if (rc == 0)
            unlink(path);
        close(fd);
        return -1;
    }
    return fd;
}

int control_bind(const char *path, char *err, size_t errlen)
{
    return bind_socket(path, 0600, (gid_t)-1, err, errlen);
}

int control_bind_shared(const char *path, gid_t gid, char *err, size_t errlen)
{
    return bind_socket(path, 0660, gid, err, errlen);
}

/* A test hook: a positive number of milliseconds in `name`, else def. */
static int64_t env_ms(const char *name, int64_t def)
{
    const char *v = getenv(name);
    char *end;
    long long ms = v ? strtoll(v, &end, 10) : 0;
    return v && *v && !*end && ms > 0 ? (int64_t)ms : def;
}

struct control_server *control_new(int fd, control_dispatch_fn dispatch, void *ctx)
{
    struct control_server *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->dispatch = dispatch;
    s->dispatch_ctx = ctx;
    s->fd = fd;
    control_deadlines(&s->idle_timeout_ms, &s->frame_timeout_ms);
    return s;
}

struct control_server *control_new_read_only(int fd, control_dispatch_fn dispatch, void *ctx,
                                             control_peer_fn allow)
{
    struct control_server *s = control_new(fd, dispatch, ctx);
    if (s)
        s->allow_reader = allow;
    return s;
}

int control_conn_read_only(const struct control_conn *c) { return c->server->allow_reader != NULL; }

void control_start(struct control_server *s, struct ev_loop *loop, int accept)
{
    s->loop = loop;
    acceptor_init(&s->acceptor, loop, s->fd, "control", on_accept, s);
    s->accepting = accept;
    if (accept)
        acceptor_start(&s->acceptor);
}

void control_deadlines(int64_t *idle_ms, int64_t *frame_ms)
{
    *idle_ms = env_ms(CONTROL_TEST_IDLE_ENV, CONTROL_IDLE_TIMEOUT_MS);
    *frame_ms = env_ms(CONTROL_TEST_FRAME_ENV, CONTROL_FRAME_TIMEOUT_MS);
}

/* Last chance for answers queued as zend exits: a short blocking flush. */
static void flush_before_exit(struct control_conn *c, int64_t deadline_ms)
{
    while (zbuf_len(&c->out) > 0) {
        int64_t left = deadline_ms - ztime_mono_ms();
        struct pollfd p = {.fd = c->fd, .events = POLLOUT};
        if (left <= 0 || poll(&p, 1, (int)left) <= 0)
            return;
        ssize_t n = send(c->fd, zbuf_head(&c->out), zbuf_len(&c->out), MSG_NOSIGNAL);
        if (n <= 0 && errno != EINTR && errno != EAGAIN)
            return;
        if (n > 0)
            zbuf_consume(&c->out, (size_t)n);
    }
}

void control_close(struct control_server *s)
{
    if (!s)
        return;
    int64_t deadline = ztime_mono_ms() + CONTROL_EXIT_FLUSH_MS;
    struct control_conn *c;
    while ((c = LIST_FIRST(&s->conns))) {
        flush_before_exit(c, deadline);
        conn_close(c);
    }
    if (s->loop && s->accepting)
        acceptor_stop(&s->acceptor);
    free(s);
}

void control_conn_want_shutdown_done(struct control_conn *c) { c->want_shutdown_done = 1; }

void control_notify_shutdown_done(struct control_server *s, const json_t *summary)
{
    struct control_conn *c;
    LIST_FOREACH(c, &s->conns, link)
        if (c->want_shutdown_done)
            rpc_encode_notification(&c->out, RPC_NOTIFY_SHUTDOWN_DONE, summary);
}

size_t control_connection_count(const struct control_server *s) { return s->nconns; }

struct control_reply *control_reply_defer(struct control_conn *c)
{
    struct control_reply *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL; /* the dispatch's own return (an error) answers */
    r->conn = c;
    r->msgid = c->dispatching_msgid;
    LIST_INSERT_HEAD(&c->replies, r, link);
    c->n_replies++;
    c->deferred = 1;
    return r;
}

void control_reply_send(struct control_reply *r, json_t *result, const struct rpc_error *err)
{
    struct control_conn *c = r->conn;
    if (c) {
        LIST_REMOVE(r, link);
        c->n_replies--;
        if (result)
            rpc_encode_response(&c->out, r->msgid, NULL, result);
        else
            rpc_encode_error(&c->out, r->msgid,
                             err && err->code ? err->code : RPC_ERR_INTERNAL,
                             err && err->code ? err->message : "internal error");
        if (zbuf_len(&c->out) > CONTROL_MAX_OUTPUT_BYTES)
            c->closing = 1;
        /* The write watcher sends it (and closes a closing peer that had only
         * this to wait for): this may run inside c's own dispatch. */
        ev_io_start(c->server->loop, &c->write_io);
    }
    json_decref(result);
    free(r);
}

size_t control_pending_replies(const struct control_server *s)
{
    size_t n = 0;
    const struct control_conn *c;
    LIST_FOREACH(c, &s->conns, link)
        n += c->n_replies;
    return n;
}
