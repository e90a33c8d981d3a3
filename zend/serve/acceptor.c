#include "acceptor.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "log.h"

static void resume_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct acceptor *a = w->data;
    ev_io_start(loop, &a->io);
}

static void accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    struct acceptor *a = w->data;
    for (;;) {
        int fd = accept4(w->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            a->on_accept(a->ctx, fd);
            continue;
        }
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
            zlog_pack(ZLOG_WARN, "accept_paused", "{s:s, s:s, s:f}", "listener", a->name,
                      "detail", strerror(errno), "pause_s", ACCEPTOR_PAUSE_S);
            ev_io_stop(loop, &a->io);
            ev_timer_set(&a->pause, ACCEPTOR_PAUSE_S, 0.);
            ev_timer_start(loop, &a->pause);
        }
        return; /* EAGAIN: backlog empty; anything else is the client's problem */
    }
}

void acceptor_init(struct acceptor *a, struct ev_loop *loop, int listen_fd, const char *name,
                   acceptor_fn on_accept, void *ctx)
{
    a->loop = loop;
    a->name = name;
    a->on_accept = on_accept;
    a->ctx = ctx;
    ev_io_init(&a->io, accept_cb, listen_fd, EV_READ);
    ev_timer_init(&a->pause, resume_cb, ACCEPTOR_PAUSE_S, 0.);
    a->io.data = a->pause.data = a;
}

void acceptor_start(struct acceptor *a) { ev_io_start(a->loop, &a->io); }

void acceptor_stop(struct acceptor *a)
{
    ev_io_stop(a->loop, &a->io);
    ev_timer_stop(a->loop, &a->pause);
}
