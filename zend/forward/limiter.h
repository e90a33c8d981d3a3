/* limiter.h -- the global limiter (docs/operations.md): at most `max` requests
 * hold a slot at once; the others wait in FIFO order, each for at most its own
 * timeout. It lives beside the proxy, not in the config, so a reload changes
 * the limit without resetting who holds or waits.
 *
 * The limiter knows slots and waiters, nothing about requests: the owner
 * embeds a struct limiter_waiter in each request and learns through two
 * callbacks when a waiter got its slot or ran out of time. Freed slots are
 * handed out from the loop (a zero-delay timer), so a request that ends deep
 * inside another's callbacks never starts the next one there. */
#ifndef ZEND_LIMITER_H
#define ZEND_LIMITER_H

#include <ev.h>
#include <stddef.h>
#include <sys/queue.h>

struct limiter_waiter {
    TAILQ_ENTRY(limiter_waiter) link;
    ev_timer timer;         /* the waiter's queue timeout */
    struct limiter *owner;
};

/* on_admit: w left the queue and holds a slot now.
 * on_timeout: w waited its whole timeout; it is still queued, and the owner
 * must end it with limiter_cancel. */
typedef void (*limiter_fn)(void *ctx, struct limiter_waiter *w);

struct limiter {
    struct ev_loop *loop;
    size_t max, used, queued;
    TAILQ_HEAD(limiter_queue, limiter_waiter) queue;
    ev_timer admit_timer;
    int closed;             /* draining: nothing more is admitted */
    limiter_fn on_admit, on_timeout;
    void *ctx;
};

void limiter_init(struct limiter *l, struct ev_loop *loop, size_t max, limiter_fn on_admit,
                  limiter_fn on_timeout, void *ctx);
/* Stops the limiter's timer; waiters must have been cancelled. */
void limiter_fini(struct limiter *l);
/* A new limit applies from the next admission on (a request entering or a
 * slot given back); holders keep their slots. */
void limiter_set_max(struct limiter *l, size_t max);
/* Takes a slot now (returns 1) when one is free and nobody waits; otherwise
 * queues w for at most timeout_s (returns 0). */
int limiter_enter(struct limiter *l, struct limiter_waiter *w, double timeout_s);
/* Takes a queued waiter out of the queue (it ends without a slot). */
void limiter_cancel(struct limiter *l, struct limiter_waiter *w);
/* Gives a slot back; the oldest waiter gets it from the loop. */
void limiter_release(struct limiter *l);
/* Draining: admit nobody from now on (waiters stay until cancelled). */
void limiter_close(struct limiter *l);
/* The oldest waiter, or NULL. */
struct limiter_waiter *limiter_first(const struct limiter *l);

#endif
