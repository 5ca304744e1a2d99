/* test_pool_lab.c: being written (issue 4). */
#include "harness.h"

Suite *pool_lab_suite(void)
{
    return suite_create("pool_lab");
}
