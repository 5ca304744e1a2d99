/* executor.h: concurrent.futures in C -- an executor that returns futures.
 *
 * Python's ThreadPoolExecutor and ProcessPoolExecutor share one interface;
 * switching between them is one word.  Here too:
 *
 *     struct executor *executor = executor_create(POOL_PROCESSES, 3);
 *     struct future *future;
 *     executor_submit(executor, slow_square, &(union pool_value){.numbers = {4}},
 *                     &future);
 *     future_running(future);                    (true once a worker took it)
 *     struct pool_result result;
 *     if (future_result(future, 0.5, &result) == POOL_TIMEOUT) ...
 *     future_release(future);
 *     executor_shutdown(executor, true, false);  (wait for every task)
 *     executor_destroy(executor);
 *
 * It is a thin layer over pool.h: tasks, values, statuses and where things
 * run are pool.h's.  A future moves through Python's four states:
 *
 *     PENDING --(a worker takes it)--> RUNNING --> FINISHED (value or error)
 *        \--(future_cancel)--> CANCELLED
 *
 * A future can be cancelled only while PENDING; a RUNNING one runs to its
 * end.  Every wait takes a timeout in seconds (POOL_FOREVER: no bound of its
 * own) and reports POOL_TIMEOUT when it passes -- Python's TimeoutError.
 */
#ifndef COMMON_EXECUTOR_H
#define COMMON_EXECUTOR_H

#include "pool.h"

#include <stdbool.h>

struct executor;
struct future;

enum future_state {
    FUTURE_PENDING,  /* submitted, no worker has taken it */
    FUTURE_RUNNING,  /* a worker is running it */
    FUTURE_FINISHED, /* it ended: a value, an error, or its worker died */
    FUTURE_CANCELLED /* cancelled before it started (or by shutdown with
                        cancel_futures, or a terminated pool) */
};

/* An executor of `workers` processes or threads (0: proc_cpu_count()). */
struct executor *executor_create(enum pool_kind kind, int workers);

/* The same, with every pool option (initializer, capacity...). */
struct executor *executor_create_with(const struct pool_options *options);

/* Submit task(argument) (NULL: all zero).  Returns POOL_OK and sets
 * *future, which the caller releases with future_release(); or, after
 * executor_shutdown(), POOL_CLOSED with *future NULL (Python raises
 * RuntimeError).  Waits while the executor has `capacity` tasks in flight. */
enum pool_status executor_submit(struct executor *executor, pool_task_fn task,
                                 const union pool_value *argument,
                                 struct future **future);

/* No more submissions.  wait: return only once every submitted task has
 * ended and the workers have exited (then the executor may be destroyed at
 * once).  cancel_futures: first cancel every task not yet started (Python
 * 3.9).  Safe to call twice; the second call may wait where the first did
 * not.  Not from inside a task. */
void executor_shutdown(struct executor *executor, bool wait,
                       bool cancel_futures);

/* Shut down (wait = true) if that was not done with wait, then free. */
void executor_destroy(struct executor *executor);

/* The pool underneath, for its statistics and worker pids. */
struct pool *executor_pool(struct executor *executor);

/* ---- Futures ------------------------------------------------------------- */

/* The state now (never blocks). */
enum future_state future_state(struct future *future);
bool future_done(struct future *future);      /* FINISHED or CANCELLED */
bool future_running(struct future *future);   /* RUNNING */
bool future_cancelled(struct future *future); /* CANCELLED */

/* Cancel it if it is still PENDING: returns true (it is now CANCELLED, or
 * already was).  Returns false if it is RUNNING or FINISHED. */
bool future_cancel(struct future *future);

/* Wait for its outcome, at most `timeout` seconds.  Returns POOL_TIMEOUT
 * (still pending or running; *result untouched), POOL_CANCELLED, or how the
 * task ended -- POOL_OK with result->value, POOL_FAILED or POOL_WORKER_DIED
 * with result->error.  result may be NULL. */
enum pool_status future_result(struct future *future, double timeout,
                               struct pool_result *result);

/* Python's exception(timeout): wait the same way, then copy the error (if
 * any) into error[size].  Returns POOL_TIMEOUT, POOL_CANCELLED, POOL_OK (the
 * task succeeded: no exception, error set to ""), or POOL_FAILED /
 * POOL_WORKER_DIED with the message. */
enum pool_status future_exception(struct future *future, double timeout,
                                  char *error, size_t size);

/* The caller is done with the future (it may still be running). */
void future_release(struct future *future);

/* "PENDING", "RUNNING", "FINISHED", "CANCELLED". */
const char *future_state_name(enum future_state state);

#endif
