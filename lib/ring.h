/* ring.h -- the index arithmetic of a fixed-size ring, for any element type.
 *
 * The caller owns an array of `cap` elements; struct zring says which slots
 * hold the last `len` elements pushed, oldest first. One copy of the
 * modulo arithmetic serves the latency windows (lib/stats), the log bus
 * ring, the control subscribers' log queues and the providers'
 * recent-outcome windows. A zeroed struct is an
 * empty ring; cap is passed to each call (it is the array's size, which the
 * caller already knows), so a zeroed struct never disagrees with it. */
#ifndef ZEN_RING_H
#define ZEN_RING_H

#include <stddef.h>

struct zring {
    size_t head; /* slot of the oldest element */
    size_t len;  /* elements held, at most cap */
};

/* The slot a new element goes into, cap > 0. When the ring was full that
 * slot holds the oldest element, which the push evicts: *evicted is then 1
 * (the caller releases what is there before overwriting it), else 0.
 * evicted may be NULL. */
size_t zring_push(struct zring *r, size_t cap, int *evicted);

/* Takes the oldest element out (a FIFO): returns its slot, whose contents
 * are the caller's now. len > 0. */
size_t zring_pop(struct zring *r, size_t cap);

/* The slot of the i-th oldest element, i < len. */
size_t zring_slot(const struct zring *r, size_t cap, size_t i);

/* Forgets every element (the caller releases them first if it must). */
void zring_clear(struct zring *r);

#endif
