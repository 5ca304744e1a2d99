/* test_pool.c: tests of pool (being written; see its issue). */
#include "harness.h"

Suite *pool_suite(void)
{
    Suite *suite = suite_create("pool");
    return suite;
}
