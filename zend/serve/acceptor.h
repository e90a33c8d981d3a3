/* acceptor.h -- the accept loop shared by the proxy and control listeners.
 *
 * Accepts until the backlog is empty. When the process is out of
 * descriptors (or memory) it pauses accepting for a second instead of
 * spinning on a readable listener it cannot serve (OpenBSD relayd's habit);
 * waiting clients stay in the kernel backlog meanwhile. */
#ifndef ZEND_ACCEPTOR_H
#define ZEND_ACCEPTOR_H

#include <ev.h>

#define ACCEPTOR_PAUSE_S 1.0

/* Gets each accepted socket, non-blocking and close-on-exec. */
typedef void (*acceptor_fn)(void *ctx, int fd);

struct acceptor {
    struct ev_loop *loop;
    ev_io io;
    ev_timer pause;
    const char *name; /* for the log: "proxy", "control" */
    acceptor_fn on_accept;
    void *ctx;
};

void acceptor_init(struct acceptor *a, struct ev_loop *loop, int listen_fd, const char *name,
                   acceptor_fn on_accept, void *ctx);
void acceptor_start(struct acceptor *a);
void acceptor_stop(struct acceptor *a);

#endif
