/* pool.h: a pool of worker processes (or threads) that runs small tasks.
 *
 * Python's multiprocessing.Pool in C, fast enough to measure what a pool
 * costs rather than what pickling costs:
 *
 *     struct pool *pool = pool_create(&(struct pool_options){.workers = 4});
 *     pool_apply_async(pool, square, &(union pool_value){.numbers = {7}},
 *                      on_result, on_error, NULL, NULL);
 *     pool_close(pool);                       (no more tasks)
 *     pool_join(pool, POOL_FOREVER);          (every callback has run)
 *     pool_destroy(pool);
 *
 * Workers are processes from fork() (the default) or threads of this
 * process: one field, `kind`, switches, and everything else is the same
 * code.  A task is a function of this program plus a small argument (64
 * bytes, copied); its result is another small value, or an error message.
 * A function pointer is valid in a worker process because workers are
 * forked from this very program and never exec anything.
 *
 * Where things run (what lab 08 logs):
 *   - tasks run in the workers ("pool-worker-N": N counts every worker the
 *     pool ever started, as Python's ForkPoolWorker-N does);
 *   - callbacks and error callbacks run in THIS process, one at a time, on
 *     the pool's result-handler thread ("pool-results"), in the order the
 *     results arrive;
 *   - pool_apply() and pool_map() do not need that thread: the calling
 *     thread waits for its own results.
 *
 * Every task ends exactly once, with one of:
 *   POOL_OK           it returned a value;
 *   POOL_FAILED       it returned an error (Python: it raised);
 *   POOL_WORKER_DIED  the worker running it died (SIGKILL, a segfault,
 *                     _exit()): the error names the worker's pid and its
 *                     signal or exit status.  The pool notices within
 *                     milliseconds (a pidfd per worker), starts a
 *                     replacement, and every other task still completes;
 *   POOL_CANCELLED    cancelled: before a worker took it (pool_async_cancel,
 *                     pool_cancel_pending, pool_terminate), or by
 *                     pool_terminate while it ran (the error names the
 *                     worker it stopped).
 * For apply_async, exactly one of the two callbacks runs for each task:
 * `callback` for POOL_OK, `error_callback` for the three others.
 *
 * Capacity: at most `capacity` tasks are in flight (submitted and not yet
 * delivered).  A submission beyond that waits until one completes -- except
 * on the result-handler thread (inside a callback), where waiting could
 * never end, so it returns POOL_FULL instead.
 *
 * Process workers and threads (proc.h's caveats apply):
 *   - workers are started, and replaced, by the pool's supervisor thread
 *     ("pool-supervisor"), never by the caller's thread.  PR_SET_PDEATHSIG
 *     fires when the forking *thread* ends, so that thread lives until every
 *     worker has been reaped (pool_join, pool_terminate, pool_destroy): a
 *     worker can never be killed by the end of some short-lived thread of
 *     yours, and still dies if this whole process dies;
 *   - pool_create() starts the result handler, waits until it runs, then
 *     starts the supervisor, which forks the workers once its creator is out
 *     of pthread_create(); pool_create() returns when every worker has been
 *     started.  After that the pool forks only a replacement, only from its
 *     supervisor, and creates no thread.  Do not create or join threads of
 *     your own while a pool of processes is replacing a worker (the gcc 12
 *     sanitizer runtimes can deadlock the child of a fork() that races
 *     thread creation); in practice: start your threads before the pool;
 *   - workers are registered with proc.h, so the watchdog and Ctrl+C kill
 *     and reap them like any other child.
 *
 * Thread workers cannot be killed from outside (C has no safe way to stop a
 * thread): pool_terminate() cancels the tasks not yet started and waits for
 * the running ones to return.
 *
 * Never call pool_join(), pool_terminate() or pool_destroy() from a
 * callback (they wait for the thread the callback runs on): they return
 * POOL_IN_CALLBACK there.  Nor wait in a callback for another task's
 * handle without a timeout: the thread that would deliver it is the one
 * waiting.  Submitting, pool_apply(), pool_map() and pool_close() are fine
 * in a callback.  The pool's functions are for this process's threads,
 * never for a task running in a worker process.
 */
#ifndef COMMON_POOL_H
#define COMMON_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

enum {
    POOL_VALUE_SIZE = 64,   /* bytes of a task's argument and of its result */
    POOL_ERROR_SIZE = 128,  /* bytes of an error message, with its NUL */
    POOL_MAX_WORKERS = 1024 /* the largest pool; more is a caller's bug */
};

/* Block without a bound of its own (the run's watchdog bounds it). */
#define POOL_FOREVER (-1.0)

/* A task's argument, and its result: 64 bytes, viewed as you like.  Most
 * tasks take or return a number or two:  (union pool_value){.numbers = {7}}. */
union pool_value {
    int64_t numbers[POOL_VALUE_SIZE / 8];
    double reals[POOL_VALUE_SIZE / 8];
    unsigned char bytes[POOL_VALUE_SIZE];
};

/* A task: read *argument, write *result (zeroed beforehand) and return 0;
 * or report a failure: return pool_fail(error, "why %d", ...), which writes
 * the message into `error` (POOL_ERROR_SIZE bytes) and returns -1.  Any
 * other non-zero return is a failure too ("task failed with status N" if
 * it left `error` empty).  It runs in a worker: in a process pool, what it
 * writes to this program's variables stays in that worker. */
typedef int (*pool_task_fn)(const union pool_value *argument,
                            union pool_value *result, char *error);

/* printf-style; always returns -1.  `error` is the task's third argument. */
int pool_fail(char *error, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

enum pool_status {
    POOL_OK,          /* submitted; or the task returned its value */
    POOL_FAILED,      /* the task returned an error */
    POOL_WORKER_DIED, /* the worker running the task died */
    POOL_CANCELLED,   /* the task never ran (terminate, or cancel) */
    POOL_TIMEOUT,     /* the wait ended before the task did */
    POOL_CLOSED,      /* submitted after pool_close() or pool_terminate() */
    POOL_FULL,        /* submitted from a callback while `capacity` tasks
                         were in flight (waiting there could never end) */
    POOL_STILL_OPEN,  /* pool_join() before pool_close() or pool_terminate() */
    POOL_IN_CALLBACK  /* join/terminate/destroy called from a callback */
};

/* How a task ended, as delivered to callbacks, pool_apply() and handles. */
struct pool_result {
    enum pool_status status; /* POOL_OK, FAILED, WORKER_DIED or CANCELLED */
    union pool_value value;  /* the task's result (POOL_OK) */
    /* Otherwise, for a person: the task's own message; "worker 4242
     * (pool-worker-3) died while running the task: killed by signal 9
     * (Killed)"; or "cancelled: ...". */
    char error[POOL_ERROR_SIZE];
    uint64_t task_id;  /* 1, 2, 3... in submission order, per pool */
    pid_t worker_pid;  /* the process that ran it (0: it never ran) */
    pid_t worker_tid;  /* the thread that ran it (= worker_pid for a process) */
    int worker_number; /* N of pool-worker-N (0: it never ran) */
    int exitcode;      /* POOL_WORKER_DIED: >= 0 status, -N signal N */
    /* clock_seconds() (monotonic, the same clock in every process) when a
     * worker took the task and when it returned; 0 if it never ran. */
    double started, finished;
};

/* Runs on the result-handler thread, with `context` as given at submission.
 * Return 0; any other value counts the callback as failed
 * (pool_stats().callback_failures), and the pool goes on delivering every
 * other result: unlike Python's, one bad callback stops nothing. */
typedef int (*pool_callback_fn)(const struct pool_result *result,
                                void *context);

/* Runs once in each worker (each replacement too) before its first task. */
typedef void (*pool_initializer_fn)(void *argument);

enum pool_kind { POOL_PROCESSES, POOL_THREADS };

/* Every field may be left 0 (designated initializers) for its default. */
struct pool_options {
    enum pool_kind kind;             /* default POOL_PROCESSES */
    int workers;                     /* default proc_cpu_count() */
    pool_initializer_fn initializer; /* default none */
    void *initializer_argument;
    int capacity;                    /* tasks in flight; default 4096 */
    double terminate_grace;          /* seconds pool_terminate() lets workers
                                        end after SIGTERM before SIGKILL;
                                        default 1.0 */
};

struct pool;

/* Start a pool (options NULL: every default).  Returns once every worker
 * has been started (they may still be running their initializer).  Never
 * fails: a bad option (workers < 0 or > POOL_MAX_WORKERS, capacity < 0) is
 * a caller's bug and stops the program (EINVAL), as does a failed system
 * call. */
struct pool *pool_create(const struct pool_options *options);

/* Every pool created after this call (trace NULL: none) adds its
 * asynchronous tasks (pool_apply_async and what is built on it; not the
 * waited ones of pool_apply and pool_map) to a timeline (trace.h), on the
 * handler thread as each result is delivered:
 * a row per task ("queued" from submission until a worker took it, then
 * "running"), each worker's row (the tasks it ran), the handler thread's
 * row (each callback), and arrows submitted -> ran -> callback.  Call it
 * from main before any pool exists. */
struct trace;
void pool_trace_all(struct trace *trace);

/* Run task(argument) in a worker and wait for it (Python's apply): returns
 * the task's status (POOL_OK, FAILED, WORKER_DIED, CANCELLED if the pool is
 * terminated meanwhile) and fills *result (may be NULL); or POOL_CLOSED, or
 * POOL_FULL (from a callback), without running anything.  argument NULL
 * means all zero.  The calling thread spins a few microseconds before it
 * sleeps, so a short task costs no sleep and wake-up at all. */
enum pool_status pool_apply(struct pool *pool, pool_task_fn task,
                            const union pool_value *argument,
                            struct pool_result *result);

/* A handle on one task submitted with pool_apply_async (AsyncResult). */
struct pool_async;

/* Submit task(argument) and return at once (Python's apply_async).  When it
 * ends, `callback` (status POOL_OK) or `error_callback` (any other) runs on
 * the result-handler thread with `context`; either may be NULL.  If
 * `handle` is not NULL, *handle receives a handle to wait on, which the
 * caller must release with pool_async_release() (before or after the task
 * ends).  Returns POOL_OK, POOL_CLOSED or POOL_FULL (then nothing was
 * submitted, no callback will run, and *handle is set to NULL). */
enum pool_status pool_apply_async(struct pool *pool, pool_task_fn task,
                                  const union pool_value *argument,
                                  pool_callback_fn callback,
                                  pool_callback_fn error_callback,
                                  void *context, struct pool_async **handle);

/* Has the task ended (and its callback run)?  Never blocks. */
bool pool_async_ready(struct pool_async *handle);

/* Is a worker running it now?  Never blocks. */
bool pool_async_running(struct pool_async *handle);

/* Wait at most `timeout` seconds (POOL_FOREVER: no bound of its own) for
 * the task to end and its callback to have run.  Returns POOL_TIMEOUT, or
 * the task's status with *result filled (result may be NULL).  A task
 * cancelled with pool_async_cancel() reports POOL_CANCELLED at once, even
 * before its error callback has run.  Safe from several threads at once. */
enum pool_status pool_async_get(struct pool_async *handle, double timeout,
                                struct pool_result *result);

/* Cancel the task if no worker has taken it yet: it then ends as
 * POOL_CANCELLED (its error_callback runs) and this returns true, as it
 * does for a task already cancelled.  Returns false once a worker took it,
 * or once it has ended otherwise. */
bool pool_async_cancel(struct pool_async *handle);

/* The caller is done with the handle.  The task itself goes on. */
void pool_async_release(struct pool_async *handle);

/* Run task(arguments[i]) for i < count across the workers and wait for all
 * of them (Python's map); results[i] is the i-th task's result, whatever
 * order they finished in.  Returns POOL_OK if every task succeeded, else
 * the status of the first failed one in input order (every results[i] is
 * still filled; items the pool was closed before it could submit are
 * POOL_CANCELLED); POOL_CLOSED (nothing run); POOL_FULL from a callback
 * when no task could be submitted.  count may be 0.  At most half the
 * capacity is in flight at once, the rest submitted as results come in. */
enum pool_status pool_map(struct pool *pool, pool_task_fn task,
                          const union pool_value *arguments, size_t count,
                          struct pool_result *results);

/* Cancel every task no worker has taken yet (Python 3.9's
 * shutdown(cancel_futures=True)): each ends as POOL_CANCELLED, its error
 * callback runs, a waiting pool_apply/pool_map gets POOL_CANCELLED for it.
 * Running tasks go on.  Returns how many were cancelled. */
int pool_cancel_pending(struct pool *pool);

/* No more tasks: later submissions return POOL_CLOSED.  The tasks already
 * submitted still run; then the workers exit.  Safe from any thread, twice
 * too. */
void pool_close(struct pool *pool);

/* Stop now: tasks not yet started end as POOL_CANCELLED (their error
 * callbacks run); process workers get SIGTERM, then SIGKILL after
 * terminate_grace seconds, and their running tasks end as POOL_CANCELLED;
 * thread workers finish their current task.  Returns, every worker reaped
 * and every callback run, within about terminate_grace seconds for
 * processes.  Later submissions return POOL_CLOSED.  Returns POOL_OK, or
 * POOL_IN_CALLBACK (nothing done). */
enum pool_status pool_terminate(struct pool *pool);

/* Wait, at most `timeout` seconds, for the workers to exit after
 * pool_close() or pool_terminate(), and for every result to be delivered.
 * Returns POOL_OK (then no callback of this pool runs any more), POOL_TIMEOUT
 * (still closing: call again), POOL_STILL_OPEN (neither close nor terminate
 * was called: nothing waited) or POOL_IN_CALLBACK. */
enum pool_status pool_join(struct pool *pool, double timeout);

/* Free the pool.  If it was not joined: pool_terminate() and pool_join()
 * first (Python's `with Pool() as p:` terminates on exit).  Does nothing
 * from a callback (returns POOL_IN_CALLBACK), else POOL_OK. */
enum pool_status pool_destroy(struct pool *pool);

/* ---- Looking at a pool (never block) ------------------------------------- */

int pool_size(const struct pool *pool);
enum pool_kind pool_kind_of(const struct pool *pool);

/* The current workers' pids (thread ids for a thread pool), in worker-slot
 * order; returns how many (<= pool_size()).  A worker that has ended stays
 * listed until the pool has reaped it; then its slot is skipped until its
 * replacement has started. */
int pool_worker_pids(struct pool *pool, pid_t *pids, int capacity);

struct pool_stats {
    uint64_t submitted;          /* tasks accepted */
    uint64_t completed;          /* tasks delivered, any status */
    uint64_t failed;             /* ... with POOL_FAILED */
    uint64_t worker_deaths;      /* workers that died unasked */
    uint64_t workers_started;    /* every worker ever started, replacements
                                    included (N of the last pool-worker-N) */
    uint64_t callback_failures;  /* callbacks that returned non-zero */
};
struct pool_stats pool_stats(struct pool *pool);

/* For a watchdog diagnosis (watchdog.h): one line per worker -- pid, name,
 * the task it runs and for how long, or "idle" -- then the tasks queued and
 * the totals.  Reads atomics only, so it is safe whatever state the pool
 * is in, from any thread. */
void pool_describe(struct pool *pool, FILE *out);

/* "OK", "FAILED", "WORKER_DIED", ... (the enumerators without POOL_). */
const char *pool_status_name(enum pool_status status);
/* "processes" or "threads". */
const char *pool_kind_name(enum pool_kind kind);

#endif
