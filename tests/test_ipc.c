/* test_ipc.c: tests of ipc (being written; see its issue). */
#include "harness.h"

Suite *ipc_suite(void)
{
    Suite *suite = suite_create("ipc");
    return suite;
}
