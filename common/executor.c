/* executor.c: futures over the pool (see executor.h).
 *
 * A future is a pool handle; its state is read from two places: the handle
 * (finished or cancelled, once the result-handler thread completed it) and
 * the task's entry in the pool's shared memory (PENDING = QUEUED, RUNNING =
 * claimed by a worker), which is where a worker process records that it took
 * the task.  The entry is freed only after the handle completes, so while
 * the handle is not complete the entry still describes this task. */
#include "executor.h"

#include "checked.h"
#include "pool_internal.h"

#include <stdlib.h>
#include <string.h>

struct executor {
    struct pool *pool;
};

struct future {
    struct pool_async *handle;
};

struct executor *executor_create_with(const struct pool_options *options)
{
    struct executor *executor = xcalloc(1, sizeof *executor);
    executor->pool = pool_create(options);
    return executor;
}

struct executor *executor_create(enum pool_kind kind, int workers)
{
    return executor_create_with(
        &(struct pool_options){.kind = kind, .workers = workers});
}

struct pool *executor_pool(struct executor *executor) { return executor->pool; }

enum pool_status executor_submit(struct executor *executor, pool_task_fn task,
                                 const union pool_value *argument,
                                 struct future **future)
{
    *future = NULL;
    struct pool_async *handle;
    enum pool_status status = pool_apply_async(executor->pool, task, argument,
                                               NULL, NULL, NULL, &handle);
    if (status != POOL_OK)
        return status;
    *future = xcalloc(1, sizeof **future);
    (*future)->handle = handle;
    return POOL_OK;
}

void executor_shutdown(struct executor *executor, bool wait,
                       bool cancel_futures)
{
    /* Close first: nothing new can slip in behind the cancel. */
    pool_close(executor->pool);
    if (cancel_futures)
        pool_cancel_pending(executor->pool);
    if (!wait)
        return;
    pool_join(executor->pool, POOL_FOREVER);
}

void executor_destroy(struct executor *executor)
{
    executor_shutdown(executor, true, false);
    pool_destroy(executor->pool);
    free(executor);
}

/* ---- Futures ------------------------------------------------------------- */

static enum future_state state_of_result(const struct pool_result *result)
{
    return result->status == POOL_CANCELLED ? FUTURE_CANCELLED : FUTURE_FINISHED;
}

enum future_state future_state(struct future *future)
{
    struct pool_async *handle = future->handle;
    for (;;) {
        if (pool_async_ready(handle))
            return state_of_result(&handle->result);
        uint64_t state =
            atomic_load(&handle->pool->entries[handle->entry].state);
        /* Still not complete after reading the entry: then the entry was
         * not yet freed when we read it, and it is this task's. */
        if (pool_async_ready(handle))
            return state_of_result(&handle->result);
        if (state_ticket(state) != handle->ticket)
            continue; /* cannot happen; read again */
        switch (state_phase(state)) {
        case PHASE_QUEUED:
            return FUTURE_PENDING;
        case PHASE_RUNNING:
        case PHASE_DONE:
            return FUTURE_RUNNING;
        case PHASE_CANCELLED:
            return FUTURE_CANCELLED;
        case PHASE_FREE:
            continue;
        }
    }
}

bool future_done(struct future *future)
{
    enum future_state state = future_state(future);
    return state == FUTURE_FINISHED || state == FUTURE_CANCELLED;
}

bool future_running(struct future *future)
{
    return future_state(future) == FUTURE_RUNNING;
}

bool future_cancelled(struct future *future)
{
    return future_state(future) == FUTURE_CANCELLED;
}

bool future_cancel(struct future *future)
{
    return pool_async_cancel(future->handle);
}

enum pool_status future_result(struct future *future, double timeout,
                               struct pool_result *result)
{
    return pool_async_get(future->handle, timeout, result);
}

enum pool_status future_exception(struct future *future, double timeout,
                                  char *error, size_t size)
{
    struct pool_result result;
    enum pool_status status = pool_async_get(future->handle, timeout, &result);
    if (size > 0) {
        error[0] = '\0';
        if (status == POOL_FAILED || status == POOL_WORKER_DIED ||
            status == POOL_CANCELLED) {
            strncpy(error, result.error, size - 1);
            error[size - 1] = '\0';
        }
    }
    return status;
}

void future_release(struct future *future)
{
    if (future == NULL)
        return;
    pool_async_release(future->handle);
    free(future);
}

const char *future_state_name(enum future_state state)
{
    switch (state) {
    case FUTURE_PENDING:
        return "PENDING";
    case FUTURE_RUNNING:
        return "RUNNING";
    case FUTURE_FINISHED:
        return "FINISHED";
    case FUTURE_CANCELLED:
        return "CANCELLED";
    }
    return "UNKNOWN";
}
