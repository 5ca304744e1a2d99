/* minipool.c: a process pool small enough to read in one sitting.
 *
 * The shape of CPython's multiprocessing.Pool, in ~150 lines:
 *
 *   parent                                  workers (started once, reused)
 *   apply_async() --- task pipe ----------> read a task, run it
 *   result handler <-- result pipe -------- write its result
 *   (a thread) runs the callback
 *
 * Every worker reads the same task pipe, so whichever is free takes the next
 * task; every worker writes the same result pipe, and one thread of the
 * parent reads it and runs the callbacks.  That thread is why the documents
 * (E3) see their callbacks in the parent, all on one thread.
 *
 * Frames.  CPython pickles each task into a frame (its length, then its
 * bytes); frames differ in size, so the workers must take a lock to read
 * one whole.  Here every frame has the same small size, under PIPE_BUF: the
 * kernel writes each one whole (POSIX: writes of at most PIPE_BUF bytes to
 * a pipe are atomic), and a read of exactly one frame takes exactly one, so
 * no lock is needed.
 *
 * What it leaves out, and common/pool.h does not: a killed worker's task is
 * lost here (as in CPython's Pool: its caller would wait forever, so the
 * labs' watchdog bounds every run); every task costs two system calls
 * each way (common/pool keeps tasks in shared memory and sleeps only when
 * there is nothing to do); and a callback cannot submit.
 */
#include "minipool.h"

#include "checked.h"
#include "proc.h"

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

struct task_frame { /* parent -> worker */
    uint64_t id;    /* 0: no more tasks, the worker ends */
    minipool_fn fn;
    int64_t argument;
};

struct result_frame { /* worker -> parent */
    uint64_t id;
    int64_t value;
    int64_t worker_pid;
};

_Static_assert(sizeof(struct task_frame) <= PIPE_BUF, "a frame is atomic");
_Static_assert(sizeof(struct result_frame) <= PIPE_BUF, "a frame is atomic");

struct pending { /* the parent's record of a task, by id */
    minipool_callback callback;
    void *context;
    bool done;
    int64_t value;
};

struct minipool {
    int workers;
    struct proc *procs;
    int task_read, task_write, result_read, result_write;
    pthread_t handler;
    pthread_mutex_t lock; /* guards everything below */
    pthread_cond_t finished;
    struct pending *pending; /* index: task id */
    uint64_t capacity, next_id;
};

/* read()/write() of one whole frame, resuming after a signal.  A pipe
 * moves a frame of at most PIPE_BUF bytes whole, so a short count means
 * end of file (the other end closed), never half a frame. */
static bool read_frame(int fd, void *frame, size_t size)
{
    ssize_t got;
    while ((got = read(fd, frame, size)) == -1 && errno == EINTR)
        ;
    if (got == -1)
        die_at(__FILE__, __LINE__, "read(frame)", errno);
    return (size_t)got == size;
}

static void write_frame(int fd, const void *frame, size_t size)
{
    ssize_t put;
    while ((put = write(fd, frame, size)) == -1 && errno == EINTR)
        ;
    if (put != (ssize_t)size)
        die_at(__FILE__, __LINE__, "write(frame)", put == -1 ? errno : EIO);
}

/* ---- A worker: take a task, run it, send the result, again -------------- */

static int worker_main(void *arg)
{
    /* EXERCISE 8: until the task pipe ends or brings id 0: read a task
     * frame, run task.fn(task.argument), write a result frame (with this
     * worker's pid) to the result pipe
     * instead: (void)arg; */
    const struct minipool *pool = arg;
    struct task_frame task;
    while (read_frame(pool->task_read, &task, sizeof task) && task.id != 0) {
        struct result_frame result = {.id = task.id,
                                      .value = task.fn(task.argument),
                                      .worker_pid = getpid()};
        write_frame(pool->result_write, &result, sizeof result);
    }
    return 0;
}

/* ---- The parent's result handler: one thread runs every callback -------- */

static void *handler_main(void *arg)
{
    struct minipool *pool = arg;
    struct result_frame result;
    /* End of file once every worker has exited: nobody can write again. */
    while (read_frame(pool->result_read, &result, sizeof result)) {
        CHECK_PT(pthread_mutex_lock(&pool->lock));
        struct pending task = pool->pending[result.id];
        CHECK_PT(pthread_mutex_unlock(&pool->lock));
        if (task.callback != NULL) /* outside the lock: it may take long */
            task.callback(result.value, (int)result.worker_pid, task.context);
        CHECK_PT(pthread_mutex_lock(&pool->lock));
        pool->pending[result.id].value = result.value;
        pool->pending[result.id].done = true;
        CHECK_PT(pthread_cond_broadcast(&pool->finished));
        CHECK_PT(pthread_mutex_unlock(&pool->lock));
    }
    return NULL;
}

struct minipool *minipool_create(int workers)
{
    struct minipool *pool = xcalloc(1, sizeof *pool);
    int tasks[2], results[2];
    CHECK(pipe(tasks));
    CHECK(pipe(results));
    *pool = (struct minipool){.workers = workers, .task_read = tasks[0],
                              .task_write = tasks[1],
                              .result_read = results[0],
                              .result_write = results[1], .next_id = 1};
    pool->procs = xcalloc((size_t)workers, sizeof *pool->procs);
    CHECK_PT(pthread_mutex_init(&pool->lock, NULL));
    CHECK_PT(pthread_cond_init(&pool->finished, NULL));
    /* Each worker keeps only its two ends (proc.h closes the rest). */
    const int keep[] = {pool->task_read, pool->result_write};
    for (int i = 0; i < workers; i++)
        proc_start_keeping(&pool->procs[i], "minipool-worker", worker_main,
                           pool, keep, 2);
    /* The parent's copies of the workers' ends: closed, so that the result
     * pipe reads end of file when the last worker exits. */
    CHECK(close(pool->task_read));
    CHECK(close(pool->result_write));
    /* The thread comes after the forks: never fork while a thread starts. */
    CHECK_PT(pthread_create(&pool->handler, NULL, handler_main, pool));
    return pool;
}

/* Record a task, then send it.  The record comes first: its result may be
 * back before write() returns. */
static uint64_t submit(struct minipool *pool, minipool_fn fn, int64_t argument,
                       minipool_callback callback, void *context)
{
    CHECK_PT(pthread_mutex_lock(&pool->lock));
    uint64_t id = pool->next_id++;
    if (id >= pool->capacity) {
        uint64_t grown = pool->capacity ? 2 * pool->capacity : 1024;
        struct pending *bigger = realloc(pool->pending, grown * sizeof *bigger);
        if (bigger == NULL)
            die_at(__FILE__, __LINE__, "realloc(pending)", errno);
        pool->pending = bigger;
        pool->capacity = grown;
    }
    pool->pending[id] = (struct pending){.callback = callback,
                                         .context = context};
    CHECK_PT(pthread_mutex_unlock(&pool->lock));
    struct task_frame task = {.id = id, .fn = fn, .argument = argument};
    write_frame(pool->task_write, &task, sizeof task);
    return id;
}

void minipool_apply_async(struct minipool *pool, minipool_fn fn,
                          int64_t argument, minipool_callback callback,
                          void *context)
{
    submit(pool, fn, argument, callback, context);
}

int64_t minipool_apply(struct minipool *pool, minipool_fn fn, int64_t argument)
{
    uint64_t id = submit(pool, fn, argument, NULL, NULL);
    CHECK_PT(pthread_mutex_lock(&pool->lock));
    while (!pool->pending[id].done) /* the labs' watchdog bounds this wait */
        CHECK_PT(pthread_cond_wait(&pool->finished, &pool->lock));
    int64_t value = pool->pending[id].value;
    CHECK_PT(pthread_mutex_unlock(&pool->lock));
    return value;
}

void minipool_close_join(struct minipool *pool)
{
    /* One end-of-work frame per worker, behind every queued task. */
    for (int i = 0; i < pool->workers; i++)
        write_frame(pool->task_write, &(struct task_frame){.id = 0},
                    sizeof(struct task_frame));
    CHECK(close(pool->task_write));
    for (int i = 0; i < pool->workers; i++)
        proc_join(&pool->procs[i], -1);
    CHECK_PT(pthread_join(pool->handler, NULL)); /* every callback has run */
    CHECK(close(pool->result_read));
    CHECK_PT(pthread_cond_destroy(&pool->finished));
    CHECK_PT(pthread_mutex_destroy(&pool->lock));
    free(pool->pending);
    free(pool->procs);
    free(pool);
}
