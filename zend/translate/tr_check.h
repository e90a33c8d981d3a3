/* tr_check.h -- a watcher of the IR event invariants (tr_types.h), for the
 * unit tests and the fuzzer: feed it every event a decoder emits; it says
 * which rule the first bad event broke. */
#ifndef ZEND_TR_CHECK_H
#define ZEND_TR_CHECK_H

#include <stddef.h>

#include "tr_types.h"

#define TR_CHECK_MAX_BLOCKS 4096

struct tr_checker {
    int started, ended;
    char violation[160];      /* "" while every event was fine */
    unsigned char state[TR_CHECK_MAX_BLOCKS]; /* 0 never opened, 1 open, 2 closed */
    size_t open_count;
};

void tr_checker_init(struct tr_checker *k);
/* Returns 0 while the sequence is valid, -1 from the first violation on. */
int tr_checker_event(struct tr_checker *k, const struct tr_event *ev);
/* The stream is over (no more events): an unterminated sequence is a
 * violation only when `must_end`. */
int tr_checker_end(struct tr_checker *k, int must_end);

#endif
