/* Unit tests for zend/forward/profile_traffic.c: a profile counts as serving
 * traffic for PTRAFFIC_RECENT_MS after its last request, names are told
 * apart, and a full table gives way to the least recently seen name. */
#include "profile_traffic.h"

#include <CUnit/CUnit.h>
#include <stdio.h>

#include "testutil.h"

#define T0 1000000LL

static void test_recent_for_ten_minutes(void)
{
    struct profile_traffic *t = ptraffic_new();
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    CU_ASSERT_FALSE(ptraffic_recent(t, "default", T0));
    ptraffic_note(t, "work", T0);
    CU_ASSERT_TRUE(ptraffic_recent(t, "work", T0));
    CU_ASSERT_TRUE(ptraffic_recent(t, "work", T0 + PTRAFFIC_RECENT_MS));
    CU_ASSERT_FALSE(ptraffic_recent(t, "work", T0 + PTRAFFIC_RECENT_MS + 1));
    CU_ASSERT_FALSE(ptraffic_recent(t, "default", T0));
    CU_ASSERT_FALSE(ptraffic_recent(t, "wor", T0));
    /* a new request refreshes it */
    ptraffic_note(t, "work", T0 + PTRAFFIC_RECENT_MS);
    CU_ASSERT_TRUE(ptraffic_recent(t, "work", T0 + PTRAFFIC_RECENT_MS + 1));
    ptraffic_free(t);
    ptraffic_free(NULL);
}

static void test_full_table_forgets_oldest(void)
{
    struct profile_traffic *t = ptraffic_new();
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    char name[32];
    for (int i = 0; i < 300; i++) {
        snprintf(name, sizeof(name), "p%d", i);
        ptraffic_note(t, name, T0 + i);
    }
    /* the latest names are all there; the very first ones gave way */
    int kept = 0;
    for (int i = 300 - 256; i < 300; i++) {
        snprintf(name, sizeof(name), "p%d", i);
        kept += ptraffic_recent(t, name, T0 + 300);
    }
    CU_ASSERT_EQUAL(kept, 256);
    CU_ASSERT_FALSE(ptraffic_recent(t, "p0", T0 + 300));
    ptraffic_free(t);
}

void register_tests(void)
{
    CU_pSuite s = CU_add_suite("profile_traffic", NULL, NULL);
    TU_ADD(s, test_recent_for_ten_minutes);
    TU_ADD(s, test_full_table_forgets_oldest);
}
