/* Unit tests for zend/forward/sessions.c: distinct keys counted once, a key seen
 * again refreshed, keys older than the two-hour window dropped. */
#include "sessions.h"

#include <CUnit/CUnit.h>
#include <stdio.h>

#include "testutil.h"

#define T0 1000000LL

static void test_counts_distinct_keys(void)
{
    struct sessions *s = sessions_new();
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL(sessions_active(s, T0), 0);
    sessions_note(s, "default:a", T0);
    sessions_note(s, "default:b", T0);
    sessions_note(s, "default:a", T0 + 1);
    sessions_note(s, "work:a", T0 + 2);
    CU_ASSERT_EQUAL(sessions_active(s, T0 + 3), 3);
    sessions_free(s);
}

static void test_window(void)
{
    struct sessions *s = sessions_new();
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    sessions_note(s, "default:old", T0);
    sessions_note(s, "default:kept", T0);
    CU_ASSERT_EQUAL(sessions_active(s, T0 + SESSIONS_WINDOW_MS), 2);
    /* seen again: its window starts over */
    sessions_note(s, "default:kept", T0 + SESSIONS_WINDOW_MS);
    CU_ASSERT_EQUAL(sessions_active(s, T0 + SESSIONS_WINDOW_MS + 1), 1);
    CU_ASSERT_EQUAL(sessions_active(s, T0 + 2 * SESSIONS_WINDOW_MS + 1), 0);
    sessions_free(s);
}

/* Many keys: the count never exceeds the keys noted, and stays close to it
 * (two keys may share a slot of the fixed table). */
static void test_many_keys(void)
{
    struct sessions *s = sessions_new();
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    for (int i = 0; i < 1000; i++) {
        char key[32];
        snprintf(key, sizeof(key), "default:s%d", i);
        sessions_note(s, key, T0 + i);
    }
    size_t n = sessions_active(s, T0 + 1000);
    CU_ASSERT_TRUE(n <= 1000);
    CU_ASSERT_TRUE(n >= 850);
    sessions_free(s);
}

void register_tests(void)
{
    CU_pSuite s = CU_add_suite("sessions", NULL, NULL);
    TU_ADD(s, test_counts_distinct_keys);
    TU_ADD(s, test_window);
    TU_ADD(s, test_many_keys);
}
