/* cunit_main.c -- the one main() every unit-test runner shares.
 *
 * CUnit's CU_basic_run_tests() returns success even when assertions fail,
 * so the exit code comes from CU_get_number_of_failures(), read before the
 * registry is cleaned up. A runner that ran no test fails too. */
#include <CUnit/Basic.h>
#include <stdio.h>

#include "testutil.h"

int main(void)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    register_tests();
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failures = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    unsigned run = CU_get_number_of_tests_run();
    CU_cleanup_registry();
    if (run == 0) {
        fprintf(stderr, "no test ran\n");
        return 1;
    }
    return failures ? 1 : 0;
}
