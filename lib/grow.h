/* grow.h -- an array that starts in storage its owner holds inline and
 * moves to the heap when that is full.
 *
 * Most requests need a few attempts, a few dozen header lines: an inline
 * array holds those without an allocation, and the rare big one grows on
 * the heap. The owner keeps the pointer, the count and the capacity; this
 * makes room for one more. */
#ifndef ZEN_GROW_H
#define ZEN_GROW_H

#include <stddef.h>

/* How an array grows: the first heap capacity (when it had none, not even
 * inline storage), the factor, and the most elements it may ever hold. */
struct zgrow_policy {
    size_t first;
    size_t factor;
    size_t max;
};

/* Room for element n of items (n in use, *cap allocated, each size bytes;
 * inline_items, which may be NULL, is the owner's inline storage: never
 * freed, left as it was). Returns the array to use from now on -- items
 * itself when there was room, else a heap copy of the n elements with *cap
 * grown to min(*cap * factor (or first), max) -- or NULL when n is already
 * at pol->max or memory ran out; items and *cap are then unchanged. */
void *zgrow_room(void *items, size_t n, size_t *cap, size_t size, const void *inline_items,
                 const struct zgrow_policy *pol);

/* Frees items unless it is the inline storage. */
void zgrow_free(void *items, const void *inline_items);

#endif
