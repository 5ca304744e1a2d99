/* main.c: the test runner.  Every test runs in its own forked child with a
 * timeout (Check's CK_FORK mode), so a crash or a hang fails one test, not
 * the run.  Run one suite or one test case by name:
 *     CK_RUN_SUITE=gil build/bin/tests
 *     CK_RUN_CASE=forced_switching build/bin/tests
 *
 * Shards: `tests --shard K/N` runs the K-th of N disjoint sets of suites
 * (1 <= K <= N), so that N runners can share the machine (`make test` runs
 * one shard per core).  Most of the suite's time is spent waiting -- for a
 * stall to be detected, a lock to be held, a timeout to pass -- not
 * computing, so two shards on two cores take little more than half the
 * time of one.  Suites are dealt out by their cost in the plain build
 * (seconds, measured on a 2-core machine), the costliest first, each to the
 * shard with the least so far.  With CK_RUN_SUITE set, sharding is off.
 */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
Suite *handouts_suite(void);
Suite *server_suite(void);
Suite *cluster_suite(void);
Suite *sched_suite(void);
Suite *manager_suite(void);
Suite *share_suite(void);
Suite *channel_spin_suite(void);
Suite *fault_suite(void);
Suite *process_suite(void);

/* In run order when unsharded: the runtime bottom up, then the labs. */
static const struct {
    Suite *(*make)(void);
    double cost; /* seconds, plain build */
} suites[] = {
    {flags_suite, 0.1},    {timing_suite, 0.4},   {log_suite, 0.1},
    {proc_suite, 0.8},     {gil_suite, 2.4},      {watchdog_suite, 4.1},
    {workers_suite, 0.4},  {count_suite, 1.4},    {queue_suite, 2.5},
    {channel_suite, 1.8},  {tickets_suite, 9.5},  {pool_suite, 2.5},
    {executor_suite, 1.0}, {pool_lab_suite, 6.0}, {deadlock_suite, 18.0},
    {board_suite, 0.2},    {ipc_suite, 2.1},      {handouts_suite, 1.5},
    {server_suite, 5.0},   {cluster_suite, 6.0},  {sched_suite, 4.5},
    {manager_suite, 0.5},  {share_suite, 2.0},    {channel_spin_suite, 0.3},
    {fault_suite, 10.0},
    {process_suite, 2.5},
};
enum { SUITES = sizeof suites / sizeof suites[0] };

static _Noreturn void usage(const char *program)
{
    fprintf(stderr, "usage: %s [--shard K/N]   (1 <= K <= N <= %d)\n",
            program, SUITES);
    exit(2);
}

/* Longest-processing-time-first: deal each suite, costliest first, to the
 * shard with the least cost so far.  Returns the shard (0-based) of each. */
static void deal(int shards, int shard_of[SUITES])
{
    double load[SUITES] = {0};
    bool dealt[SUITES] = {false};
    for (int round = 0; round < SUITES; round++) {
        int next = -1;
        for (int i = 0; i < SUITES; i++)
            if (!dealt[i] && (next < 0 || suites[i].cost > suites[next].cost))
                next = i;
        int lightest = 0;
        for (int k = 1; k < shards; k++)
            if (load[k] < load[lightest])
                lightest = k;
        shard_of[next] = lightest;
        load[lightest] += suites[next].cost;
        dealt[next] = true;
    }
}

int main(int argc, char **argv)
{
    int shard = 0, shards = 1;
    if (argc == 3 && strcmp(argv[1], "--shard") == 0) {
        char end;
        if (sscanf(argv[2], "%d/%d%c", &shard, &shards, &end) != 2 ||
            shards < 1 || shards > SUITES || shard < 1 || shard > shards)
            usage(argv[0]);
        shard--;
    } else if (argc != 1) {
        usage(argv[0]);
    }
    if (getenv("CK_RUN_SUITE") != NULL)
        shard = 0, shards = 1;

    int shard_of[SUITES];
    deal(shards, shard_of);
    SRunner *runner = NULL;
    for (int i = 0; i < SUITES; i++) {
        if (shard_of[i] != shard)
            continue;
        if (runner == NULL)
            runner = srunner_create(suites[i].make());
        else
            srunner_add_suite(runner, suites[i].make());
    }
    srunner_set_fork_status(runner, CK_FORK);
    srunner_run_all(runner, CK_ENV); /* CK_VERBOSITY=verbose lists every test */
    int failed = srunner_ntests_failed(runner);
    int run = srunner_ntests_run(runner);
    srunner_free(runner);
    printf("%d passed, %d failed\n", run - failed, failed);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
