/* test_pool.c: the worker pool (common/pool.h), over processes and threads.
 *
 * Most tests run twice, once per kind of worker (a Check loop test: _i is
 * the enum pool_kind), because "one interface, two kinds" is the promise.
 * Deaths only exist for processes.
 *
 * Tasks run in workers: in a process pool what they write to this
 * program's variables stays in the worker.  So what tasks report to the
 * test (that they started, which worker runs them) goes through `board`,
 * a shared anonymous mapping made before the pool, which every worker
 * inherits.  Callbacks run in this process: they write plain globals.
 *
 * Time bounds are generous and scaled (time_scale()): they check that
 * nothing hangs and that a death is noticed promptly, never speed.
 */
#define _GNU_SOURCE
#include "harness.h"

#include "pool.h"
#include "proc.h"
#include "timing.h"
#include "watchdog.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- What tasks share with the test ---------------------------------------- */

struct board {
    atomic_int release;     /* blocking tasks return once this is set */
    atomic_int started;     /* blocking tasks that have begun */
    atomic_int last_pid;    /* the worker of the last one that began */
    atomic_int initialized; /* initializer runs, in any worker */
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

static struct pool *make_pool(int kind, int workers)
{
    return pool_create(
        &(struct pool_options){.kind = (enum pool_kind)kind, .workers = workers});
}

static union pool_value number(int64_t n)
{
    return (union pool_value){.numbers = {n}};
}

/* Wait (bounded) until `*counter` reaches `target`. */
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

/* ---- Tasks ------------------------------------------------------------------- */

static int square(const union pool_value *argument, union pool_value *result,
                  char *error)
{
    (void)error;
    result->numbers[0] = argument->numbers[0] * argument->numbers[0];
    return 0;
}

static int fail_odd(const union pool_value *argument, union pool_value *result,
                    char *error)
{
    int64_t n = argument->numbers[0];
    if (n % 2 != 0)
        return pool_fail(error, "odd number %lld", (long long)n);
    result->numbers[0] = n;
    return 0;
}

static int fail_silently(const union pool_value *argument,
                         union pool_value *result, char *error)
{
    (void)argument, (void)result, (void)error;
    return 7;
}

/* Report the start, then wait for the test's release (10 s at most, so a
 * broken test cannot leave it running). */
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

static int sleep_briefly(const union pool_value *argument,
                         union pool_value *result, char *error)
{
    (void)error;
    atomic_fetch_add(&board->started, 1);
    clock_sleep(argument->reals[0]);
    result->numbers[0] = 1;
    return 0;
}

/* The same, immune to SIGTERM (terminate must then use SIGKILL). */
static int ignore_sigterm_and_wait(const union pool_value *argument,
                                   union pool_value *result, char *error)
{
    sigset_t term;
    sigemptyset(&term);
    sigaddset(&term, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &term, NULL);
    return wait_for_release(argument, result, error);
}

static int exit_three(const union pool_value *argument, union pool_value *result,
                      char *error)
{
    (void)argument, (void)result, (void)error;
    atomic_store(&board->last_pid, (int)getpid());
    _exit(3);
}

static int segfault(const union pool_value *argument, union pool_value *result,
                    char *error)
{
    (void)argument, (void)result, (void)error;
    atomic_store(&board->last_pid, (int)getpid());
    /* The default action, not a sanitizer's report-and-exit handler (which
     * may still win: the test accepts both). */
    signal(SIGSEGV, SIG_DFL);
    raise(SIGSEGV);
    return 0;
}

/* The worker's kernel name, as 15 bytes of the result. */
static int my_name(const union pool_value *argument, union pool_value *result,
                   char *error)
{
    (void)argument, (void)error;
    prctl(PR_GET_NAME, result->bytes);
    result->numbers[7] = getpid();
    return 0;
}

/* Runs in the worker (no Check assertions there): counts itself on the
 * board, if it got the board as its argument. */
static void count_initialization(void *argument)
{
    struct board *given = argument;
    atomic_fetch_add(&given->initialized, 1);
}

static int initialized_count(const union pool_value *argument,
                             union pool_value *result, char *error)
{
    (void)argument, (void)error;
    result->numbers[0] = atomic_load(&board->initialized);
    return 0;
}

/* ---- Callbacks --------------------------------------------------------------- */

/* What callbacks saw.  Callbacks run on the handler thread of this
 * process; the test reads these after pool_join(), which returns only once
 * every callback has run. */
static atomic_int *hits;         /* hits[i]: callbacks for task i */
static atomic_int wrong_values;  /* results not matching the task */
static atomic_int error_calls;   /* error callbacks */
static atomic_int callback_tid;  /* the thread of the first callback */
static atomic_int off_thread;    /* callbacks on any other thread */
static atomic_int off_process;   /* callbacks in another process */
static char last_error[POOL_ERROR_SIZE];
static atomic_int last_status;

static void tally_reset(int count)
{
    free(hits);
    hits = calloc((size_t)count, sizeof *hits);
    ck_assert_ptr_nonnull(hits);
    atomic_store(&wrong_values, 0);
    atomic_store(&error_calls, 0);
    atomic_store(&callback_tid, 0);
    atomic_store(&off_thread, 0);
    atomic_store(&off_process, 0);
    last_error[0] = '\0';
}

static pid_t test_pid;

static void note_thread(void)
{
    int tid = (int)gettid(), none = 0;
    if (!atomic_compare_exchange_strong(&callback_tid, &none, tid) && none != tid)
        atomic_fetch_add(&off_thread, 1);
    if (getpid() != test_pid)
        atomic_fetch_add(&off_process, 1);
}

static int on_square(const struct pool_result *result, void *context)
{
    intptr_t i = (intptr_t)context;
    note_thread();
    atomic_fetch_add(&hits[i], 1);
    if (result->status != POOL_OK || result->value.numbers[0] != (int64_t)i * i)
        atomic_fetch_add(&wrong_values, 1);
    return 0;
}

static int on_error(const struct pool_result *result, void *context)
{
    intptr_t i = (intptr_t)context;
    note_thread();
    atomic_fetch_add(&hits[i], 1);
    atomic_fetch_add(&error_calls, 1);
    atomic_store(&last_status, result->status);
    snprintf(last_error, sizeof last_error, "%s", result->error);
    return 0;
}

static int on_value(const struct pool_result *result, void *context)
{
    intptr_t i = (intptr_t)context;
    note_thread();
    atomic_fetch_add(&hits[i], 1);
    if (result->status != POOL_OK || result->value.numbers[0] != i)
        atomic_fetch_add(&wrong_values, 1);
    return 0;
}

/* Fails for every even task: the pool must go on delivering. */
static int fail_on_even(const struct pool_result *result, void *context)
{
    on_value(result, context);
    return (intptr_t)context % 2 == 0 ? -1 : 0;
}

static void expect_each_called_once(int count)
{
    for (int i = 0; i < count; i++)
        ck_assert_msg(atomic_load(&hits[i]) == 1, "task %d: %d callbacks", i,
                      atomic_load(&hits[i]));
}

static void finish(struct pool *pool)
{
    pool_close(pool);
    ck_assert_int_eq(pool_join(pool, bound(10)), POOL_OK);
    ck_assert_int_eq(pool_destroy(pool), POOL_OK);
    ck_assert_int_eq(proc_active_count(), 0);
}

/* ---- Results and callbacks --------------------------------------------------- */

START_TEST(ten_thousand_callbacks_each_called_once)
{
    enum { TASKS = 10000 };
    test_pid = getpid();
    tally_reset(TASKS);
    struct pool *pool = make_pool(_i, 2);
    for (intptr_t i = 0; i < TASKS; i++) {
        union pool_value argument = number(i);
        ck_assert_int_eq(pool_apply_async(pool, square, &argument, on_square,
                                          on_error, (void *)i, NULL),
                         POOL_OK);
    }
    pool_close(pool);
    ck_assert_int_eq(pool_join(pool, bound(10)), POOL_OK);
    expect_each_called_once(TASKS);
    ck_assert_int_eq(atomic_load(&wrong_values), 0);
    ck_assert_int_eq(atomic_load(&error_calls), 0);
    /* Callbacks: in this process, all on one thread, not the test's. */
    ck_assert_int_eq(atomic_load(&off_process), 0);
    ck_assert_int_eq(atomic_load(&off_thread), 0);
    ck_assert_int_ne(atomic_load(&callback_tid), (int)gettid());
    struct pool_stats stats = pool_stats(pool);
    ck_assert_uint_eq(stats.submitted, TASKS);
    ck_assert_uint_eq(stats.completed, TASKS);
    ck_assert_uint_eq(stats.failed, 0);
    ck_assert_uint_eq(stats.workers_started, 2);
    ck_assert_int_eq(pool_destroy(pool), POOL_OK);
}
END_TEST

START_TEST(error_callbacks_for_failing_tasks)
{
    enum { TASKS = 1000 };
    test_pid = getpid();
    tally_reset(TASKS);
    struct pool *pool = make_pool(_i, 2);
    for (intptr_t i = 0; i < TASKS; i++) {
        union pool_value argument = number(i);
        ck_assert_int_eq(pool_apply_async(pool, fail_odd, &argument, on_value,
                                          on_error, (void *)i, NULL),
                         POOL_OK);
    }
    pool_close(pool);
    ck_assert_int_eq(pool_join(pool, bound(10)), POOL_OK);
    expect_each_called_once(TASKS);
    ck_assert_int_eq(atomic_load(&error_calls), TASKS / 2);
    ck_assert_int_eq(atomic_load(&wrong_values), 0);
    ck_assert_int_eq(atomic_load(&last_status), POOL_FAILED);
    ck_assert_msg(strncmp(last_error, "odd number ", 11) == 0, "error: %s",
                  last_error);
    ck_assert_uint_eq(pool_stats(pool).failed, TASKS / 2);
    ck_assert_int_eq(pool_destroy(pool), POOL_OK);
}
END_TEST

START_TEST(apply_returns_the_value_or_the_error)
{
    struct pool *pool = make_pool(_i, 2);
    struct pool_result result;
    union pool_value seven = number(7), three = number(3);
    ck_assert_int_eq(pool_apply(pool, square, &seven, &result), POOL_OK);
    ck_assert_int_eq(result.value.numbers[0], 49);
    ck_assert_int_eq(result.status, POOL_OK);
    ck_assert_int_gt(result.worker_number, 0);
    ck_assert_int_gt(result.worker_pid, 0);
    ck_assert(result.finished >= result.started && result.started > 0);
    if (_i == POOL_PROCESSES)
        ck_assert_int_ne(result.worker_pid, getpid());
    else
        ck_assert_int_eq(result.worker_pid, getpid());

    ck_assert_int_eq(pool_apply(pool, fail_odd, &three, &result), POOL_FAILED);
    ck_assert_str_eq(result.error, "odd number 3");
    ck_assert_int_eq(pool_apply(pool, fail_silently, NULL, &result), POOL_FAILED);
    ck_assert_str_eq(result.error, "task failed with status 7");
    ck_assert_int_eq(pool_apply(pool, square, NULL, NULL), POOL_OK);
    finish(pool);
}
END_TEST

START_TEST(map_keeps_input_order)
{
    enum { ITEMS = 3000 };
    /* A small capacity, so the map's window slides many times. */
    struct pool *pool = pool_create(&(struct pool_options){
        .kind = (enum pool_kind)_i, .workers = 2, .capacity = 64});
    union pool_value *arguments = calloc(ITEMS, sizeof *arguments);
    struct pool_result *results = calloc(ITEMS, sizeof *results);
    for (int i = 0; i < ITEMS; i++)
        arguments[i] = number(i);
    ck_assert_int_eq(pool_map(pool, square, arguments, ITEMS, results), POOL_OK);
    for (int i = 0; i < ITEMS; i++) {
        ck_assert_int_eq(results[i].status, POOL_OK);
        ck_assert_int_eq(results[i].value.numbers[0], (int64_t)i * i);
    }
    /* Failures: every result still filled, the first failure returned. */
    ck_assert_int_eq(pool_map(pool, fail_odd, arguments, ITEMS, results),
                     POOL_FAILED);
    for (int i = 0; i < ITEMS; i++)
        ck_assert_int_eq(results[i].status, i % 2 ? POOL_FAILED : POOL_OK);
    ck_assert_str_eq(results[1].error, "odd number 1");
    ck_assert_int_eq(pool_map(pool, square, arguments, 0, results), POOL_OK);
    free(arguments);
    free(results);
    finish(pool);
}
END_TEST

START_TEST(a_failing_callback_does_not_stop_the_others)
{
    enum { TASKS = 1000 };
    test_pid = getpid();
    tally_reset(TASKS);
    struct pool *pool = make_pool(_i, 2);
    for (intptr_t i = 0; i < TASKS; i++) {
        union pool_value argument = number(i);
        ck_assert_int_eq(pool_apply_async(pool, fail_odd, &argument, fail_on_even,
                                          on_error, (void *)i, NULL),
                         POOL_OK);
    }
    pool_close(pool);
    ck_assert_int_eq(pool_join(pool, bound(10)), POOL_OK);
    expect_each_called_once(TASKS);
    ck_assert_uint_eq(pool_stats(pool).callback_failures, TASKS / 2);
    ck_assert_int_eq(pool_destroy(pool), POOL_OK);
}
END_TEST

START_TEST(submitting_after_close_is_an_error)
{
    struct pool *pool = make_pool(_i, 2);
    ck_assert_int_eq(pool_join(pool, 0), POOL_STILL_OPEN);
    pool_close(pool);
    pool_close(pool); /* twice is harmless */
    struct pool_async *handle = (struct pool_async *)&handle;
    union pool_value one = number(1);
    struct pool_result result;
    ck_assert_int_eq(pool_apply_async(pool, square, &one, NULL, NULL, NULL, &handle),
                     POOL_CLOSED);
    ck_assert_ptr_null(handle);
    ck_assert_int_eq(pool_apply(pool, square, &one, &result), POOL_CLOSED);
    ck_assert_int_eq(pool_map(pool, square, &one, 1, &result), POOL_CLOSED);
    ck_assert_int_eq(pool_join(pool, bound(5)), POOL_OK);
    ck_assert_int_eq(pool_apply(pool, square, &one, &result), POOL_CLOSED);
    ck_assert_int_eq(pool_terminate(pool), POOL_OK); /* after join: nothing */
    ck_assert_int_eq(pool_destroy(pool), POOL_OK);
    ck_assert_int_eq(proc_active_count(), 0);
}
END_TEST

START_TEST(initializer_runs_once_in_each_worker)
{
    struct pool *pool = pool_create(&(struct pool_options){
        .kind = (enum pool_kind)_i,
        .workers = 3,
        .initializer = count_initialization,
        .initializer_argument = board});
    /* The board is shared memory: the count covers every worker. */
    ck_assert(wait_for(&board->initialized, 3, 5));
    struct pool_result result;
    ck_assert_int_eq(pool_apply(pool, initialized_count, NULL, &result), POOL_OK);
    ck_assert_int_eq(result.value.numbers[0], 3);
    finish(pool);
    ck_assert_int_eq(atomic_load(&board->initialized), 3);
}
END_TEST

static char handler_name[16];
static int note_handler_name(const struct pool_result *result, void *context)
{
    (void)result, (void)context;
    prctl(PR_GET_NAME, handler_name);
    return 0;
}

START_TEST(workers_and_the_handler_have_names)
{
    struct pool *pool = make_pool(_i, 2);
    struct pool_result result;
    ck_assert_int_eq(pool_apply(pool, my_name, NULL, &result), POOL_OK);
    char expected[32];
    snprintf(expected, sizeof expected, "%s-%d",
             _i == POOL_PROCESSES ? "pool-worker" : "pool-thread",
             result.worker_number);
    ck_assert_str_eq((char *)result.value.bytes, expected);
    pid_t pids[4];
    int count = pool_worker_pids(pool, pids, 4);
    ck_assert_int_eq(count, 2);
    if (_i == POOL_PROCESSES)
        ck_assert(result.value.numbers[7] == pids[0] ||
                  result.value.numbers[7] == pids[1]);
    ck_assert_int_eq(pool_apply_async(pool, square, NULL, note_handler_name, NULL,
                                      NULL, NULL),
                     POOL_OK);
    finish(pool);
    ck_assert_str_eq(handler_name, "pool-results");
}
END_TEST

/* ---- Handles ---------------------------------------------------------------- */

START_TEST(handle_timeout_cancel_and_result)
{
    test_pid = getpid();
    tally_reset(8);
    struct pool *pool = make_pool(_i, 1);
    struct pool_async *running, *queued;
    union pool_value five = number(5), six = number(6);
    ck_assert_int_eq(pool_apply_async(pool, wait_for_release, &five, on_value,
                                      on_error, (void *)5, &running),
                     POOL_OK);
    ck_assert(wait_for(&board->started, 1, 5));
    ck_assert(pool_async_running(running));
    ck_assert_int_eq(pool_apply_async(pool, wait_for_release, &six, on_value,
                                      on_error, (void *)3, &queued),
                     POOL_OK);
    ck_assert(!pool_async_running(queued));
    ck_assert(!pool_async_ready(running));

    /* A timed wait on a running task times out, and not too early. */
    double start = clock_seconds();
    ck_assert_int_eq(pool_async_get(running, 0.1, NULL), POOL_TIMEOUT);
    ck_assert(clock_seconds() - start >= 0.09);
    ck_assert(clock_seconds() - start < bound(2));

    /* Cancel: refused once a worker took it, granted before. */
    ck_assert(!pool_async_cancel(running));
    ck_assert(pool_async_cancel(queued));
    ck_assert(pool_async_cancel(queued)); /* still cancelled */
    struct pool_result result;
    ck_assert_int_eq(pool_async_get(queued, 0, &result), POOL_CANCELLED);

    atomic_store(&board->release, 1);
    ck_assert_int_eq(pool_async_get(running, bound(5), &result), POOL_OK);
    ck_assert_int_eq(result.value.numbers[0], 5);
    ck_assert(pool_async_ready(running));
    ck_assert(!pool_async_running(running));
    ck_assert_int_eq(pool_async_get(queued, bound(5), &result), POOL_CANCELLED);
    ck_assert_int_eq(result.worker_pid, 0);
    pool_async_release(running);
    pool_async_release(queued);
    finish(pool);
    /* The cancelled task never ran; its error callback did. */
    ck_assert_int_eq(atomic_load(&board->started), 1);
    ck_assert_int_eq(atomic_load(&hits[5]), 1);
    ck_assert_int_eq(atomic_load(&hits[3]), 1);
    ck_assert_int_eq(atomic_load(&last_status), POOL_CANCELLED);
}
END_TEST

/* A callback that submits more work, by apply_async and by apply. */
static struct pool *chain_pool;
static atomic_int chain_done;
static int chain(const struct pool_result *result, void *context)
{
    (void)context;
    int64_t n = result->value.numbers[0];
    if (n >= 20) {
        atomic_store(&chain_done, 1);
        return 0;
    }
    struct pool_result applied;
    union pool_value next = number(n + 1);
    if (pool_apply(chain_pool, square, &next, &applied) != POOL_OK ||
        applied.value.numbers[0] != (n + 1) * (n + 1))
        return -1;
    if (pool_join(chain_pool, 0) != POOL_IN_CALLBACK ||
        pool_terminate(chain_pool) != POOL_IN_CALLBACK)
        return -1;
    return pool_apply_async(chain_pool, fail_odd, &(union pool_value){.numbers = {n + 2}},
                            chain, NULL, NULL, NULL) == POOL_OK
               ? 0
               : -1;
}

START_TEST(callbacks_may_submit_more_tasks)
{
    chain_pool = make_pool(_i, 2);
    atomic_store(&chain_done, 0);
    ck_assert_int_eq(pool_apply_async(chain_pool, fail_odd, &(union pool_value){.numbers = {0}},
                                      chain, NULL, NULL, NULL),
                     POOL_OK);
    double deadline = clock_seconds() + bound(5);
    while (!atomic_load(&chain_done) && clock_seconds() < deadline)
        clock_sleep(0.001);
    ck_assert(atomic_load(&chain_done));
    ck_assert_uint_eq(pool_stats(chain_pool).callback_failures, 0);
    finish(chain_pool);
}
END_TEST

/* Cancelled tasks keep their ring cell until the head passes it.  With a
 * live task at the head and a busy worker, enough of them fill the ring:
 * a submission then waits for the worker, and everything still ends
 * right. */
START_TEST(a_ring_full_of_cancelled_tasks)
{
    struct pool *pool = pool_create(&(struct pool_options){
        .kind = (enum pool_kind)_i, .workers = 1, .capacity = 3});
    struct pool_async *busy, *queued;
    union pool_value pause = {.reals = {0.3}}, five = number(5);
    ck_assert_int_eq(pool_apply_async(pool, sleep_briefly, &pause, NULL, NULL,
                                      NULL, &busy),
                     POOL_OK);
    ck_assert(wait_for(&board->started, 1, 5));
    ck_assert_int_eq(pool_apply_async(pool, square, &five, NULL, NULL, NULL,
                                      &queued),
                     POOL_OK);
    /* The ring has 8 cells: the busy task's (passed), the queued one's,
     * then 6 cancelled ones fill it.  The 7th submission must wait for the
     * worker to take the queued task; from then on the worker is free and
     * may take a task before we cancel it. */
    int cancelled = 0;
    for (int k = 0; k < 12; k++) {
        struct pool_async *doomed;
        ck_assert_int_eq(pool_apply_async(pool, square, &five, NULL, NULL, NULL,
                                          &doomed),
                         POOL_OK);
        bool cancel = pool_async_cancel(doomed);
        cancelled += cancel;
        ck_assert_int_eq(pool_async_get(doomed, bound(5), NULL),
                         cancel ? POOL_CANCELLED : POOL_OK);
        pool_async_release(doomed);
    }
    ck_assert_int_ge(cancelled, 6);
    struct pool_result result;
    ck_assert_int_eq(pool_async_get(queued, bound(5), &result), POOL_OK);
    ck_assert_int_eq(result.value.numbers[0], 25);
    double queued_started = result.started;
    ck_assert_int_eq(pool_async_get(busy, bound(5), &result), POOL_OK);
    ck_assert(queued_started >= result.finished);
    ck_assert_int_eq(pool_apply(pool, square, &five, &result), POOL_OK);
    ck_assert_int_eq(result.value.numbers[0], 25);
    pool_async_release(busy);
    pool_async_release(queued);
    pool_close(pool);
    ck_assert_int_eq(pool_join(pool, bound(10)), POOL_OK);
    ck_assert_uint_eq(pool_stats(pool).completed, 15);
    ck_assert_int_eq(pool_destroy(pool), POOL_OK);
}
END_TEST

START_TEST(join_times_out_while_a_task_runs)
{
    struct pool *pool = make_pool(_i, 1);
    ck_assert_int_eq(pool_apply_async(pool, wait_for_release, NULL, NULL, NULL,
                                      NULL, NULL),
                     POOL_OK);
    ck_assert(wait_for(&board->started, 1, 5));
    pool_close(pool);
    double start = clock_seconds();
    ck_assert_int_eq(pool_join(pool, 0.1), POOL_TIMEOUT);
    ck_assert(clock_seconds() - start >= 0.09);
    atomic_store(&board->release, 1);
    ck_assert_int_eq(pool_join(pool, bound(5)), POOL_OK);
    ck_assert_uint_eq(pool_stats(pool).completed, 1);
    ck_assert_int_eq(pool_destroy(pool), POOL_OK);
}
END_TEST

/* ---- Deaths (process pools) ------------------------------------------------- */

/* Submit `task` to a 2-worker pool, with 200 quick tasks behind it; make
 * its worker die (kill_signal > 0: from here; 0: the task dies itself);
 * check the error, its delay, the replacement, and that the rest finish. */
static void death_during_a_task(pool_task_fn task, int kill_signal,
                                const char *expected)
{
    enum { OTHERS = 200 };
    test_pid = getpid();
    tally_reset(OTHERS + 1);
    struct pool *pool = make_pool(POOL_PROCESSES, 2);
    pid_t before[2];
    ck_assert_int_eq(pool_worker_pids(pool, before, 2), 2);
    struct pool_async *victim;
    ck_assert_int_eq(pool_apply_async(pool, task, NULL, on_value, on_error,
                                      (void *)(intptr_t)OTHERS, &victim),
                     POOL_OK);
    double died_at;
    if (kill_signal > 0) {
        ck_assert(wait_for(&board->started, 1, 5));
        died_at = clock_seconds();
        ck_assert_int_eq(kill(atomic_load(&board->last_pid), kill_signal), 0);
    } else {
        died_at = clock_seconds();
    }
    for (intptr_t i = 0; i < OTHERS; i++) {
        union pool_value argument = number(i);
        ck_assert_int_eq(pool_apply_async(pool, fail_odd, &argument, on_value,
                                          on_error, (void *)i, NULL),
                         POOL_OK);
    }
    struct pool_result result;
    ck_assert_int_eq(pool_async_get(victim, bound(1), &result), POOL_WORKER_DIED);
    ck_assert_msg(clock_seconds() - died_at < bound(1), "noticed after %.3f s",
                  clock_seconds() - died_at);
    pid_t pid = atomic_load(&board->last_pid);
    ck_assert_int_eq(result.worker_pid, pid);
    char pid_text[32];
    snprintf(pid_text, sizeof pid_text, "worker %d ", (int)pid);
    ck_assert_msg(strstr(result.error, pid_text) != NULL, "error: %s", result.error);
    ck_assert_msg(strstr(result.error, expected) != NULL ||
                      (VARIANT[0] && strstr(result.error, "exited with status")),
                  "error: %s (expected %s)", result.error, expected);
    pool_async_release(victim);

    pool_close(pool);
    ck_assert_int_eq(pool_join(pool, bound(10)), POOL_OK);
    expect_each_called_once(OTHERS + 1);
    ck_assert_int_eq(atomic_load(&error_calls), OTHERS / 2 + 1);
    struct pool_stats stats = pool_stats(pool);
    ck_assert_uint_eq(stats.worker_deaths, 1);
    ck_assert_uint_eq(stats.completed, OTHERS + 1);
    ck_assert_int_eq(pool_destroy(pool), POOL_OK);
    ck_assert_int_eq(proc_active_count(), 0);
}

START_TEST(worker_killed_mid_task)
{
    death_during_a_task(wait_for_release, SIGKILL, "killed by signal 9");
}
END_TEST

START_TEST(worker_exits_mid_task)
{
    death_during_a_task(exit_three, 0, "exited with status 3");
}
END_TEST

START_TEST(worker_segfaults_mid_task)
{
    death_during_a_task(segfault, 0, "killed by signal 11");
}
END_TEST

START_TEST(apply_whose_worker_dies)
{
    struct pool *pool = make_pool(POOL_PROCESSES, 1);
    struct pool_result result;
    ck_assert_int_eq(pool_apply(pool, exit_three, NULL, &result), POOL_WORKER_DIED);
    ck_assert_int_eq(result.exitcode, 3);
    ck_assert_int_eq(result.worker_pid, atomic_load(&board->last_pid));
    /* The replacement serves the next one. */
    union pool_value four = number(4);
    ck_assert_int_eq(pool_apply(pool, square, &four, &result), POOL_OK);
    ck_assert_int_eq(result.value.numbers[0], 16);
    ck_assert_int_ne(result.worker_pid, atomic_load(&board->last_pid));
    ck_assert_int_eq(result.worker_number, 2);
    finish(pool);
}
END_TEST

START_TEST(idle_worker_killed_is_replaced)
{
    struct pool *pool = make_pool(POOL_PROCESSES, 2);
    pid_t pids[2];
    ck_assert_int_eq(pool_worker_pids(pool, pids, 2), 2);
    ck_assert_int_eq(kill(pids[0], SIGKILL), 0);
    double deadline = clock_seconds() + bound(1);
    while (pool_stats(pool).workers_started < 3 && clock_seconds() < deadline)
        clock_sleep(0.001);
    ck_assert_uint_eq(pool_stats(pool).workers_started, 3);
    ck_assert_uint_eq(pool_stats(pool).worker_deaths, 1);
    pid_t now[2];
    ck_assert_int_eq(pool_worker_pids(pool, now, 2), 2);
    ck_assert(now[0] != pids[0] && now[1] != pids[0]);
    /* Both workers serve: two blocking tasks run at once. */
    struct pool_async *a, *b;
    ck_assert_int_eq(pool_apply_async(pool, wait_for_release, NULL, NULL, NULL, NULL, &a),
                     POOL_OK);
    ck_assert_int_eq(pool_apply_async(pool, wait_for_release, NULL, NULL, NULL, NULL, &b),
                     POOL_OK);
    ck_assert(wait_for(&board->started, 2, 5));
    atomic_store(&board->release, 1);
    ck_assert_int_eq(pool_async_get(a, bound(5), NULL), POOL_OK);
    ck_assert_int_eq(pool_async_get(b, bound(5), NULL), POOL_OK);
    pool_async_release(a);
    pool_async_release(b);
    finish(pool);
}
END_TEST

/* Workers SIGKILLed at arbitrary instants of a busy run -- while claiming,
 * running, committing or sleeping: every task still ends exactly once,
 * either with its right value or as WORKER_DIED, and blocking applies
 * mixed in never hang. */
static atomic_int died_results;
static int on_square_or_death(const struct pool_result *result, void *context)
{
    intptr_t i = (intptr_t)context;
    atomic_fetch_add(&hits[i], 1);
    if (result->status == POOL_WORKER_DIED)
        atomic_fetch_add(&died_results, 1);
    else if (result->status != POOL_OK ||
             result->value.numbers[0] != (int64_t)i * i)
        atomic_fetch_add(&wrong_values, 1);
    return 0;
}

START_TEST(workers_killed_at_random_instants)
{
    enum { TASKS = 20000, KILLS = 12 };
    tally_reset(TASKS);
    atomic_store(&died_results, 0);
    /* A small capacity: the rings wrap hundreds of times. */
    struct pool *pool = pool_create(&(struct pool_options){
        .kind = POOL_PROCESSES, .workers = 3, .capacity = 64});
    srand(12345);
    int kills = 0, applied_died = 0;
    pid_t killed[KILLS + 1];
    for (intptr_t i = 0; i < TASKS; i++) {
        union pool_value argument = number(i);
        if (i % 97 == 0) {
            struct pool_result result;
            enum pool_status status = pool_apply(pool, square, &argument, &result);
            ck_assert(status == POOL_OK || status == POOL_WORKER_DIED);
            if (status == POOL_OK)
                ck_assert_int_eq(result.value.numbers[0], (int64_t)i * i);
            applied_died += status == POOL_WORKER_DIED;
            atomic_fetch_add(&hits[i], 1);
            continue;
        }
        ck_assert_int_eq(pool_apply_async(pool, square, &argument,
                                          on_square_or_death, on_square_or_death,
                                          (void *)i, NULL),
                         POOL_OK);
        if (i % (TASKS / KILLS) == TASKS / KILLS / 2) {
            /* A killed worker keeps its pid in the list until it is
             * reaped: never count the same one twice. */
            pid_t pids[3];
            int count = pool_worker_pids(pool, pids, 3);
            pid_t victim = count > 0 ? pids[rand() % count] : 0;
            for (int k = 0; k < kills; k++)
                if (killed[k] == victim)
                    victim = 0;
            if (victim != 0 && kill(victim, SIGKILL) == 0)
                killed[kills++] = victim;
        }
    }
    pool_close(pool);
    ck_assert_int_eq(pool_join(pool, bound(20)), POOL_OK);
    expect_each_called_once(TASKS);
    ck_assert_int_eq(atomic_load(&wrong_values), 0);
    struct pool_stats stats = pool_stats(pool);
    ck_assert_int_ge(kills, KILLS - 2);
    ck_assert_uint_eq(stats.worker_deaths, (uint64_t)kills);
    /* At most one task per death can fail. */
    ck_assert_int_le(atomic_load(&died_results) + applied_died, kills);
    ck_assert_uint_eq(stats.completed, TASKS);
    ck_assert_int_eq(pool_destroy(pool), POOL_OK);
    ck_assert_int_eq(proc_active_count(), 0);
}
END_TEST

/* ---- Ending ------------------------------------------------------------------ */

static void expect_no_zombies(void)
{
    errno = 0;
    pid_t got = waitpid(-1, NULL, WNOHANG);
    ck_assert_msg(got == 0 || (got == -1 && errno == ECHILD),
                  "waitpid found child %d", (int)got);
    ck_assert_int_eq(proc_active_count(), 0);
}

static void terminate_while_tasks_run(pool_task_fn task, double grace)
{
    enum { TASKS = 20 };
    test_pid = getpid();
    tally_reset(TASKS);
    struct pool *pool = pool_create(&(struct pool_options){
        .kind = POOL_PROCESSES, .workers = 2, .terminate_grace = grace});
    for (intptr_t i = 0; i < TASKS; i++) {
        union pool_value argument = number(i);
        ck_assert_int_eq(pool_apply_async(pool, task, &argument, on_value,
                                          on_error, (void *)i, NULL),
                         POOL_OK);
    }
    ck_assert(wait_for(&board->started, 2, 5));
    double start = clock_seconds();
    ck_assert_int_eq(pool_terminate(pool), POOL_OK);
    double took = clock_seconds() - start;
    ck_assert_msg(took < grace + bound(1), "terminate took %.3f s", took);
    /* Every task ended, as cancelled; every error callback ran. */
    expect_each_called_once(TASKS);
    ck_assert_int_eq(atomic_load(&error_calls), TASKS);
    ck_assert_int_eq(atomic_load(&last_status), POOL_CANCELLED);
    ck_assert_int_eq(atomic_load(&board->started), 2);
    expect_no_zombies();
    ck_assert_int_eq(pool_join(pool, 0), POOL_OK);
    union pool_value one = number(1);
    ck_assert_int_eq(pool_apply(pool, square, &one, NULL), POOL_CLOSED);
    ck_assert_int_eq(pool_destroy(pool), POOL_OK);
}

START_TEST(terminate_while_tasks_run_processes)
{
    terminate_while_tasks_run(wait_for_release, 0.5);
}
END_TEST

START_TEST(terminate_kills_workers_that_ignore_sigterm)
{
    double start = clock_seconds();
    terminate_while_tasks_run(ignore_sigterm_and_wait, 0.3);
    /* SIGTERM could not end them: only the SIGKILL after the grace did. */
    ck_assert(clock_seconds() - start >= 0.3);
}
END_TEST

/* Release the blocking tasks once `pool` no longer accepts tasks (its
 * terminate has begun: pool_join() stops answering STILL_OPEN). */
static void *release_once_closed(void *argument)
{
    struct pool *pool = argument;
    double deadline = clock_seconds() + bound(5);
    while (pool_join(pool, 0) == POOL_STILL_OPEN && clock_seconds() < deadline)
        clock_sleep(0.001);
    atomic_store(&board->release, 1);
    return NULL;
}

START_TEST(terminate_a_thread_pool)
{
    enum { TASKS = 20 };
    test_pid = getpid();
    tally_reset(TASKS);
    struct pool *pool = make_pool(POOL_THREADS, 2);
    for (intptr_t i = 0; i < TASKS; i++) {
        union pool_value argument = number(i);
        ck_assert_int_eq(pool_apply_async(pool, wait_for_release, &argument,
                                          on_value, on_error, (void *)i, NULL),
                         POOL_OK);
    }
    ck_assert(wait_for(&board->started, 2, 5));
    /* Threads cannot be killed: the two running tasks are released only
     * once terminate has begun, so a worker that went on to take queued
     * tasks would start more than two. */
    pthread_t releaser;
    ck_assert_int_eq(pthread_create(&releaser, NULL, release_once_closed, pool), 0);
    ck_assert_int_eq(pool_terminate(pool), POOL_OK);
    ck_assert_int_eq(pthread_join(releaser, NULL), 0);
    expect_each_called_once(TASKS);
    /* The two that ran finished; the 18 queued ones were cancelled. */
    ck_assert_int_eq(atomic_load(&board->started), 2);
    ck_assert_int_eq(atomic_load(&error_calls), TASKS - 2);
    ck_assert_int_eq(atomic_load(&last_status), POOL_CANCELLED);
    ck_assert_int_eq(atomic_load(&hits[0]), 1);
    ck_assert_int_eq(atomic_load(&hits[1]), 1);
    ck_assert_int_eq(atomic_load(&wrong_values), 0);
    ck_assert_int_eq(pool_destroy(pool), POOL_OK);
}
END_TEST

/* A callback blocked in pool_apply() while the pool is terminated: its
 * task, still queued behind a busy worker, must end as cancelled even
 * though the thread waiting for it is the result handler itself (which
 * cannot run the pool's end-of-pool cleanup while it waits). */
static struct pool *stuck_pool;
static atomic_int stuck_status;
static int apply_behind_a_busy_worker(const struct pool_result *result,
                                      void *context)
{
    (void)result, (void)context;
    /* The only worker is taken by a blocking task first. */
    if (pool_apply_async(stuck_pool, wait_for_release, NULL, NULL, NULL, NULL,
                         NULL) != POOL_OK)
        return -1;
    atomic_store(&stuck_status,
                 pool_apply(stuck_pool, square, &(union pool_value){.numbers = {3}},
                            NULL));
    return 0;
}

START_TEST(terminate_while_a_callback_waits_in_apply)
{
    stuck_pool = make_pool(_i, 1);
    atomic_store(&stuck_status, -1);
    ck_assert_int_eq(pool_apply_async(stuck_pool, square, NULL,
                                      apply_behind_a_busy_worker, NULL, NULL,
                                      NULL),
                     POOL_OK);
    /* Three submitted: the first task, the blocking one, the applied one. */
    double deadline = clock_seconds() + bound(5);
    while (pool_stats(stuck_pool).submitted < 3 && clock_seconds() < deadline)
        clock_sleep(0.001);
    ck_assert_uint_eq(pool_stats(stuck_pool).submitted, 3);
    ck_assert(wait_for(&board->started, 1, 5));
    pthread_t releaser; /* a thread worker cannot be killed: release it */
    ck_assert_int_eq(pthread_create(&releaser, NULL, release_once_closed,
                                    stuck_pool), 0);
    ck_assert_int_eq(pool_terminate(stuck_pool), POOL_OK);
    ck_assert_int_eq(pthread_join(releaser, NULL), 0);
    ck_assert_int_eq(atomic_load(&stuck_status), POOL_CANCELLED);
    ck_assert_int_eq(pool_destroy(stuck_pool), POOL_OK);
    expect_no_zombies();
}
END_TEST

START_TEST(destroy_without_join_terminates)
{
    struct pool *pool = make_pool(_i, 2);
    for (int i = 0; i < 50; i++)
        ck_assert_int_eq(pool_apply_async(pool, square, NULL, NULL, NULL, NULL, NULL),
                         POOL_OK);
    ck_assert_int_eq(pool_destroy(pool), POOL_OK);
    expect_no_zombies();
}
END_TEST

/* Ctrl+C in the middle of a map: the watchdog kills and reaps every worker,
 * and the program exits 130, leaving no process behind. */
static int map_until_interrupted(void *argument)
{
    int pipe_out = *(int *)argument;
    watchdog_start("pool-test", 30);
    struct pool *pool = make_pool(POOL_PROCESSES, 2);
    pid_t pids[2];
    SUB_EXPECT(pool_worker_pids(pool, pids, 2) == 2, 10);
    SUB_EXPECT(write(pipe_out, pids, sizeof pids) == sizeof pids, 11);
    union pool_value arguments[8] = {0};
    struct pool_result results[8];
    pool_map(pool, wait_for_release, arguments, 8, results);
    return 12; /* not reached: the tasks wait for a release that never comes */
}

START_TEST(ctrl_c_mid_map_reaps_everything)
{
    become_subreaper();
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    struct sub sub = sub_start(map_until_interrupted, &fds[1]);
    pid_t pids[2];
    ck_assert_int_eq(read(fds[0], pids, sizeof pids), (ssize_t)sizeof pids);
    ck_assert(wait_for(&board->started, 2, 5));
    ck_assert_int_eq(kill(sub.pid, SIGINT), 0);
    struct sub_result *result = sub_finish(&sub, 5);
    ck_assert(!result->timed_out);
    ck_assert_int_eq(result->status, 130);
    ck_assert_int_eq(orphans_adopted(), 0);
    ck_assert(!pid_exists(pids[0]) && !pid_exists(pids[1]));
    close(fds[0]);
    close(fds[1]);
}
END_TEST

START_TEST(describe_says_who_runs_what)
{
    struct pool *pool = make_pool(_i, 2);
    struct pool_async *running, *other, *queued;
    ck_assert_int_eq(pool_apply_async(pool, wait_for_release, NULL, NULL, NULL,
                                      NULL, &running),
                     POOL_OK);
    ck_assert_int_eq(pool_apply_async(pool, wait_for_release, NULL, NULL, NULL,
                                      NULL, &other),
                     POOL_OK);
    ck_assert_int_eq(pool_apply_async(pool, square, NULL, NULL, NULL, NULL, &queued),
                     POOL_OK);
    ck_assert(wait_for(&board->started, 2, 5));
    clock_sleep(0.01); /* so the running time reads above zero */
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    ck_assert_ptr_nonnull(out);
    pool_describe(pool, out);
    fclose(out);
    char first[64];
    snprintf(first, sizeof first, "pool of 2 %s:\n", pool_kind_name(_i));
    ck_assert_msg(strncmp(text, first, strlen(first)) == 0, "%s", text);
    ck_assert_msg(strstr(text, ": running task 1 for ") != NULL, "%s", text);
    ck_assert_msg(strstr(text, ": running task 2 for ") != NULL, "%s", text);
    ck_assert_msg(strstr(text, " 1 task(s) queued; 3 submitted, 0 completed") != NULL,
                  "%s", text);
    free(text);
    atomic_store(&board->release, 1);
    ck_assert_int_eq(pool_async_get(queued, bound(5), NULL), POOL_OK);
    pool_async_release(running);
    pool_async_release(other);
    pool_async_release(queued);
    finish(pool);
}
END_TEST

START_TEST(status_and_kind_names)
{
    ck_assert_str_eq(pool_status_name(POOL_OK), "OK");
    ck_assert_str_eq(pool_status_name(POOL_WORKER_DIED), "WORKER_DIED");
    ck_assert_str_eq(pool_status_name(POOL_IN_CALLBACK), "IN_CALLBACK");
    ck_assert_str_eq(pool_status_name((enum pool_status)99), "UNKNOWN");
    ck_assert_str_eq(pool_kind_name(POOL_PROCESSES), "processes");
    ck_assert_str_eq(pool_kind_name(POOL_THREADS), "threads");
}
END_TEST

Suite *pool_suite(void)
{
    Suite *suite = suite_create("pool");

    TCase *results = tcase_create("pool_results");
    tcase_add_checked_fixture(results, setup, teardown);
    tcase_set_timeout(results, 20);
    tcase_add_loop_test(results, ten_thousand_callbacks_each_called_once, 0, 2);
    tcase_add_loop_test(results, error_callbacks_for_failing_tasks, 0, 2);
    tcase_add_loop_test(results, apply_returns_the_value_or_the_error, 0, 2);
    tcase_add_loop_test(results, map_keeps_input_order, 0, 2);
    tcase_add_loop_test(results, a_failing_callback_does_not_stop_the_others, 0, 2);
    tcase_add_loop_test(results, submitting_after_close_is_an_error, 0, 2);
    tcase_add_loop_test(results, initializer_runs_once_in_each_worker, 0, 2);
    tcase_add_loop_test(results, workers_and_the_handler_have_names, 0, 2);
    tcase_add_loop_test(results, handle_timeout_cancel_and_result, 0, 2);
    tcase_add_loop_test(results, callbacks_may_submit_more_tasks, 0, 2);
    tcase_add_loop_test(results, join_times_out_while_a_task_runs, 0, 2);
    tcase_add_loop_test(results, a_ring_full_of_cancelled_tasks, 0, 2);
    tcase_add_loop_test(results, describe_says_who_runs_what, 0, 2);
    tcase_add_test(results, status_and_kind_names);
    suite_add_tcase(suite, results);

    TCase *deaths = tcase_create("pool_deaths");
    tcase_add_checked_fixture(deaths, setup, teardown);
    tcase_set_timeout(deaths, 20);
    tcase_add_test(deaths, worker_killed_mid_task);
    tcase_add_test(deaths, worker_exits_mid_task);
    tcase_add_test(deaths, worker_segfaults_mid_task);
    tcase_add_test(deaths, apply_whose_worker_dies);
    tcase_add_test(deaths, idle_worker_killed_is_replaced);
    tcase_add_test(deaths, workers_killed_at_random_instants);
    suite_add_tcase(suite, deaths);

    TCase *ending = tcase_create("pool_ending");
    tcase_add_checked_fixture(ending, setup, teardown);
    tcase_set_timeout(ending, 20);
    tcase_add_test(ending, terminate_while_tasks_run_processes);
    tcase_add_test(ending, terminate_kills_workers_that_ignore_sigterm);
    tcase_add_test(ending, terminate_a_thread_pool);
    tcase_add_loop_test(ending, destroy_without_join_terminates, 0, 2);
    tcase_add_loop_test(ending, terminate_while_a_callback_waits_in_apply, 0, 2);
    tcase_add_test(ending, ctrl_c_mid_map_reaps_everything);
    suite_add_tcase(suite, ending);
    return suite;
}
