#include "ring.h"

size_t zring_push(struct zring *r, size_t cap, int *evicted)
{
    size_t slot;
    int full = r->len == cap;
    if (full) {
        slot = r->head;
        r->head = r->head + 1 == cap ? 0 : r->head + 1;
    } else {
        slot = zring_slot(r, cap, r->len);
        r->len++;
    }
    if (evicted)
        *evicted = full;
    return slot;
}

size_t zring_pop(struct zring *r, size_t cap)
{
    size_t slot = r->head;
    r->head = r->head + 1 == cap ? 0 : r->head + 1;
    r->len--;
    return slot;
}

size_t zring_slot(const struct zring *r, size_t cap, size_t i)
{
    size_t s = r->head + i;
    return s >= cap ? s - cap : s;
}

void zring_clear(struct zring *r)
{
    r->head = 0;
    r->len = 0;
}
