/* Unit tests for lib/grow.c: inline storage first, then the heap by the
 * policy's factor up to its most, the inline array never freed, and a
 * refusal (at the most, or out of room) that changes nothing. */
#include "grow.h"

#include <CUnit/CUnit.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

struct owner {
    int *items;
    size_t n, cap;
    int inline_items[2];
};

static int add(struct owner *o, const struct zgrow_policy *pol, int v)
{
    int *room = zgrow_room(o->items, o->n, &o->cap, sizeof(*room), o->inline_items, pol);
    if (!room)
        return -1;
    o->items = room;
    o->items[o->n++] = v;
    return 0;
}

static void test_inline_then_heap(void)
{
    static const struct zgrow_policy pol = {2, 2, 9};
    struct owner o = {NULL, 0, 2, {0, 0}};
    o.items = o.inline_items;
    CU_ASSERT_EQUAL(add(&o, &pol, 1), 0);
    CU_ASSERT_EQUAL(add(&o, &pol, 2), 0);
    CU_ASSERT_PTR_EQUAL(o.items, o.inline_items); /* two fit inline */
    CU_ASSERT_EQUAL(add(&o, &pol, 3), 0);
    CU_ASSERT_PTR_NOT_EQUAL(o.items, o.inline_items);
    CU_ASSERT_EQUAL(o.cap, 4);
    for (int v = 4; v <= 9; v++)
        CU_ASSERT_EQUAL(add(&o, &pol, v), 0);
    CU_ASSERT_EQUAL(o.cap, 9); /* 4, 8, then the most, not 16 */
    for (int v = 1; v <= 9; v++)
        CU_ASSERT_EQUAL(o.items[v - 1], v);
    /* at the most: refused, nothing changed */
    int *before = o.items;
    CU_ASSERT_EQUAL(add(&o, &pol, 10), -1);
    CU_ASSERT_PTR_EQUAL(o.items, before);
    CU_ASSERT_EQUAL(o.n, 9);
    CU_ASSERT_EQUAL(o.cap, 9);
    zgrow_free(o.items, o.inline_items);
    zgrow_free(o.inline_items, o.inline_items); /* the inline one is never freed */
}

static void test_no_inline(void)
{
    static const struct zgrow_policy pol = {3, 4, 100};
    struct owner o = {NULL, 0, 0, {0, 0}};
    CU_ASSERT_EQUAL(add(&o, &pol, 7), 0);
    CU_ASSERT_EQUAL(o.cap, 3);
    for (int v = 0; v < 3; v++)
        CU_ASSERT_EQUAL(add(&o, &pol, v), 0);
    CU_ASSERT_EQUAL(o.cap, 12);
    CU_ASSERT_EQUAL(o.items[0], 7);
    CU_ASSERT_EQUAL(o.items[3], 2);
    zgrow_free(o.items, NULL);
}

static void test_failure(void)
{
    /* an element size no memory holds (the size overflows): refused, the
     * array as it was */
    static const struct zgrow_policy pol = {1, 2, SIZE_MAX};
    char one = 'x';
    char *items = &one;
    size_t cap = 1;
    CU_ASSERT_PTR_NULL(zgrow_room(items, 1, &cap, SIZE_MAX / 2 + 1, &one, &pol));
    CU_ASSERT_EQUAL(cap, 1);
    /* a policy whose most is already reached with inline room left still
     * answers from the inline storage */
    static const struct zgrow_policy tight = {1, 2, 1};
    cap = 1;
    CU_ASSERT_PTR_EQUAL(zgrow_room(items, 0, &cap, 1, &one, &tight), items);
    CU_ASSERT_PTR_NULL(zgrow_room(items, 1, &cap, 1, &one, &tight));
}

void register_tests(void)
{
    CU_pSuite s = CU_add_suite("grow", NULL, NULL);
    TU_ADD(s, test_inline_then_heap);
    TU_ADD(s, test_no_inline);
    TU_ADD(s, test_failure);
}
