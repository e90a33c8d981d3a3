#include "limiter.h"

static int slot_free(const struct limiter *l) { return l->used < l->max; }

static void schedule_admission(struct limiter *l)
{
    if (!TAILQ_EMPTY(&l->queue) && !ev_is_active(&l->admit_timer))
        ev_timer_start(l->loop, &l->admit_timer);
}

/* Oldest first, as long as slots are free. on_admit may end requests (and
 * release their slots) before it returns; the loop re-reads the state. */
static void admit_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
    struct limiter *l = t->data;
    while (!TAILQ_EMPTY(&l->queue) && slot_free(l) && !l->closed) {
        struct limiter_waiter *w = TAILQ_FIRST(&l->queue);
        limiter_cancel(l, w);
        l->used++;
        l->on_admit(l->ctx, w);
    }
}

static void waiter_timeout_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
    struct limiter_waiter *w = t->data;
    w->owner->on_timeout(w->owner->ctx, w);
}

void limiter_init(struct limiter *l, struct ev_loop *loop, size_t max, limiter_fn on_admit,
                  limiter_fn on_timeout, void *ctx)
{
    *l = (struct limiter){.loop = loop, .max = max, .on_admit = on_admit,
                          .on_timeout = on_timeout, .ctx = ctx};
    TAILQ_INIT(&l->queue);
    ev_timer_init(&l->admit_timer, admit_cb, 0., 0.);
    l->admit_timer.data = l;
}

void limiter_fini(struct limiter *l) { ev_timer_stop(l->loop, &l->admit_timer); }

void limiter_set_max(struct limiter *l, size_t max) { l->max = max; }

int limiter_enter(struct limiter *l, struct limiter_waiter *w, double timeout_s)
{
    w->owner = l;
    if (slot_free(l) && TAILQ_EMPTY(&l->queue)) {
        l->used++;
        return 1;
    }
    TAILQ_INSERT_TAIL(&l->queue, w, link);
    l->queued++;
    ev_timer_init(&w->timer, waiter_timeout_cb, timeout_s, 0.);
    w->timer.data = w;
    ev_timer_start(l->loop, &w->timer);
    return 0;
}

void limiter_cancel(struct limiter *l, struct limiter_waiter *w)
{
    ev_timer_stop(l->loop, &w->timer);
    TAILQ_REMOVE(&l->queue, w, link);
    l->queued--;
}

void limiter_release(struct limiter *l)
{
    l->used--;
    schedule_admission(l);
}

void limiter_close(struct limiter *l) { l->closed = 1; }

struct limiter_waiter *limiter_first(const struct limiter *l) { return TAILQ_FIRST(&l->queue); }
