/* main.c: the test runner.  Every test runs in its own forked child with a
 * timeout (Check's CK_FORK mode), so a crash or a hang fails one test, not
 * the run.  Run one suite or one test case by name:
 *     CK_RUN_SUITE=gil build/bin/tests
 *     CK_RUN_CASE=forced_switching build/bin/tests
 */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>

Suite *flags_suite(void);
Suite *timing_suite(void);
Suite *log_suite(void);
Suite *proc_suite(void);
Suite *gil_suite(void);
Suite *watchdog_suite(void);
Suite *workers_suite(void);
Suite *count_suite(void);
Suite *tickets_suite(void);
Suite *channel_suite(void);
Suite *queue_suite(void);
Suite *pool_suite(void);
Suite *executor_suite(void);
Suite *pool_lab_suite(void);
Suite *deadlock_suite(void);
Suite *board_suite(void);
Suite *ipc_suite(void);

int main(void)
{
    SRunner *runner = srunner_create(flags_suite());
    srunner_add_suite(runner, timing_suite());
    srunner_add_suite(runner, log_suite());
    srunner_add_suite(runner, proc_suite());
    srunner_add_suite(runner, gil_suite());
    srunner_add_suite(runner, watchdog_suite());
    srunner_add_suite(runner, workers_suite());
    srunner_add_suite(runner, count_suite());
    srunner_add_suite(runner, queue_suite());
    srunner_add_suite(runner, channel_suite());
    srunner_add_suite(runner, tickets_suite());
    srunner_add_suite(runner, pool_suite());
    srunner_add_suite(runner, executor_suite());
    srunner_add_suite(runner, pool_lab_suite());
    srunner_add_suite(runner, deadlock_suite());
    srunner_add_suite(runner, board_suite());
    srunner_add_suite(runner, ipc_suite());
    srunner_set_fork_status(runner, CK_FORK);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    int run = srunner_ntests_run(runner);
    srunner_free(runner);
    printf("%d passed, %d failed\n", run - failed, failed);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
