/* futures.c: concurrent.futures in C -- one executor over threads or
 * processes, and every state of a future (E15).
 *
 * The documents submit 6 tasks of 2 s to an executor of 3 workers and poll
 * done() and cancel() in a loop; switching ThreadPoolExecutor for
 * ProcessPoolExecutor is the one line they change.  Here --kind is that
 * line.  The run walks a future through every state and every call:
 *   PENDING   submitted, no worker free: cancel() succeeds
 *   RUNNING   a worker took it: cancel() fails, result(timeout) times out
 *   FINISHED  a value -- or an error the task reported, carried back from
 *             the worker (Python: the exception, re-raised by result())
 *   CANCELLED it never ran
 * then shutdown(wait=True), after which submit() is refused.
 */
#define _GNU_SOURCE
#include "lab.h"

#include "checked.h"
#include "executor.h"
#include "log.h"
#include "timing.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

enum { SLOW = 6, FUTURES = SLOW + 1 }; /* the documents' 6, and one that fails */

/* The documents' worker(): sleep, say so.  argument: numbers[0] = index,
 * reals[1] = seconds.  Returns index * index. */
static int worker(const union pool_value *argument, union pool_value *result,
                  char *error)
{
    (void)error;
    clock_sleep(argument->reals[1]);
    log_line("I am working (f%" PRId64 ")", argument->numbers[0]);
    result->numbers[0] = argument->numbers[0] * argument->numbers[0];
    return 0;
}

/* A task that fails the way real code does: a file that is not there.
 * The message travels back from the worker to whoever asks the future. */
static int read_settings(const union pool_value *argument,
                         union pool_value *result, char *error)
{
    (void)argument;
    (void)result;
    const char *path = "/nonexistent/settings.json";
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd == -1)
        return pool_fail(error, "open(%s): %s", path, strerror(errno));
    close(fd);
    return 0;
}

static void show_states(const char *when, struct future **futures, int count)
{
    printf("  %-28s", when);
    for (int i = 0; i < count; i++)
        printf(i + 1 < count ? " f%d %-9s" : " f%d %s", i,
               future_state_name(future_state(futures[i])));
    printf("\n");
}

static bool all_running(struct future **futures, int count)
{
    for (int i = 0; i < count; i++)
        if (!future_running(futures[i]))
            return false;
    return true;
}

int experiment_futures(const struct options *o)
{
    int workers = o->workers ? o->workers : 3;
    double seconds = 2 * o->scale; /* the documents' time.sleep(2) */
    enum pool_kind kind = o->kind == KIND_THREAD ? POOL_THREADS : POOL_PROCESSES;
    printf("pool: E15 -- an executor of %d worker %s (--kind %s: the one word "
           "that changes),\n%d tasks of %g s each\n",
           workers, pool_kind_name(kind),
           o->kind == KIND_THREAD ? "thread" : "process", SLOW, seconds);
    bool right = true;
#define EXPECT(condition)                                                      \
    do {                                                                       \
        if (!(condition)) {                                                    \
            printf("  WRONG: expected %s\n", #condition);                      \
            right = false;                                                     \
        }                                                                      \
    } while (0)

    double start = clock_seconds();
    struct executor *executor = executor_create(kind, workers);
    struct future *futures[FUTURES];
    for (int i = 0; i < SLOW; i++) {
        union pool_value argument = {.numbers = {i}};
        argument.reals[1] = seconds;
        CHECK_POOL(executor_submit(executor, worker, &argument, &futures[i]));
    }
    show_states("just submitted:", futures, SLOW);
    /* Tutorial 004 says submit() blocks while no worker is free.  It does
     * not, in CPython or here: it queues the task and returns its future
     * at once, as the PENDING states just printed show. */
    printf("  all %d submit() calls returned at once, %d workers for %d "
           "tasks: submit() never waits\n  for a free worker (tutorial 004 "
           "says it blocks; CPython queues the task too)\n",
           SLOW, workers, SLOW);

    /* Wait (a bounded poll) until the first `workers` have been taken. */
    int busy = workers < SLOW ? workers : SLOW;
    double deadline = clock_seconds() + seconds / 2;
    while (!all_running(futures, busy) && clock_seconds() < deadline)
        clock_sleep(0.0005);
    show_states("once the workers took some:", futures, SLOW);
    for (int i = 0; i < SLOW; i++)
        EXPECT(future_running(futures[i]) == (i < busy));

    /* cancel(): only a future no worker has taken. */
    int last = SLOW - 1, first = 0;
    bool cancelled = future_cancel(futures[last]);
    printf("  cancel(f%d) -> %s: it was PENDING; now cancelled() = %s, done() "
           "= %s\n", last, cancelled ? "true" : "false",
           future_cancelled(futures[last]) ? "true" : "false",
           future_done(futures[last]) ? "true" : "false");
    EXPECT(cancelled && future_cancelled(futures[last]) &&
           future_done(futures[last]));
    cancelled = future_cancel(futures[first]);
    printf("  cancel(f%d) -> %s: it is RUNNING, and runs to its end; "
           "running() = %s\n", first, cancelled ? "true" : "false",
           future_running(futures[first]) ? "true" : "false");
    EXPECT(!cancelled && future_running(futures[first]));

    /* result(timeout) and exception(timeout) before the task is done. */
    struct pool_result result;
    double wait = seconds / 4;
    double asked = clock_seconds();
    enum pool_status status = future_result(futures[first], wait, &result);
    printf("  result(f%d, timeout=%g s) -> %s after %.3f s: Python's "
           "TimeoutError; the task goes on\n", first, wait,
           pool_status_name(status), clock_seconds() - asked);
    EXPECT(status == POOL_TIMEOUT && !future_done(futures[first]));
    char error[POOL_ERROR_SIZE];
    status = future_exception(futures[1], wait, error, sizeof error);
    printf("  exception(f1, timeout=%g s) -> %s\n", wait,
           pool_status_name(status));
    EXPECT(status == POOL_TIMEOUT);

    /* A task that fails: its error comes back as the future's exception. */
    CHECK_POOL(executor_submit(executor, read_settings, NULL,
                               &futures[SLOW]));
    status = future_exception(futures[SLOW], POOL_FOREVER, error,
                              sizeof error);
    printf("  f%d = submit(read_settings); exception(f%d) -> %s: \"%s\"\n",
           SLOW, SLOW, pool_status_name(status), error);
    EXPECT(status == POOL_FAILED && strstr(error, "No such file") != NULL);
    status = future_result(futures[SLOW], POOL_FOREVER, &result);
    printf("  result(f%d) -> %s too (Python re-raises the exception)\n", SLOW,
           pool_status_name(status));
    EXPECT(status == POOL_FAILED && strcmp(result.error, error) == 0);

    /* Every outcome. */
    for (int i = 0; i < SLOW; i++) {
        status = future_result(futures[i], POOL_FOREVER, &result);
        if (status == POOL_OK) {
            printf("  result(f%d) -> %" PRId64 " (ran in pid %d, tid %d)\n",
                   i, result.value.numbers[0], (int)result.worker_pid,
                   (int)result.worker_tid);
            EXPECT(result.value.numbers[0] == (int64_t)i * i);
        } else {
            printf("  result(f%d) -> %s (%s)\n", i, pool_status_name(status),
                   result.error);
        }
        EXPECT(status == (i == last ? POOL_CANCELLED : POOL_OK));
        if (i == last)
            EXPECT(result.worker_pid == 0); /* it never ran */
    }
    show_states("at the end:", futures, FUTURES);
    for (int i = 0; i < FUTURES; i++)
        EXPECT(future_state(futures[i]) ==
               (i == last ? FUTURE_CANCELLED : FUTURE_FINISHED));

    /* shutdown(wait=True): what `with ...Executor() as e:` does on exit. */
    executor_shutdown(executor, true, false);
    struct future *late = NULL;
    status = executor_submit(executor, worker, NULL, &late);
    printf("  shutdown(wait=true), then submit() -> %s (Python: "
           "RuntimeError)\n", pool_status_name(status));
    EXPECT(status == POOL_CLOSED && late == NULL);
    for (int i = 0; i < FUTURES; i++)
        future_release(futures[i]);
    executor_destroy(executor);
    int rounds = (SLOW - 1 + workers - 1) / workers;
    printf("  elapsed %.3f s: %d round%s of %g s (%d tasks ran, %d at a "
           "time; the failing one\n  took no time)\n", clock_seconds() - start,
           rounds, rounds == 1 ? "" : "s", seconds, SLOW - 1, workers);
#undef EXPECT
    if (!right) {
        fprintf(stderr, "pool: WRONG: a future did not behave as E15 says "
                        "(see above)\n");
        return EXIT_WRONG;
    }
    return EXIT_OK;
}
