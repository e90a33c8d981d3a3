/* grow.c -- inline array, then heap (grow.h). */
#include "grow.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void *zgrow_room(void *items, size_t n, size_t *cap, size_t size, const void *inline_items,
                 const struct zgrow_policy *pol)
{
    if (n < *cap)
        return items;
    if (n >= pol->max)
        return NULL;
    size_t want = *cap ? *cap * pol->factor : pol->first;
    if (want > pol->max || (*cap && want / pol->factor != *cap))
        want = pol->max;
    if (want <= n || want > SIZE_MAX / size)
        return NULL;
    void *more;
    if (items && items != inline_items) {
        more = realloc(items, want * size);
    } else {
        more = malloc(want * size);
        if (more && n)
            memcpy(more, items, n * size);
    }
    if (!more)
        return NULL;
    *cap = want;
    return more;
}

void zgrow_free(void *items, const void *inline_items)
{
    if (items != inline_items)
        free(items);
}
