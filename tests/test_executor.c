/* test_executor.c: futures over the pool (common/executor.h).
 *
 * Every test runs twice, over processes and over threads (a Check loop
 * test: _i is the enum pool_kind): switching is one word, as in Python's
 * concurrent.futures.  Tasks that must stay running until the test lets
 * them go wait on `board`, a shared anonymous mapping every worker
 * inherits.  Time bounds are scaled (time_scale()) and only ever check
 * "not before" and "not hung", never speed.
 */
#define _GNU_SOURCE
#include "harness.h"

#include "executor.h"
#include "proc.h"
#include "timing.h"

#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

struct board {
    atomic_int release; /* waiting tasks return once this is set */
    atomic_int started; /* waiting tasks that have begun */
    atomic_int last_pid;
};
static struct board *board;

static double bound(double seconds) { return seconds * time_scale(); }

static void setup(void)
{
    default_signals();
    board = mmap(NULL, sizeof *board, PROT_READ | PROT_WRITE,
                 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    ck_assert_ptr_ne(board, MAP_FAILED);
}

static void teardown(void) { munmap(board, sizeof *board); }

static bool wait_for(atomic_int *counter, int target, double seconds)
{
    double deadline = clock_seconds() + bound(seconds);
    while (atomic_load(counter) < target) {
        if (clock_seconds() > deadline)
            return false;
        clock_sleep(0.0005);
    }
    return true;
}

/* Wait (bounded) until the future reaches `state`. */
static bool wait_for_state(struct future *future, enum future_state state,
                           double seconds)
{
    double deadline = clock_seconds() + bound(seconds);
    while (future_state(future) != state) {
        if (clock_seconds() > deadline)
            return false;
        clock_sleep(0.0005);
    }
    return true;
}

static int square(const union pool_value *argument, union pool_value *result,
                  char *error)
{
    (void)error;
    result->numbers[0] = argument->numbers[0] * argument->numbers[0];
    return 0;
}

static int refuse(const union pool_value *argument, union pool_value *result,
                  char *error)
{
    (void)result;
    return pool_fail(error, "refused %lld", (long long)argument->numbers[0]);
}

static int wait_for_release(const union pool_value *argument,
                            union pool_value *result, char *error)
{
    (void)error;
    atomic_store(&board->last_pid, (int)getpid());
    atomic_fetch_add(&board->started, 1);
    double deadline = clock_seconds() + 10;
    while (!atomic_load(&board->release) && clock_seconds() < deadline)
        clock_sleep(0.001);
    result->numbers[0] = argument->numbers[0];
    return 0;
}

static int sleep_a_little(const union pool_value *argument,
                          union pool_value *result, char *error)
{
    (void)error;
    clock_sleep(argument->reals[0]);
    result->numbers[0] = 1;
    return 0;
}

static union pool_value number(int64_t n)
{
    return (union pool_value){.numbers = {n}};
}

static struct future *submit(struct executor *executor, pool_task_fn task,
                             int64_t n)
{
    struct future *future = NULL;
    union pool_value argument = number(n);
    ck_assert_int_eq(executor_submit(executor, task, &argument, &future), POOL_OK);
    ck_assert_ptr_nonnull(future);
    return future;
}

/* ---- Tests ------------------------------------------------------------------- */

START_TEST(every_future_state_and_timeout)
{
    struct executor *executor = executor_create((enum pool_kind)_i, 1);
    struct future *running = submit(executor, wait_for_release, 5);
    struct future *pending = submit(executor, square, 6);

    ck_assert(wait_for_state(running, FUTURE_RUNNING, 5));
    ck_assert(future_running(running));
    ck_assert(!future_done(running));
    ck_assert(!future_cancelled(running));
    ck_assert_int_eq(future_state(pending), FUTURE_PENDING);
    ck_assert(!future_running(pending));
    ck_assert(!future_done(pending));

    /* result(timeout) on a running task: TIMEOUT, after the timeout. */
    struct pool_result result;
    double start = clock_seconds();
    ck_assert_int_eq(future_result(running, 0.1, &result), POOL_TIMEOUT);
    double waited = clock_seconds() - start;
    ck_assert_msg(waited >= 0.09 && waited < bound(2), "waited %.3f s", waited);
    char error[POOL_ERROR_SIZE];
    ck_assert_int_eq(future_exception(running, 0.05, error, sizeof error),
                     POOL_TIMEOUT);

    /* cancel(): refused while running, granted while pending. */
    ck_assert(!future_cancel(running));
    ck_assert(future_cancel(pending));
    ck_assert(future_cancelled(pending));
    ck_assert(future_done(pending));
    ck_assert_int_eq(future_state(pending), FUTURE_CANCELLED);
    ck_assert(future_cancel(pending)); /* cancelled already: still true */
    ck_assert_int_eq(future_result(pending, 0, &result), POOL_CANCELLED);
    ck_assert_int_eq(future_exception(pending, 0, error, sizeof error),
                     POOL_CANCELLED);

    atomic_store(&board->release, 1);
    ck_assert_int_eq(future_result(running, bound(5), &result), POOL_OK);
    ck_assert_int_eq(result.value.numbers[0], 5);
    ck_assert_int_eq(future_state(running), FUTURE_FINISHED);
    ck_assert(future_done(running));
    ck_assert(!future_running(running));
    ck_assert(!future_cancel(running)); /* finished: too late */
    ck_assert_int_eq(future_exception(running, 0, error, sizeof error), POOL_OK);
    ck_assert_str_eq(error, "");

    /* The cancelled task never ran. */
    executor_shutdown(executor, true, false);
    ck_assert_int_eq(atomic_load(&board->started), 1);
    ck_assert_uint_eq(pool_stats(executor_pool(executor)).completed, 2);
    future_release(running);
    future_release(pending);
    executor_destroy(executor);
    ck_assert_int_eq(proc_active_count(), 0);
}
END_TEST

START_TEST(the_exception_is_carried_back)
{
    struct executor *executor = executor_create((enum pool_kind)_i, 2);
    struct future *bad = submit(executor, refuse, 42);
    struct future *good = submit(executor, square, 9);
    struct pool_result result;
    ck_assert_int_eq(future_result(bad, bound(5), &result), POOL_FAILED);
    ck_assert_str_eq(result.error, "refused 42");
    char error[POOL_ERROR_SIZE];
    ck_assert_int_eq(future_exception(bad, 0, error, sizeof error), POOL_FAILED);
    ck_assert_str_eq(error, "refused 42");
    /* A short buffer gets a cut, terminated message. */
    char short_error[8];
    ck_assert_int_eq(future_exception(bad, 0, short_error, sizeof short_error),
                     POOL_FAILED);
    ck_assert_str_eq(short_error, "refused");
    ck_assert_int_eq(future_state(bad), FUTURE_FINISHED);
    ck_assert(!future_cancelled(bad));

    ck_assert_int_eq(future_result(good, bound(5), &result), POOL_OK);
    ck_assert_int_eq(result.value.numbers[0], 81);
    ck_assert_int_eq(future_exception(good, 0, error, sizeof error), POOL_OK);
    ck_assert_str_eq(error, "");
    future_release(bad);
    future_release(good);
    executor_destroy(executor);
}
END_TEST

START_TEST(many_futures)
{
    enum { TASKS = 2000 };
    struct executor *executor = executor_create((enum pool_kind)_i, 2);
    struct future **futures = calloc(TASKS, sizeof *futures);
    for (int i = 0; i < TASKS; i++)
        futures[i] = submit(executor, square, i);
    for (int i = 0; i < TASKS; i++) {
        struct pool_result result;
        ck_assert_int_eq(future_result(futures[i], bound(10), &result), POOL_OK);
        ck_assert_int_eq(result.value.numbers[0], (int64_t)i * i);
        future_release(futures[i]);
    }
    free(futures);
    executor_destroy(executor);
}
END_TEST

START_TEST(shutdown_with_wait_waits_for_every_task)
{
    struct executor *executor = executor_create((enum pool_kind)_i, 2);
    struct future *futures[4];
    /* Timed from before the first submission: the tasks start as they are
     * submitted, so a start taken after the loop could be late by however
     * long a busy machine took to run it. */
    double start = clock_seconds();
    for (int i = 0; i < 4; i++) {
        union pool_value argument = {.reals = {0.1}};
        ck_assert_int_eq(executor_submit(executor, sleep_a_little, &argument,
                                         &futures[i]),
                         POOL_OK);
    }
    executor_shutdown(executor, true, false);
    /* Four tasks of 0.1 s on two workers: at least 0.2 s. */
    ck_assert(clock_seconds() - start >= 0.19);
    for (int i = 0; i < 4; i++) {
        ck_assert(future_done(futures[i]));
        ck_assert_int_eq(future_result(futures[i], 0, NULL), POOL_OK);
        future_release(futures[i]);
    }
    /* After shutdown, submit is an error (Python: RuntimeError). */
    struct future *late = (struct future *)&late;
    ck_assert_int_eq(executor_submit(executor, square, NULL, &late), POOL_CLOSED);
    ck_assert_ptr_null(late);
    executor_shutdown(executor, true, false); /* twice is harmless */
    executor_destroy(executor);
    ck_assert_int_eq(proc_active_count(), 0);
}
END_TEST

START_TEST(shutdown_without_wait_returns_at_once)
{
    struct executor *executor = executor_create((enum pool_kind)_i, 1);
    struct future *future = submit(executor, wait_for_release, 3);
    ck_assert(wait_for(&board->started, 1, 5));
    double start = clock_seconds();
    executor_shutdown(executor, false, false);
    ck_assert(clock_seconds() - start < bound(0.5));
    ck_assert(!future_done(future));
    atomic_store(&board->release, 1);
    /* The task still finishes after shutdown(wait=false). */
    struct pool_result result;
    ck_assert_int_eq(future_result(future, bound(5), &result), POOL_OK);
    ck_assert_int_eq(result.value.numbers[0], 3);
    future_release(future);
    executor_destroy(executor);
    ck_assert_int_eq(proc_active_count(), 0);
}
END_TEST

START_TEST(shutdown_cancel_futures_cancels_the_pending_ones)
{
    struct executor *executor = executor_create((enum pool_kind)_i, 1);
    struct future *running = submit(executor, wait_for_release, 1);
    ck_assert(wait_for(&board->started, 1, 5));
    struct future *pending[5];
    for (int i = 0; i < 5; i++)
        pending[i] = submit(executor, square, i);
    /* The only worker is busy: all five are still pending. */
    executor_shutdown(executor, false, true);
    for (int i = 0; i < 5; i++)
        ck_assert(future_cancelled(pending[i]));
    ck_assert(future_running(running));
    atomic_store(&board->release, 1);
    executor_shutdown(executor, true, false);
    ck_assert_int_eq(future_state(running), FUTURE_FINISHED);
    for (int i = 0; i < 5; i++) {
        ck_assert_int_eq(future_result(pending[i], 0, NULL), POOL_CANCELLED);
        future_release(pending[i]);
    }
    ck_assert_int_eq(atomic_load(&board->started), 1);
    future_release(running);
    executor_destroy(executor);
}
END_TEST

START_TEST(a_released_future_still_runs)
{
    struct executor *executor = executor_create((enum pool_kind)_i, 2);
    for (int i = 0; i < 100; i++)
        future_release(submit(executor, square, i));
    executor_shutdown(executor, true, false);
    ck_assert_uint_eq(pool_stats(executor_pool(executor)).completed, 100);
    executor_destroy(executor);
}
END_TEST

START_TEST(a_dead_worker_fails_its_future)
{
    struct executor *executor = executor_create(POOL_PROCESSES, 2);
    struct future *victim = submit(executor, wait_for_release, 0);
    ck_assert(wait_for(&board->started, 1, 5));
    ck_assert(wait_for_state(victim, FUTURE_RUNNING, 5));
    pid_t pid = atomic_load(&board->last_pid);
    ck_assert_int_eq(kill(pid, SIGKILL), 0);
    struct pool_result result;
    ck_assert_int_eq(future_result(victim, bound(1), &result), POOL_WORKER_DIED);
    ck_assert_int_eq(future_state(victim), FUTURE_FINISHED);
    char error[POOL_ERROR_SIZE], expected[64];
    ck_assert_int_eq(future_exception(victim, 0, error, sizeof error),
                     POOL_WORKER_DIED);
    snprintf(expected, sizeof expected, "worker %d ", (int)pid);
    ck_assert_msg(strstr(error, expected) && strstr(error, "signal 9"), "%s", error);
    /* The executor goes on. */
    struct future *after = submit(executor, square, 12);
    ck_assert_int_eq(future_result(after, bound(5), &result), POOL_OK);
    ck_assert_int_eq(result.value.numbers[0], 144);
    future_release(victim);
    future_release(after);
    executor_destroy(executor);
    ck_assert_int_eq(proc_active_count(), 0);
}
END_TEST

START_TEST(state_names)
{
    ck_assert_str_eq(future_state_name(FUTURE_PENDING), "PENDING");
    ck_assert_str_eq(future_state_name(FUTURE_RUNNING), "RUNNING");
    ck_assert_str_eq(future_state_name(FUTURE_FINISHED), "FINISHED");
    ck_assert_str_eq(future_state_name(FUTURE_CANCELLED), "CANCELLED");
    ck_assert_str_eq(future_state_name((enum future_state)9), "UNKNOWN");
}
END_TEST

Suite *executor_suite(void)
{
    Suite *suite = suite_create("executor");
    TCase *futures = tcase_create("executor_futures");
    tcase_add_checked_fixture(futures, setup, teardown);
    tcase_set_timeout(futures, 20);
    tcase_add_loop_test(futures, every_future_state_and_timeout, 0, 2);
    tcase_add_loop_test(futures, the_exception_is_carried_back, 0, 2);
    tcase_add_loop_test(futures, many_futures, 0, 2);
    tcase_add_loop_test(futures, a_released_future_still_runs, 0, 2);
    tcase_add_test(futures, a_dead_worker_fails_its_future);
    tcase_add_test(futures, state_names);
    suite_add_tcase(suite, futures);

    TCase *shutdown = tcase_create("executor_shutdown");
    tcase_add_checked_fixture(shutdown, setup, teardown);
    tcase_set_timeout(shutdown, 20);
    tcase_add_loop_test(shutdown, shutdown_with_wait_waits_for_every_task, 0, 2);
    tcase_add_loop_test(shutdown, shutdown_without_wait_returns_at_once, 0, 2);
    tcase_add_loop_test(shutdown, shutdown_cancel_futures_cancels_the_pending_ones,
                        0, 2);
    suite_add_tcase(suite, shutdown);
    return suite;
}
