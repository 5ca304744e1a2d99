/* pool.c: the pool's API -- creating it, submitting tasks, waiting for
 * them, closing, terminating, joining (the design is in pool_internal.h). */
#define _GNU_SOURCE /* MAP_ANONYMOUS, MAP_POPULATE */
#include "pool_internal.h"

#include "checked.h"
#include "timing.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

enum {
    /* How long pool_apply / pool_map spin for a result before sleeping:
     * longer than a short task's round trip through a spinning worker. */
    WAIT_SPIN_NANOSECONDS = 50000,
};

int pool_fail(char *error, const char *format, ...)
{
    va_list arguments;
    va_start(arguments, format);
    vsnprintf(error, POOL_ERROR_SIZE, format, arguments);
    va_end(arguments);
    return -1;
}

/* ---- Creating ------------------------------------------------------------ */

static uint32_t power_of_two_at_least(uint64_t n)
{
    uint32_t power = 1;
    while (power < n)
        power *= 2;
    return power;
}

static size_t align_up(size_t offset)
{
    return (offset + CACHE_LINE - 1) / CACHE_LINE * CACHE_LINE;
}

/* Lay the shared mapping out: header, entries, task ring, slots, result
 * rings, result cells. */
static void map_shared(struct pool *pool)
{
    size_t offset = align_up(sizeof(struct pool_shared));
    size_t entries_at = offset;
    offset = align_up(offset + (size_t)pool->capacity * sizeof(struct entry));
    size_t task_cells_at = offset;
    offset = align_up(offset + (size_t)pool->ring_size * sizeof(uint64_t));
    size_t slots_at = offset;
    offset = align_up(offset + (size_t)pool->size * sizeof(struct worker_slot));
    size_t rings_at = offset;
    offset = align_up(offset + (size_t)pool->size * sizeof(struct result_ring));
    size_t result_cells_at = offset;
    offset += (size_t)pool->size * pool->result_size * sizeof(uint64_t);

    pool->mapping_size = offset;
    /* MAP_POPULATE: the page faults are paid now, not by the first tasks
     * of a measured run. */
    pool->mapping = CHECK_PTR(mmap(NULL, offset, PROT_READ | PROT_WRITE,
                                   MAP_SHARED | MAP_ANONYMOUS | MAP_POPULATE,
                                   -1, 0),
                              MAP_FAILED);
    unsigned char *base = pool->mapping;
    pool->shared = (struct pool_shared *)base;
    pool->entries = (struct entry *)(base + entries_at);
    pool->task_cells = (_Atomic uint64_t *)(base + task_cells_at);
    pool->slots = (struct worker_slot *)(base + slots_at);
    pool->rings = (struct result_ring *)(base + rings_at);
    pool->result_cells = (_Atomic uint64_t *)(base + result_cells_at);
    /* A fresh anonymous mapping is zero: every entry FREE, every ring cell
     * ticket 0 (never a valid ticket), every mask empty. */
}

static struct trace *default_trace; /* pool_trace_all(); set from main */
static int traced_pools;

void pool_trace_all(struct trace *trace)
{
    default_trace = trace;
}

struct pool *pool_create(const struct pool_options *options)
{
    struct pool_options chosen = options != NULL ? *options : (struct pool_options){0};
    if (chosen.workers == 0)
        chosen.workers = proc_cpu_count();
    if (chosen.capacity == 0)
        chosen.capacity = DEFAULT_CAPACITY;
    if (chosen.terminate_grace <= 0)
        chosen.terminate_grace = 1.0;
    if (chosen.workers < 1 || chosen.workers > POOL_MAX_WORKERS ||
        chosen.capacity < 1 || chosen.capacity > (1 << ENTRY_BITS) ||
        (chosen.kind != POOL_PROCESSES && chosen.kind != POOL_THREADS))
        die_at(__FILE__, __LINE__, "pool_create: bad options", EINVAL);

    struct pool *pool = xcalloc(1, sizeof *pool);
    pool->kind = chosen.kind;
    pool->trace = default_trace;
    if (pool->trace != NULL)
        pool->trace_serial = ++traced_pools;
    pool->size = chosen.workers;
    pool->capacity = chosen.capacity;
    pool->ring_size = power_of_two_at_least(2 * (uint64_t)chosen.capacity);
    pool->result_size = power_of_two_at_least((uint64_t)chosen.capacity);
    pool->initializer = chosen.initializer;
    pool->initializer_argument = chosen.initializer_argument;
    pool->terminate_grace = chosen.terminate_grace;
    pool->control_fd = -1;
    map_shared(pool);

    CHECK_PT(pthread_mutex_init(&pool->lock, NULL));
    CHECK_PT(pthread_mutex_init(&pool->join_lock, NULL));
    CHECK_PT(pthread_cond_init(&pool->entry_freed, NULL));
    pool->free_entries = xcalloc((size_t)pool->capacity, sizeof(uint32_t));
    /* Lowest index on top: a quiet pool keeps reusing the same few entries,
     * which stay in cache. */
    for (int i = 0; i < pool->capacity; i++)
        pool->free_entries[i] = (uint32_t)(pool->capacity - 1 - i);
    pool->free_count = pool->capacity;
    pool->cancelled = xcalloc((size_t)pool->capacity, sizeof(uint64_t));
    pool->locals = xcalloc((size_t)pool->capacity, sizeof *pool->locals);
    pool->workers = xcalloc((size_t)pool->size, sizeof *pool->workers);
    for (int slot = 0; slot < pool->size; slot++)
        pool->workers[slot].pidfd = -1;

    /* The handler first, and running, before any fork (proc.h). */
    CHECK_PT(pthread_create(&pool->handler, NULL, handler_main, pool));
    while (!atomic_load(&pool->handler_running))
        futex_wait_until(&pool->handler_running, 0, UINT64_MAX, false);
    workers_start(pool);
    return pool;
}

/* ---- Submitting ---------------------------------------------------------- */

/* Take a free entry (pool->lock held).  Waits while every entry is in
 * flight, unless `may_wait` is false or this is the handler thread. */
static enum pool_status entry_take(struct pool *pool, bool may_wait,
                                   uint32_t *index)
{
    for (;;) {
        if (pool->closed_local)
            return POOL_CLOSED;
        if (pool->free_count > 0)
            break;
        if (!may_wait || on_handler_thread(pool))
            return POOL_FULL;
        pool->entry_waiters++;
        CHECK_PT(pthread_cond_wait(&pool->entry_freed, &pool->lock));
        pool->entry_waiters--;
    }
    *index = pool->free_entries[--pool->free_count];
    return POOL_OK;
}

/* Put the task of entry `index` in the ring (pool->lock held).  Returns its
 * ticket. */
static uint64_t publish(struct pool *pool, uint32_t index, pool_task_fn task,
                        const union pool_value *argument,
                        bool waited)
{
    uint64_t ticket = ++pool->last_ticket;
    if (ticket >= UINT64_C(1) << 40)
        die_at(__FILE__, __LINE__, "pool: 2^40 tasks", EOVERFLOW);
    struct entry *entry = &pool->entries[index];
    entry->task = task;
    if (argument != NULL)
        entry->argument = *argument;
    else
        memset(&entry->argument, 0, sizeof entry->argument);
    /* Release: a scan that reads this reset knows the entry was freed
     * (see fail_waited_task). */
    atomic_store_explicit(&entry->done_word, WAITER_PENDING, memory_order_release);
    atomic_store_explicit(&entry->state,
                          state_make(ticket, 0, PHASE_QUEUED) |
                              (waited ? STATE_WAITED : 0),
                          memory_order_release);

    /* The ring has room for twice the tasks in flight, so it is full only
     * if many cancelled tasks still hold cells ahead of the head.  Workers
     * skip them as they go; help them, and if the head itself is a live
     * task, wait for a worker to take it -- without the lock, which the
     * supervisor may need to start that worker.  (Later tickets may be
     * published meanwhile: workers see them only once this one is.) */
    uint64_t position = ticket - 1;
    while (position - atomic_load(&pool->shared->head) >= pool->ring_size) {
        skip_dead_cells(pool);
        if (position - atomic_load(&pool->shared->head) >= pool->ring_size) {
            CHECK_PT(pthread_mutex_unlock(&pool->lock));
            clock_sleep(0.0001);
            CHECK_PT(pthread_mutex_lock(&pool->lock));
        }
    }
    /* seq_cst: ordered before the look at the workers' masks that follows
     * (wake_one_worker). */
    atomic_store(&pool->task_cells[position & (pool->ring_size - 1)],
                 cell_make(ticket, index));
    atomic_fetch_add_explicit(&pool->stats.submitted, 1, memory_order_relaxed);
    return ticket;
}

enum pool_status pool_apply_async(struct pool *pool, pool_task_fn task,
                                  const union pool_value *argument,
                                  pool_callback_fn callback,
                                  pool_callback_fn error_callback,
                                  void *context, struct pool_async **handle)
{
    struct pool_async *async = NULL;
    if (handle != NULL) {
        *handle = NULL;
        async = xcalloc(1, sizeof *async);
        atomic_init(&async->references, 2); /* the caller's and the pool's */
        async->pool = pool;
    }
    uint32_t index;
    CHECK_PT(pthread_mutex_lock(&pool->lock));
    enum pool_status status = entry_take(pool, true, &index);
    if (status != POOL_OK) {
        CHECK_PT(pthread_mutex_unlock(&pool->lock));
        free(async);
        return status;
    }
    struct entry_local *local = &pool->locals[index];
    local->callback = callback;
    local->error_callback = error_callback;
    local->context = context;
    local->handle = async;
    local->submitted = pool->trace != NULL ? clock_seconds() : 0;
    if (async != NULL) {
        async->entry = index;
        async->ticket = pool->last_ticket + 1;
    }
    atomic_store_explicit(&local->ticket, pool->last_ticket + 1,
                          memory_order_release);
    publish(pool, index, task, argument, false);
    CHECK_PT(pthread_mutex_unlock(&pool->lock));
    wake_one_worker(pool);
    if (handle != NULL)
        *handle = async;
    return POOL_OK;
}

/* ---- Waiting for one's own tasks (apply, map) ---------------------------- */

struct waited {
    uint32_t index;
    uint64_t ticket;
};

static enum pool_status submit_waited(struct pool *pool, pool_task_fn task,
                                      const union pool_value *argument,
                                      bool may_wait, struct waited *waited)
{
    CHECK_PT(pthread_mutex_lock(&pool->lock));
    enum pool_status status = entry_take(pool, may_wait, &waited->index);
    if (status == POOL_OK)
        waited->ticket = publish(pool, waited->index, task, argument, true);
    CHECK_PT(pthread_mutex_unlock(&pool->lock));
    if (status == POOL_OK)
        wake_one_worker(pool);
    return status;
}

static enum pool_status collect_waited(struct pool *pool,
                                       const struct waited *waited,
                                       struct pool_result *result)
{
    struct entry *entry = &pool->entries[waited->index];
    waiter_wait(&entry->done_word, WAIT_SPIN_NANOSECONDS, UINT64_MAX, true);
    struct pool_result copy = entry->result;
    copy.task_id = waited->ticket;
    entries_free(pool, &waited->index, 1);
    atomic_fetch_add_explicit(&pool->stats.completed, 1, memory_order_relaxed);
    if (copy.status == POOL_FAILED)
        atomic_fetch_add_explicit(&pool->stats.failed, 1, memory_order_relaxed);
    if (result != NULL)
        *result = copy;
    return copy.status;
}

enum pool_status pool_apply(struct pool *pool, pool_task_fn task,
                            const union pool_value *argument,
                            struct pool_result *result)
{
    struct waited waited;
    enum pool_status status = submit_waited(pool, task, argument, true, &waited);
    if (status != POOL_OK)
        return status;
    return collect_waited(pool, &waited, result);
}

enum pool_status pool_map(struct pool *pool, pool_task_fn task,
                          const union pool_value *arguments, size_t count,
                          struct pool_result *results)
{
    /* A sliding window of tasks in flight: wait for item i, then submit
     * one more.  Half the capacity leaves room for other submitters. */
    size_t window = (size_t)pool->capacity / 2;
    if (window < 1)
        window = 1;
    if (window > count)
        window = count;
    struct waited *waited = xcalloc(window > 0 ? window : 1, sizeof *waited);
    size_t submitted = 0, collected = 0;
    enum pool_status stopped = POOL_OK; /* why submitting stopped early */
    while (collected < count) {
        while (stopped == POOL_OK && submitted < count &&
               submitted - collected < window) {
            /* Holding tasks of our own, never wait for an entry: ours
             * will free up, and waiting could starve us of them. */
            enum pool_status status =
                submit_waited(pool, task, &arguments[submitted],
                              submitted == collected, &waited[submitted % window]);
            if (status == POOL_FULL && submitted > collected)
                break; /* collect one of ours first */
            if (status != POOL_OK) {
                stopped = status;
                break;
            }
            submitted++;
        }
        if (collected == submitted)
            break; /* submission stopped and nothing is in flight */
        collect_waited(pool, &waited[collected % window], &results[collected]);
        collected++;
    }
    free(waited);
    if (stopped == POOL_CLOSED && submitted == 0 && count > 0) {
        for (size_t i = 0; i < count; i++)
            result_cancelled(&results[i], 0, "the pool is closed");
        return POOL_CLOSED;
    }
    if (stopped == POOL_FULL && submitted == 0 && count > 0) {
        for (size_t i = 0; i < count; i++)
            result_cancelled(&results[i], 0, "the pool was full (in a callback)");
        return POOL_FULL;
    }
    for (size_t i = submitted; i < count; i++)
        result_cancelled(&results[i], 0,
                         stopped == POOL_CLOSED ? "the pool was closed during map"
                                                : "the pool was full (in a callback)");
    for (size_t i = 0; i < count; i++)
        if (results[i].status != POOL_OK)
            return results[i].status;
    return POOL_OK;
}

/* ---- Handles --------------------------------------------------------------- */

bool pool_async_ready(struct pool_async *handle)
{
    return atomic_load_explicit(&handle->done, memory_order_acquire) ==
           WAITER_DONE;
}

/* The handle's task state in its entry; valid while the handle is not
 * done (the entry is freed only after the handle completes). */
static uint64_t handle_state(struct pool_async *handle)
{
    return atomic_load(&handle->pool->entries[handle->entry].state);
}

bool pool_async_running(struct pool_async *handle)
{
    if (pool_async_ready(handle))
        return false;
    uint64_t state = handle_state(handle);
    return state_ticket(state) == handle->ticket &&
           (state_phase(state) == PHASE_RUNNING ||
            state_phase(state) == PHASE_DONE) &&
           !pool_async_ready(handle);
}

/* Cancelled, but the handler has not delivered it yet. */
static bool handle_cancel_pending(struct pool_async *handle)
{
    return !pool_async_ready(handle) &&
           handle_state(handle) ==
               state_make(handle->ticket, 0, PHASE_CANCELLED);
}

enum pool_status pool_async_get(struct pool_async *handle, double timeout,
                                struct pool_result *result)
{
    if (!pool_async_ready(handle) && handle_cancel_pending(handle)) {
        /* Cancelled is final the moment the cancel succeeds (Python:
         * result() raises CancelledError at once), even if the handler is
         * busy in a long callback and has not delivered it yet. */
        if (result != NULL)
            result_cancelled(result, handle->ticket,
                             "no worker had taken it yet");
        return POOL_CANCELLED;
    }
    if (!waiter_wait(&handle->done, 0, deadline_after(timeout), false))
        return POOL_TIMEOUT;
    if (result != NULL)
        *result = handle->result;
    return handle->result.status;
}

bool pool_async_cancel(struct pool_async *handle)
{
    if (pool_async_ready(handle))
        return handle->result.status == POOL_CANCELLED;
    struct pool *pool = handle->pool;
    struct entry *entry = &pool->entries[handle->entry];
    uint64_t expected = state_make(handle->ticket, 0, PHASE_QUEUED);
    uint64_t cancelled = state_make(handle->ticket, 0, PHASE_CANCELLED);
    /* Under the lock, so the handler's last look at its notes (when the
     * pool ends) cannot fall between this swap and the note. */
    CHECK_PT(pthread_mutex_lock(&pool->lock));
    bool won = atomic_compare_exchange_strong(&entry->state, &expected, cancelled);
    if (won) {
        pool->cancelled[pool->cancelled_count++] =
            cell_make(handle->ticket, handle->entry);
        atomic_store(&pool->notes_pending, 1);
    }
    CHECK_PT(pthread_mutex_unlock(&pool->lock));
    if (won) {
        notify_handler(pool);
        return true;
    }
    return expected == cancelled; /* cancelled before: still true */
}

int pool_cancel_pending(struct pool *pool)
{
    int cancelled = 0;
    CHECK_PT(pthread_mutex_lock(&pool->lock));
    for (int index = 0; index < pool->capacity; index++) {
        struct entry *entry = &pool->entries[index];
        uint64_t state = atomic_load(&entry->state);
        if (state_phase(state) != PHASE_QUEUED)
            continue;
        uint64_t ticket = state_ticket(state);
        if (!atomic_compare_exchange_strong(&entry->state, &state,
                                            state_next(state, 0, PHASE_CANCELLED)))
            continue; /* a worker took it meanwhile */
        cancelled++;
        if (state_waited(state)) {
            struct pool_result result;
            result_cancelled(&result, ticket, "no worker had taken it yet");
            waited_entry_end(pool, (uint32_t)index, state, &result);
        } else {
            pool->cancelled[pool->cancelled_count++] =
                cell_make(ticket, (uint32_t)index);
            atomic_store(&pool->notes_pending, 1);
        }
    }
    CHECK_PT(pthread_mutex_unlock(&pool->lock));
    if (cancelled > 0)
        notify_handler(pool);
    return cancelled;
}

void pool_async_release(struct pool_async *handle)
{
    if (handle != NULL)
        handle_unref(handle);
}

/* ---- Ending ---------------------------------------------------------------- */

static void close_for_submissions(struct pool *pool, bool terminate)
{
    CHECK_PT(pthread_mutex_lock(&pool->lock));
    pool->closed_local = true;
    if (terminate)
        atomic_store(&pool->shared->terminating, 1);
    /* Under the lock: whoever is refused with POOL_CLOSED (or told the
     * pool is no longer open) knows the workers can see it too. */
    atomic_store(&pool->shared->closed, 1);
    CHECK_PT(pthread_cond_broadcast(&pool->entry_freed));
    CHECK_PT(pthread_mutex_unlock(&pool->lock));
    /* Sleeping workers wake to see it: to leave, or (close) to finish the
     * queue first. */
    wake_all_workers(pool);
}

void pool_close(struct pool *pool)
{
    close_for_submissions(pool, false);
    /* The supervisor decides at each death whether a replacement is
     * needed; it reads `closed` then, so it needs no wake-up now. */
}

static enum pool_status join_until(struct pool *pool, uint64_t deadline)
{
    while (!atomic_load(&pool->handler_finished)) {
        if (deadline_passed(deadline))
            return POOL_TIMEOUT;
        futex_wait_until(&pool->handler_finished, 0, deadline, false);
    }
    CHECK_PT(pthread_mutex_lock(&pool->join_lock));
    if (!pool->joined) {
        /* Every thread of the pool has finished or is about to return. */
        workers_finish(pool);
        CHECK_PT(pthread_join(pool->handler, NULL));
        pool->joined = true;
    }
    CHECK_PT(pthread_mutex_unlock(&pool->join_lock));
    return POOL_OK;
}

enum pool_status pool_terminate(struct pool *pool)
{
    if (on_handler_thread(pool))
        return POOL_IN_CALLBACK;
    close_for_submissions(pool, true);
    if (!atomic_load(&pool->workers_gone))
        workers_terminate(pool);
    return join_until(pool, UINT64_MAX);
}

enum pool_status pool_join(struct pool *pool, double timeout)
{
    if (on_handler_thread(pool))
        return POOL_IN_CALLBACK;
    CHECK_PT(pthread_mutex_lock(&pool->lock));
    bool open = !pool->closed_local;
    CHECK_PT(pthread_mutex_unlock(&pool->lock));
    if (open)
        return POOL_STILL_OPEN;
    return join_until(pool, deadline_after(timeout));
}

enum pool_status pool_destroy(struct pool *pool)
{
    if (on_handler_thread(pool))
        return POOL_IN_CALLBACK;
    if (!pool->joined)
        pool_terminate(pool);
    if (pool->control_fd >= 0)
        close(pool->control_fd);
    CHECK(munmap(pool->mapping, pool->mapping_size));
    CHECK_PT(pthread_mutex_destroy(&pool->lock));
    CHECK_PT(pthread_mutex_destroy(&pool->join_lock));
    CHECK_PT(pthread_cond_destroy(&pool->entry_freed));
    free(pool->free_entries);
    free(pool->cancelled);
    free(pool->deaths);
    free(pool->locals);
    free(pool->workers);
    free(pool);
    return POOL_OK;
}
