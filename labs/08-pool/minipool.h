/* minipool.h: a process pool small enough to read in one sitting
 * (minipool.c), the shape of CPython's multiprocessing.Pool.  Read it
 * before common/pool.h, which is the same idea made fast and crash-proof.
 */
#ifndef LAB_MINIPOOL_H
#define LAB_MINIPOOL_H

#include <stdint.h>

/* A task: a function of this program and one number.  After fork() the
 * workers run the same program image, so a function pointer means the same
 * function in every process: no pickling of code is needed. */
typedef int64_t (*minipool_fn)(int64_t argument);

/* Runs on the parent's result-handler thread, one result at a time. */
typedef void (*minipool_callback)(int64_t value, int worker_pid,
                                  void *context);

struct minipool;

/* Fork `workers` worker processes (>= 1), then start the result handler. */
struct minipool *minipool_create(int workers);

/* Queue fn(argument); `callback(value, ...)` runs in the parent when the
 * result is back (NULL: none).  Returns at once unless the task pipe is
 * full (then it waits for a worker to take a task: backpressure).  A
 * callback must not submit: the handler would wait on itself. */
void minipool_apply_async(struct minipool *pool, minipool_fn fn,
                          int64_t argument, minipool_callback callback,
                          void *context);

/* Queue fn(argument) and wait for its result. */
int64_t minipool_apply(struct minipool *pool, minipool_fn fn, int64_t argument);

/* No more tasks; every worker ends once the queued tasks are done.  Then
 * wait for the workers and the handler (every callback has run), and free. */
void minipool_close_join(struct minipool *pool);

#endif
