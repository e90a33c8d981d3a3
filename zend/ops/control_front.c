/* control_front.c -- the front desk thread (control_front.h).
 *
 * Two sides share one struct:
 *  - the loop's side: a check watcher (an iteration begins), a prepare
 *    watcher (the loop is about to sleep: publish a snapshot when one is
 *    due) and an async watcher (the front wants a snapshot, or hands a
 *    connection over);
 *  - the front's side: its own poll loop with the listening sockets and
 *    the health-only connections.
 * What they share -- the snapshot, the handover queue, the request for a
 * snapshot -- is under `mu`; the loop's progress (iterations begun, busy or
 * asleep, since when) is in atomics, read by the front without a lock. */
#include "control_front.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "common.h"
#include "methods.h"
#include "rpc.h"
#include "timeutil.h"

#define FRONT_READ_CHUNK 4096
/* Out of descriptors: stop accepting this long (relayd's habit; acceptor.h). */
#define FRONT_ACCEPT_PAUSE_S 1.0

struct front_listener {
    struct control_front *f;
    struct control_server *server; /* takes over this socket's connections */
    ev_io io;
    ev_timer pause;
};

struct front_conn {
    struct control_front *f;
    struct front_listener *from;
    LIST_ENTRY(front_conn) link;
    int fd;
    ev_io read_io;
    ev_io write_io;
    ev_timer deadline;
    zbuf in, out;
    int64_t last_frame_ms;    /* accepted, or the last complete frame */
    int64_t frame_started_ms; /* first byte of the incomplete frame; 0 = none */
    int closing;              /* the peer is done: close once out is sent */
};

/* A connection on its way to the loop's control server. */
struct handoff {
    STAILQ_ENTRY(handoff) link;
    struct control_server *server;
    int fd;
    zbuf in, out;
    int64_t last_frame_ms, frame_started_ms;
};

struct control_front {
    /* the loop's side */
    struct ev_loop *loop;
    ev_check iteration_begins;
    ev_prepare iteration_ends;
    ev_async wake;
    control_produce_fn build;
    void *build_ctx;
    int64_t published_ms; /* the loop's copy of snapshot_ms */

    /* the loop's progress, for the front */
    atomic_uint_fast64_t iterations; /* begun */
    atomic_int busy;                 /* inside an iteration */
    atomic_int_fast64_t busy_since_us; /* for the stall reason */

    /* shared, under mu */
    pthread_mutex_t mu;
    pthread_cond_t published;
    json_t *snapshot;       /* the health result; only ever touched under mu */
    int64_t snapshot_ms;    /* when the loop built it */
    uint64_t snapshot_iter; /* the iteration at whose end it was built */
    uint64_t publications;  /* snapshots built so far */
    atomic_int want_snapshot; /* set by the front; read by the loop without mu */
    STAILQ_HEAD(, handoff) handoffs;

    /* the front's side */
    pthread_t thread;
    struct ev_loop *front_loop;
    ev_async stop;
    struct front_listener listeners[2];
    size_t n_listeners;
    LIST_HEAD(, front_conn) conns;
    size_t n_conns;
    int64_t idle_ms, frame_ms;
    int64_t wait_us;
};

/* ---- the loop's side ---- */

static int64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void publish(struct control_front *f, uint64_t iteration)
{
    json_t *fresh = f->build(f->build_ctx);
    if (!fresh)
        return; /* out of memory: the last one stays, and its age shows */
    int64_t now = ztime_mono_ms();
    pthread_mutex_lock(&f->mu);
    json_t *old = f->snapshot;
    f->snapshot = fresh;
    f->snapshot_ms = now;
    f->snapshot_iter = iteration;
    f->publications++;
    atomic_store(&f->want_snapshot, 0);
    pthread_cond_broadcast(&f->published);
    pthread_mutex_unlock(&f->mu);
    json_decref(old);
    f->published_ms = now;
}

static void iteration_begins_cb(struct ev_loop *loop, ev_check *w, int revents)
{
    struct control_front *f = w->data;
    atomic_store(&f->busy_since_us, mono_us());
    atomic_fetch_add(&f->iterations, 1);
    atomic_store(&f->busy, 1);
}

/* Everything this iteration did is done: the moment a snapshot is whole. */
static void iteration_ends_cb(struct ev_loop *loop, ev_prepare *w, int revents)
{
    struct control_front *f = w->data;
    int wanted = atomic_load(&f->want_snapshot);
    /* Not busy while it builds: a front waiting for this snapshot should
     * wait for it, not answer the last one. */
    atomic_store(&f->busy, 0);
    if (wanted || ztime_mono_ms() - f->published_ms >= CONTROL_FRONT_PERIOD_MS)
        publish(f, atomic_load(&f->iterations));
}

void control_front_publish(struct control_front *f)
{
    /* Later work of this same iteration is not in it: not current at the
     * iteration's end unless published again then. */
    if (f)
        publish(f, atomic_load(&f->iterations) - 1);
}

static void handoff_free(struct handoff *h)
{
    zbuf_free(&h->in);
    zbuf_free(&h->out);
    free(h);
}

/* Takes the connections the front handed over (a wanted snapshot is
 * published by iteration_ends_cb, after this iteration's other work). */
static void wake_cb(struct ev_loop *loop, ev_async *w, int revents)
{
    struct control_front *f = w->data;
    pthread_mutex_lock(&f->mu);
    struct handoff *h = STAILQ_FIRST(&f->handoffs);
    STAILQ_INIT(&f->handoffs);
    pthread_mutex_unlock(&f->mu);
    while (h) {
        struct handoff *next = STAILQ_NEXT(h, link);
        struct control_handoff ch = {h->fd, zbuf_head(&h->in), zbuf_len(&h->in),
                                     zbuf_head(&h->out), zbuf_len(&h->out), h->last_frame_ms,
                                     h->frame_started_ms};
        control_adopt(h->server, &ch);
        handoff_free(h);
        h = next;
    }
}

/* ---- the front's side: answering health ---- */

/* Is the snapshot current: the loop asleep, and asleep since it was built,
 * not long ago (its clocks -- uptime, cooldowns left -- run on)? */
static int snapshot_current(struct control_front *f)
{
    return !atomic_load(&f->busy) && f->snapshot_iter == atomic_load(&f->iterations) &&
           ztime_mono_ms() - f->snapshot_ms < CONTROL_FRONT_PERIOD_MS;
}

/* Waits (under mu) up to wait_us for a snapshot built after now: built at
 * the end of an iteration, it holds everything the peer can have seen.
 * The bound holds whether the loop is mid-iteration or not yet running
 * (on a busy machine a woken thread may wait milliseconds for a CPU):
 * after it, the last snapshot answers and says its age. */
static void await_fresh_snapshot(struct control_front *f)
{
    atomic_store(&f->want_snapshot, 1);
    ev_async_send(f->loop, &f->wake);
    uint64_t asked_at = f->publications;
    int64_t until = mono_us() + f->wait_us;
    struct timespec ts = {(time_t)(until / 1000000), (long)(until % 1000000) * 1000};
    while (f->publications == asked_at)
        if (pthread_cond_timedwait(&f->published, &f->mu, &ts) == ETIMEDOUT)
            return;
}

/* The snapshot as this answer says it: how old it is, and, when the loop has
 * been stuck in one iteration too long, unhealthy (a copy: the next answer
 * may find the loop moving again). A new reference. Under mu. */
static json_t *health_answer(struct control_front *f)
{
    int64_t age = ztime_mono_ms() - f->snapshot_ms;
    int64_t busy_ms =
        atomic_load(&f->busy) ? (mono_us() - atomic_load(&f->busy_since_us)) / 1000 : 0;
    json_t *h = f->snapshot;
    json_object_set_new(h, "snapshot_age_ms", json_integer(age > 0 ? age : 0));
    if (busy_ms < CONTROL_FRONT_STALL_MS)
        return json_incref(h);
    h = json_deep_copy(h);
    if (!h)
        return NULL;
    const char *status = json_string_value(json_object_get(h, "status"));
    if (!status || strcmp(status, "draining") != 0)
        json_object_set_new(h, "status", json_string("unhealthy"));
    char reason[160];
    snprintf(reason, sizeof(reason),
             "event loop busy for %.1f s: requests wait, and this answer is %lld ms old",
             (double)busy_ms / 1000.0, (long long)age);
    json_array_insert_new(json_object_get(h, "reasons"), 0, json_string(reason));
    return h;
}

static void answer_health(struct control_front *f, struct front_conn *c, uint32_t msgid)
{
    pthread_mutex_lock(&f->mu);
    if (!snapshot_current(f))
        await_fresh_snapshot(f);
    json_t *h = health_answer(f);
    if (h)
        rpc_encode_response(&c->out, msgid, NULL, h);
    else
        rpc_encode_error(&c->out, msgid, RPC_ERR_INTERNAL, "out of memory");
    json_decref(h); /* under mu: h may be the snapshot, whose count the loop drops */
    pthread_mutex_unlock(&f->mu);
}

/* ---- the front's side: connections ---- */

static void conn_free(struct control_front *f, struct front_conn *c)
{
    ev_io_stop(f->front_loop, &c->read_io);
    ev_io_stop(f->front_loop, &c->write_io);
    ev_timer_stop(f->front_loop, &c->deadline);
    LIST_REMOVE(c, link);
    f->n_conns--;
    zbuf_free(&c->in);
    zbuf_free(&c->out);
    free(c);
}

static void conn_close(struct control_front *f, struct front_conn *c)
{
    close(c->fd);
    conn_free(f, c);
}

static void hand_over(struct control_front *f, int fd, struct control_server *server,
                      zbuf *in, zbuf *out, int64_t last_frame_ms, int64_t frame_started_ms)
{
    struct handoff *h = calloc(1, sizeof(*h));
    if (!h) {
        close(fd); /* out of memory: the peer sees the connection close */
        return;
    }
    h->server = server;
    h->fd = fd;
    if (in) {
        h->in = *in;
        zbuf_init(in);
    }
    if (out) {
        h->out = *out;
        zbuf_init(out);
    }
    h->last_frame_ms = last_frame_ms;
    h->frame_started_ms = frame_started_ms;
    pthread_mutex_lock(&f->mu);
    STAILQ_INSERT_TAIL(&f->handoffs, h, link);
    pthread_mutex_unlock(&f->mu);
    ev_async_send(f->loop, &f->wake);
}

static void conn_hand_over(struct control_front *f, struct front_conn *c)
{
    hand_over(f, c->fd, c->from->server, &c->in, &c->out, c->last_frame_ms,
              c->frame_started_ms);
    conn_free(f, c);
}

static void conn_arm_deadline(struct control_front *f, struct front_conn *c)
{
    ev_timer_stop(f->front_loop, &c->deadline);
    if (c->closing)
        return;
    int64_t due = c->frame_started_ms ? c->frame_started_ms + f->frame_ms
                                      : c->last_frame_ms + f->idle_ms;
    int64_t left = due - ztime_mono_ms();
    ev_timer_set(&c->deadline, left > 1 ? (double)left / 1000.0 : 0.001, 0.);
    ev_timer_start(f->front_loop, &c->deadline);
}

/* Idle, or a frame too slow to arrive: the loop's server closes it and logs
 * why, exactly as for its own connections (the clocks travel along). */
static void deadline_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct front_conn *c = w->data;
    conn_hand_over(c->f, c);
}

/* Sends what it can. Returns 0 when the peer is gone (c closed). */
static int conn_flush(struct control_front *f, struct front_conn *c)
{
    switch (zbuf_send(&c->out, c->fd)) {
    case ZBUF_BLOCKED:
        ev_io_start(f->front_loop, &c->write_io);
        return 1;
    case ZBUF_SENT:
        ev_io_stop(f->front_loop, &c->write_io);
        return 1;
    default:
        conn_close(f, c);
        return 0;
    }
}

enum { FRAMES_HANDED_OVER = -1, FRAMES_NEED_INPUT = 0, FRAMES_OUTPUT_FULL = 1 };

/* Answers the health requests at the head of c's input, until the input
 * runs out or the output is full. Anything else hands c over (c is gone),
 * the unanswered bytes with it. */
static int answer_frames(struct control_front *f, struct front_conn *c)
{
    while (zbuf_len(&c->out) < CONTROL_FRONT_OUTPUT_BYTES) {
        size_t frame_len = 0;
        char err[256];
        int scan = rpc_frame_scan(zbuf_head(&c->in), zbuf_len(&c->in), RPC_MAX_FRAME,
                                  &frame_len, err, sizeof(err));
        if (scan == 0) {
            if (zbuf_len(&c->in) == 0)
                c->frame_started_ms = 0;
            else if (!c->frame_started_ms)
                c->frame_started_ms = ztime_mono_ms();
            return FRAMES_NEED_INPUT;
        }
        struct rpc_message m;
        struct rpc_read_error e;
        int health = scan > 0 &&
                     rpc_decode_frame(zbuf_head(&c->in), frame_len, &m, &e) == RPC_READ_MESSAGE &&
                     m.type == RPC_REQUEST && strcmp(m.method, RPC_HEALTH) == 0;
        if (scan > 0 && health)
            answer_health(f, c, m.msgid);
        if (scan > 0)
            rpc_message_clear(&m);
        if (!health) {
            conn_hand_over(f, c);
            return FRAMES_HANDED_OVER;
        }
        zbuf_consume(&c->in, frame_len);
        c->last_frame_ms = ztime_mono_ms();
        c->frame_started_ms = 0;
    }
    return FRAMES_OUTPUT_FULL;
}

/* Answers, sends, and decides what to wait for next: more requests, or
 * (a peer asking faster than it reads) the answers to go out first. */
static void conn_serve(struct control_front *f, struct front_conn *c)
{
    for (;;) {
        int r = answer_frames(f, c);
        if (r == FRAMES_HANDED_OVER || !conn_flush(f, c))
            return;
        if (zbuf_len(&c->out) > 0)
            break; /* write_cb serves the rest once these are out */
        if (r == FRAMES_NEED_INPUT) {
            if (c->closing) { /* the peer is done, and has all its answers */
                conn_close(f, c);
                return;
            }
            break;
        }
    }
    if (zbuf_len(&c->out) >= CONTROL_FRONT_OUTPUT_BYTES || c->closing)
        ev_io_stop(f->front_loop, &c->read_io);
    else
        ev_io_start(f->front_loop, &c->read_io);
    conn_arm_deadline(f, c);
}

static void read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    struct front_conn *c = w->data;
    struct control_front *f = c->f;
    char buf[FRONT_READ_CHUNK];
    for (;;) {
        ssize_t n = recv(c->fd, buf, sizeof(buf), 0);
        if (n > 0) {
            if (zbuf_append(&c->in, buf, (size_t)n) != ZEN_OK) {
                conn_close(f, c);
                return;
            }
            if ((size_t)n < sizeof(buf) || zbuf_len(&c->in) > RPC_MAX_FRAME)
                break; /* drained for now (or a frame too big): serve first */
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        /* EOF or error: a half-closed peer still gets its answers; bytes
         * of a frame it never finished are dropped, as the loop would. */
        c->closing = 1;
        ev_io_stop(loop, &c->read_io);
        break;
    }
    conn_serve(f, c); /* a closing one closes once its answers are out */
}

static void write_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    struct front_conn *c = w->data;
    struct control_front *f = c->f;
    if (conn_flush(f, c) && zbuf_len(&c->out) == 0)
        conn_serve(f, c); /* requests that waited for the answers to go out */
}

/* Only zend's own user and root are served here; anyone else may still be
 * a daemon.control_reader, which the loop's server decides. */
static int peer_is_owner(int fd)
{
    struct ucred cred;
    socklen_t len = sizeof(cred);
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0)
        return 0;
    return cred.uid == geteuid() || cred.uid == 0;
}

static void accept_one(struct control_front *f, struct front_listener *l, int fd)
{
    struct front_conn *c = NULL;
    if (peer_is_owner(fd) && f->n_conns < CONTROL_FRONT_MAX_CONNECTIONS)
        c = calloc(1, sizeof(*c));
    if (!c) {
        hand_over(f, fd, l->server, NULL, NULL, 0, 0);
        return;
    }
    c->f = f;
    c->from = l;
    c->fd = fd;
    zbuf_init(&c->in);
    zbuf_init(&c->out);
    ev_io_init(&c->read_io, read_cb, fd, EV_READ);
    ev_io_init(&c->write_io, write_cb, fd, EV_WRITE);
    ev_timer_init(&c->deadline, deadline_cb, 0., 0.);
    c->read_io.data = c->write_io.data = c->deadline.data = c;
    c->last_frame_ms = ztime_mono_ms();
    LIST_INSERT_HEAD(&f->conns, c, link);
    f->n_conns++;
    ev_io_start(f->front_loop, &c->read_io);
    conn_arm_deadline(f, c);
}

static void accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    struct front_listener *l = w->data;
    for (;;) {
        int fd = accept4(w->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            accept_one(l->f, l, fd);
            continue;
        }
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
            /* Not logged here (zlog is the loop's); the proxy's listener,
             * out of descriptors too, says so. */
            ev_io_stop(loop, &l->io);
            ev_timer_start(loop, &l->pause);
        }
        return;
    }
}

static void resume_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct front_listener *l = w->data;
    ev_io_start(loop, &l->io);
}

static void stop_cb(struct ev_loop *loop, ev_async *w, int revents) { ev_break(loop, EVBREAK_ALL); }

static void *front_main(void *arg)
{
    struct control_front *f = arg;
    /* Named so `top -H`, `ps -L` and perf tell it from the loop. */
    pthread_setname_np(pthread_self(), "zend-front");
    ev_run(f->front_loop, 0);
    return NULL;
}

/* Last chance for answers already written as zend exits. */
static void flush_briefly(int fd, zbuf *out, int64_t deadline_ms)
{
    while (zbuf_len(out) > 0 && ztime_mono_ms() < deadline_ms) {
        ssize_t n = send(fd, zbuf_head(out), zbuf_len(out), MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0)
            zbuf_consume(out, (size_t)n);
        else if (n < 0 && errno != EINTR && errno != EAGAIN)
            return;
    }
}

static void listener_init(struct control_front *f, struct control_server *server, int fd)
{
    struct front_listener *l = &f->listeners[f->n_listeners++];
    l->f = f;
    l->server = server;
    ev_io_init(&l->io, accept_cb, fd, EV_READ);
    ev_timer_init(&l->pause, resume_cb, FRONT_ACCEPT_PAUSE_S, 0.);
    l->io.data = l->pause.data = l;
    ev_io_start(f->front_loop, &l->io);
}

static int64_t wait_us_from_env(void)
{
    const char *v = getenv(CONTROL_FRONT_TEST_WAIT_ENV);
    long ms = v && *v ? strtol(v, NULL, 10) : 0;
    return ms > 0 ? (int64_t)ms * 1000 : CONTROL_FRONT_WAIT_US;
}

struct control_front *control_front_start(struct ev_loop *loop, struct control_server *server,
                                          int fd, struct control_server *read_server,
                                          int read_fd, control_produce_fn build, void *ctx)
{
    struct control_front *f = calloc(1, sizeof(*f));
    if (!f)
        return NULL;
    f->loop = loop;
    f->build = build;
    f->build_ctx = ctx;
    f->wait_us = wait_us_from_env();
    control_deadlines(&f->idle_ms, &f->frame_ms);
    STAILQ_INIT(&f->handoffs);
    LIST_INIT(&f->conns);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    int ok = pthread_cond_init(&f->published, &ca) == 0;
    pthread_condattr_destroy(&ca);
    if (!ok || pthread_mutex_init(&f->mu, NULL) != 0) {
        free(f);
        return NULL;
    }
    /* poll, not epoll: a few descriptors, and no kernel state to outlive a
     * connection that moves to the loop. */
    f->front_loop = ev_loop_new(EVBACKEND_POLL | EVFLAG_NOENV);
    /* The first answer must not wait for the loop. */
    publish(f, 0);
    if (!f->front_loop || !f->snapshot)
        goto fail;
    ev_async_init(&f->stop, stop_cb);
    ev_async_start(f->front_loop, &f->stop);
    listener_init(f, server, fd);
    if (read_server)
        listener_init(f, read_server, read_fd);

    ev_check_init(&f->iteration_begins, iteration_begins_cb);
    ev_set_priority(&f->iteration_begins, EV_MAXPRI); /* before any other callback */
    ev_prepare_init(&f->iteration_ends, iteration_ends_cb);
    ev_set_priority(&f->iteration_ends, EV_MINPRI); /* after every other prepare */
    ev_async_init(&f->wake, wake_cb);
    f->iteration_begins.data = f->iteration_ends.data = f->wake.data = f;
    ev_check_start(loop, &f->iteration_begins);
    ev_prepare_start(loop, &f->iteration_ends);
    ev_async_start(loop, &f->wake);
    /* They watch the loop; they must not keep it running. */
    ev_unref(loop);
    ev_unref(loop);
    ev_unref(loop);

    /* Signals are the loop's: the thread blocks them all. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&f->thread, NULL, front_main, f);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc == 0)
        return f;
    ev_ref(loop);
    ev_ref(loop);
    ev_ref(loop);
    ev_check_stop(loop, &f->iteration_begins);
    ev_prepare_stop(loop, &f->iteration_ends);
    ev_async_stop(loop, &f->wake);
fail:
    if (f->front_loop)
        ev_loop_destroy(f->front_loop);
    json_decref(f->snapshot);
    pthread_cond_destroy(&f->published);
    pthread_mutex_destroy(&f->mu);
    free(f);
    return NULL;
}

void control_front_stop(struct control_front *f)
{
    if (!f)
        return;
    ev_async_send(f->front_loop, &f->stop);
    pthread_join(f->thread, NULL);
    int64_t deadline = ztime_mono_ms() + CONTROL_EXIT_FLUSH_MS;
    struct front_conn *c;
    while ((c = LIST_FIRST(&f->conns))) {
        flush_briefly(c->fd, &c->out, deadline);
        conn_close(f, c);
    }
    for (size_t i = 0; i < f->n_listeners; i++) {
        ev_io_stop(f->front_loop, &f->listeners[i].io);
        ev_timer_stop(f->front_loop, &f->listeners[i].pause);
    }
    ev_async_stop(f->front_loop, &f->stop);
    ev_loop_destroy(f->front_loop);
    /* Handed over too late for the loop: closed, as zend exits. */
    struct handoff *h;
    while ((h = STAILQ_FIRST(&f->handoffs))) {
        STAILQ_REMOVE_HEAD(&f->handoffs, link);
        flush_briefly(h->fd, &h->out, deadline);
        close(h->fd);
        handoff_free(h);
    }
    ev_ref(f->loop);
    ev_ref(f->loop);
    ev_ref(f->loop);
    ev_check_stop(f->loop, &f->iteration_begins);
    ev_prepare_stop(f->loop, &f->iteration_ends);
    ev_async_stop(f->loop, &f->wake);
    json_decref(f->snapshot);
    pthread_cond_destroy(&f->published);
    pthread_mutex_destroy(&f->mu);
    free(f);
}
