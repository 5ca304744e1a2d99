/* test_executor.c: being written (issue 4). */
#include "harness.h"

Suite *executor_suite(void)
{
    return suite_create("executor");
}
