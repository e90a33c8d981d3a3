/* tr_check.c -- the IR event invariants (tr_types.h) as a watcher, for the
 * unit tests and the fuzzer (tr_check.h). */
#include "tr_check.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void tr_checker_init(struct tr_checker *k)
{
    memset(k, 0, sizeof(*k));
}

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static int broke(struct tr_checker *k, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(k->violation, sizeof(k->violation), fmt, ap);
    va_end(ap);
    return -1;
}

static const char *kind_name(enum tr_ev_kind kind)
{
    switch (kind) {
    case TR_EV_START: return "START";
    case TR_EV_OPEN: return "OPEN";
    case TR_EV_DELTA: return "DELTA";
    case TR_EV_SIG: return "SIG";
    case TR_EV_CLOSE: return "CLOSE";
    case TR_EV_FINISH: return "FINISH";
    case TR_EV_ERROR: return "ERROR";
    case TR_EV_KEEPALIVE: return "KEEPALIVE";
    }
    return "?";
}

int tr_checker_event(struct tr_checker *k, const struct tr_event *ev)
{
    if (k->violation[0])
        return -1;
    const char *what = kind_name(ev->kind);
    if (k->ended)
        return broke(k, "%s after FINISH or ERROR", what);
    int b = ev->block;
    switch (ev->kind) {
    case TR_EV_KEEPALIVE:
        return 0;
    case TR_EV_START:
        if (k->started)
            return broke(k, "a second START");
        k->started = 1;
        return 0;
    case TR_EV_OPEN:
    case TR_EV_DELTA:
    case TR_EV_SIG:
    case TR_EV_CLOSE:
        if (!k->started)
            return broke(k, "%s %d before START", what, b);
        if (b < 0 || b >= TR_CHECK_MAX_BLOCKS)
            return broke(k, "%s of block %d, out of range", what, b);
        if (ev->kind == TR_EV_OPEN) {
            if (k->state[b] != 0)
                return broke(k, "OPEN %d twice", b);
            k->state[b] = 1;
            k->open_count++;
            return 0;
        }
        if (k->state[b] != 1)
            return broke(k, "%s %d for a block %s", what, b,
                         k->state[b] ? "already closed" : "never opened");
        if (ev->kind == TR_EV_CLOSE) {
            k->state[b] = 2;
            k->open_count--;
        }
        return 0;
    case TR_EV_FINISH:
        if (!k->started)
            return broke(k, "FINISH before START");
        if (k->open_count)
            return broke(k, "FINISH with %zu block(s) still open", k->open_count);
        k->ended = 1;
        return 0;
    case TR_EV_ERROR:
        k->ended = 1;
        return 0;
    }
    return broke(k, "an event of unknown kind %d", (int)ev->kind);
}

int tr_checker_end(struct tr_checker *k, int must_end)
{
    if (k->violation[0])
        return -1;
    if (must_end && !k->ended)
        return broke(k, "the sequence ended without FINISH or ERROR");
    return 0;
}
