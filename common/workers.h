/* workers.h: run the same kernel W times, serially, as threads or as
 * processes.
 *
 * The will-it-scale idea: a lab writes its measured work once, as a
 * worker_fn, and this runner decides how the W copies run.  So the three
 * results of an experiment differ only in the one thing being taught.
 *
 *   serial     one thread runs worker 0, then worker 1, ... (Python's plain loop)
 *   threads    W threads of this process (threading.Thread)
 *   processes  W child processes from fork() (multiprocessing.Process)
 *
 * The worker records live in shared memory (an anonymous MAP_SHARED
 * mapping), so a child process's result reaches the parent without any
 * message passing: the parent reads them after joining.
 *
 * Threads may run under an emulated interpreter lock (gil.h): each thread
 * then holds the GIL while its kernel runs, and the kernel's calls to
 * worker_checkpoint() are where it may be asked to hand the GIL over.
 */
#ifndef COMMON_WORKERS_H
#define COMMON_WORKERS_H

#include "gil.h"

#include <stdint.h>
#include <sys/types.h>

enum run_mode { RUN_SERIAL, RUN_THREADS, RUN_PROCESSES };

struct worker {
    /* Set by the runner before the kernel starts. */
    int index;
    char name[24];     /* "worker-2": the log name, the process name */
    const void *input; /* the lab's parameters, read-only and shared */
    struct gil *gil;   /* non-NULL: run under the emulated GIL */

    /* Set by the kernel (result) and by the runner (the rest). */
    uint64_t result;
    pid_t pid, tid;
    double started, finished; /* clock_seconds() around the kernel */
    int status;               /* the kernel's return value; for a process,
                                 its exit code (-N: killed by signal N) */
};

/* The measured work.  Returns 0 on success (any other value is a failure
 * the lab reports); puts its answer in self->result. */
typedef int (*worker_fn)(struct worker *self);

struct worker_run {
    enum run_mode mode;
    int count;
    struct worker *workers; /* count records, in shared memory */
    double seconds;         /* first start to last join, monotonic */
    int failed;             /* workers whose status is not 0 */
};

/* Run `count` copies of `kernel`, the i-th with index i, and wait for all of
 * them.  `gil` must be NULL unless mode is RUN_THREADS.  Release the result
 * with worker_run_release(). */
struct worker_run workers_run(enum run_mode mode, int count, worker_fn kernel,
                              const void *input, struct gil *gil);
void worker_run_release(struct worker_run *run);

const char *run_mode_name(enum run_mode mode);

/* Add a finished run to a timeline (trace.h): each worker's row named
 * "LABEL worker-I", and -- unless it ran under the GIL, whose own slices
 * say more (gil_set_trace) -- one slice "counting" from its start to its
 * end.  For process workers, each worker is a process row of its own. */
struct trace;
void workers_trace(struct trace *trace, const struct worker_run *run,
                   const char *label);

/* Call from the kernel's loop every few thousand iterations: a no-op unless
 * the worker runs under the GIL, where it is the eval-breaker poll. */
static inline void worker_checkpoint(struct worker *self)
{
    if (self->gil != NULL)
        gil_checkpoint(self->gil);
}

#endif
