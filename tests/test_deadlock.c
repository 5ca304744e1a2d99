/* test_deadlock.c: tests of deadlock (being written; see its issue). */
#include "harness.h"

Suite *deadlock_suite(void)
{
    Suite *suite = suite_create("deadlock");
    return suite;
}
