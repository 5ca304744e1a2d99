/* pool_results.c: the result-handler thread ("pool-results").
 *
 * The one thread of this process that runs callbacks, so a lab's log shows
 * them all with the same pid and thread id, as Python's result handler
 * does.  It drains every worker's result ring in a batch, then the notes
 * other threads left it (cancelled tasks, dead workers); it spins briefly
 * when there is nothing, then sleeps until a worker or the pool wakes it.
 * Once every worker has ended for good, it cancels whatever is left and
 * finishes: after that no callback of the pool runs. */
#define _GNU_SOURCE /* pthread names through log.h */
#include "pool_internal.h"

#include "checked.h"
#include "log.h"
#include "timing.h"
#include "trace.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum {
    HANDLER_SPIN_NANOSECONDS = 20000,
    BATCH = 256, /* entries freed under one lock */
};

static _Thread_local struct pool *handler_of;

bool on_handler_thread(struct pool *pool) { return handler_of == pool; }

/* ---- Handles and entries ------------------------------------------------- */

void handle_unref(struct pool_async *handle)
{
    if (atomic_fetch_sub(&handle->references, 1) == 1)
        free(handle);
}

void handle_complete(struct pool_async *handle, const struct pool_result *result)
{
    handle->result = *result;
    waiter_finish(&handle->done, false);
    handle_unref(handle);
}

void entries_free(struct pool *pool, const uint32_t *entries, int count)
{
    if (count == 0)
        return;
    CHECK_PT(pthread_mutex_lock(&pool->lock));
    for (int i = 0; i < count; i++) {
        struct entry *entry = &pool->entries[entries[i]];
        uint64_t ticket = state_ticket(atomic_load(&entry->state));
        /* Release: whoever reads FREE (future_state) also sees the
         * handle completed before it. */
        atomic_store_explicit(&entry->state, state_make(ticket, 0, PHASE_FREE),
                              memory_order_release);
        if (pool->free_count == pool->capacity) /* freed twice: a pool bug */
            die_at(__FILE__, __LINE__, "pool: an entry freed twice", EPROTO);
        pool->free_entries[pool->free_count++] = entries[i];
    }
    if (pool->entry_waiters > 0)
        CHECK_PT(pthread_cond_broadcast(&pool->entry_freed));
    CHECK_PT(pthread_mutex_unlock(&pool->lock));
}

void waited_entry_end(struct pool *pool, uint32_t index, uint64_t state,
                      const struct pool_result *result)
{
    struct entry *entry = &pool->entries[index];
    entry->result = *result;
    atomic_store_explicit(&entry->state, state_next(state, 0, PHASE_DONE),
                          memory_order_release);
    waiter_finish(&entry->done_word, true);
}

void result_cancelled(struct pool_result *result, uint64_t ticket,
                      const char *why)
{
    memset(result, 0, sizeof *result);
    result->status = POOL_CANCELLED;
    result->task_id = ticket;
    snprintf(result->error, sizeof result->error, "cancelled: %s", why);
}

void result_worker_died(struct pool_result *result, uint64_t ticket,
                        const struct death *death)
{
    char how[64];
    memset(result, 0, sizeof *result);
    result->task_id = ticket;
    result->worker_pid = death->pid;
    result->worker_tid = death->pid;
    result->worker_number = (int)death->number;
    result->exitcode = death->exitcode;
    proc_describe_exitcode(death->exitcode, how, sizeof how);
    /* A long signal description is cut short; the pid and the signal
     * number come first, so what matters always fits. */
    if (death->terminated) {
        result->status = POOL_CANCELLED;
        snprintf(result->error, sizeof result->error,
                          "cancelled: the pool was terminated while worker "
                          "%d (pool-worker-%u) ran it (%.32s)",
                          (int)death->pid, death->number, how);
    } else {
        result->status = POOL_WORKER_DIED;
        snprintf(result->error, sizeof result->error,
                          "worker %d (pool-worker-%u) died while running the "
                          "task: %.48s",
                          (int)death->pid, death->number, how);
    }
}

/* ---- Delivery ------------------------------------------------------------ */

struct batch {
    uint32_t entries[BATCH];
    int count;
};

static void batch_flush(struct pool *pool, struct batch *batch)
{
    entries_free(pool, batch->entries, batch->count);
    batch->count = 0;
}

static void batch_add(struct pool *pool, struct batch *batch, uint32_t index)
{
    if (batch->count == BATCH)
        batch_flush(pool, batch);
    batch->entries[batch->count++] = index;
}

/* The task's life on the timeline (pool_trace_all): its own row, the
 * worker's row and the handler's row, with arrows between them. */
static void trace_task(struct pool *pool, uint32_t index,
                       const struct pool_result *result, double callback_start,
                       double callback_end, bool had_callback)
{
    struct trace *trace = pool->trace;
    int pid = (int)getpid(), handler = (int)log_thread_id();
    /* Made-up thread ids for the task rows, one range per pool. */
    int row = 0x40000000 + (pool->trace_serial << 20) +
              (int)(result->task_id & 0xfffff);
    uint64_t flow = ((uint64_t)pool->trace_serial << 42) | (result->task_id << 1);
    /* the submitter's, handed over with the entry's ticket */
    double submitted = pool->locals[index].submitted;
    char name[64];
    snprintf(name, sizeof name, "pool %d task %llu", pool->trace_serial,
             (unsigned long long)result->task_id);
    trace_name_process(trace, pid, "the pool's parent (submits tasks, runs "
                                   "callbacks)", 0);
    trace_name_thread(trace, pid, row, name, -1);
    trace_name_thread(trace, pid, handler, "result handler (runs the callbacks)", -1);
    if (result->started > 0) {
        trace_slice(trace, pid, row, "queued", "pool", submitted,
                    result->started, NULL);
        trace_slice(trace, pid, row, "running", "pool", result->started,
                    result->finished, NULL);
        snprintf(name, sizeof name, "pool-worker-%d", result->worker_number);
        if (pool->kind == POOL_PROCESSES)
            trace_name_process(trace, (int)result->worker_pid, name, -1);
        trace_name_thread(trace, (int)result->worker_pid,
                          (int)result->worker_tid, name, -1);
        snprintf(name, sizeof name, "task %llu",
                 (unsigned long long)result->task_id);
        trace_slice(trace, (int)result->worker_pid, (int)result->worker_tid,
                    name, "pool", result->started, result->finished, NULL);
        trace_flow(trace, flow, "submitted -> ran", pid, row, submitted,
                   (int)result->worker_pid, (int)result->worker_tid,
                   result->started);
        if (had_callback) {
            double last = result->finished - 1e-7 > result->started
                              ? result->finished - 1e-7
                              : result->started;
            trace_flow(trace, flow | 1, "result -> callback",
                       (int)result->worker_pid, (int)result->worker_tid, last,
                       pid, handler, callback_start);
        }
    } else {
        trace_slice(trace, pid, row, "queued, never ran", "pool", submitted,
                    callback_start, NULL);
    }
    if (had_callback) {
        snprintf(name, sizeof name, "callback of task %llu",
                 (unsigned long long)result->task_id);
        trace_slice(trace, pid, handler, name, "pool", callback_start,
                    callback_end, NULL);
    }
}

/* Run the task's callback, complete its handle, queue its entry for
 * freeing.  The callback may submit, cancel or close: no lock is held. */
static void deliver(struct pool *pool, struct batch *batch, uint32_t index,
                    uint64_t ticket, const struct pool_result *result)
{
    struct entry_local *local = &pool->locals[index];
    if (atomic_load_explicit(&local->ticket, memory_order_acquire) != ticket)
        die_at(__FILE__, __LINE__, "pool: a result for a task not submitted",
               EPROTO);
    pool_callback_fn callback =
        result->status == POOL_OK ? local->callback : local->error_callback;
    double callback_start = pool->trace != NULL ? clock_seconds() : 0;
    if (callback != NULL && callback(result, local->context) != 0)
        atomic_fetch_add_explicit(&pool->stats.callback_failures, 1,
                                  memory_order_relaxed);
    if (pool->trace != NULL)
        trace_task(pool, index, result, callback_start, clock_seconds(),
                   callback != NULL);
    atomic_fetch_add_explicit(&pool->stats.completed, 1, memory_order_relaxed);
    if (result->status == POOL_FAILED)
        atomic_fetch_add_explicit(&pool->stats.failed, 1, memory_order_relaxed);
    if (local->handle != NULL)
        handle_complete(local->handle, result);
    batch_add(pool, batch, index);
}

static _Atomic uint64_t *result_cells_of(struct pool *pool, int slot)
{
    return pool->result_cells + (size_t)slot * pool->result_size;
}

static uint64_t drain_ring(struct pool *pool, struct batch *batch, int slot)
{
    struct result_ring *ring = &pool->rings[slot];
    _Atomic uint64_t *cells = result_cells_of(pool, slot);
    uint64_t head = atomic_load_explicit(&ring->head, memory_order_relaxed);
    uint64_t tail = atomic_load_explicit(&ring->tail, memory_order_acquire);
    for (uint64_t position = head; position != tail; position++) {
        uint64_t cell = atomic_load_explicit(
            &cells[position & (pool->result_size - 1)], memory_order_relaxed);
        uint32_t index = cell_entry(cell);
        /* A copy: the callback gets a result nobody else writes. */
        struct pool_result result = pool->entries[index].result;
        deliver(pool, batch, index, cell_ticket(cell), &result);
    }
    atomic_store_explicit(&ring->head, tail, memory_order_release);
    return tail - head;
}

static uint64_t drain_rings(struct pool *pool, struct batch *batch)
{
    uint64_t delivered = 0;
    for (int slot = 0; slot < pool->size; slot++)
        delivered += drain_ring(pool, batch, slot);
    return delivered;
}

/* A worker died: deliver what it finished, then fail what it had claimed
 * (at most one task; the scan finds it by the incarnation it wrote into
 * the task's state when it claimed it). */
static void bury(struct pool *pool, struct batch *batch, const struct death *death)
{
    drain_ring(pool, batch, death->slot);
    /* Free what was just delivered first: until then those entries still
     * read RUNNING by this very incarnation, and would be failed twice. */
    batch_flush(pool, batch);
    for (int index = 0; index < pool->capacity; index++) {
        struct entry *entry = &pool->entries[index];
        uint64_t state = atomic_load_explicit(&entry->state, memory_order_acquire);
        /* Stable: only this thread ends a callback task once it runs, and
         * the worker that ran it is dead. */
        if (state_phase(state) != PHASE_RUNNING ||
            state_incarnation(state) != death->incarnation ||
            state_waited(state))
            continue;
        struct pool_result result;
        result_worker_died(&result, state_ticket(state), death);
        deliver(pool, batch, (uint32_t)index, state_ticket(state), &result);
    }
}

static uint64_t take_notes(struct pool *pool, struct batch *batch)
{
    if (!atomic_exchange(&pool->notes_pending, 0))
        return 0;
    uint64_t taken = 0;
    for (;;) {
        struct death death;
        uint64_t cell = 0;
        bool have_death = false, have_cancel = false;
        CHECK_PT(pthread_mutex_lock(&pool->lock));
        if (pool->death_count > 0) {
            death = pool->deaths[0];
            memmove(pool->deaths, pool->deaths + 1,
                    (size_t)--pool->death_count * sizeof *pool->deaths);
            have_death = true;
        } else if (pool->cancelled_count > 0) {
            cell = pool->cancelled[--pool->cancelled_count];
            have_cancel = true;
        }
        CHECK_PT(pthread_mutex_unlock(&pool->lock));
        if (have_death) {
            bury(pool, batch, &death);
        } else if (have_cancel) {
            struct pool_result result;
            result_cancelled(&result, cell_ticket(cell),
                             "no worker had taken it yet");
            deliver(pool, batch, cell_entry(cell), cell_ticket(cell), &result);
        } else {
            return taken;
        }
        taken++;
    }
}

/* Every worker has ended: nothing can run any more.  Whatever is still
 * queued (pool_terminate) ends as cancelled, callbacks and waiters alike. */
static void cancel_leftovers(struct pool *pool, struct batch *batch)
{
    for (int index = 0; index < pool->capacity; index++) {
        struct entry *entry = &pool->entries[index];
        uint64_t state = atomic_load_explicit(&entry->state, memory_order_acquire);
        enum phase phase = state_phase(state);
        if (phase != PHASE_QUEUED && phase != PHASE_RUNNING)
            continue;
        uint64_t ticket = state_ticket(state);
        if (!atomic_compare_exchange_strong(&entry->state, &state,
                                            state_next(state, 0, PHASE_CANCELLED)))
            continue;
        struct pool_result result;
        result_cancelled(&result, ticket,
                         phase == PHASE_QUEUED
                             ? "the pool was terminated before a worker took it"
                             : "the pool ended while it ran");
        if (state_waited(state))
            waited_entry_end(pool, (uint32_t)index, state, &result);
        else
            deliver(pool, batch, (uint32_t)index, ticket, &result);
    }
}

void cancel_waited_leftovers(struct pool *pool)
{
    for (int index = 0; index < pool->capacity; index++) {
        struct entry *entry = &pool->entries[index];
        uint64_t state = atomic_load_explicit(&entry->state, memory_order_acquire);
        if (!state_waited(state) || state_phase(state) != PHASE_QUEUED)
            continue;
        if (!atomic_compare_exchange_strong(&entry->state, &state,
                                            state_next(state, 0, PHASE_CANCELLED)))
            continue; /* cancelled meanwhile (pool_cancel_pending) */
        struct pool_result result;
        result_cancelled(&result, state_ticket(state),
                         "the pool was terminated before a worker took it");
        waited_entry_end(pool, (uint32_t)index, state, &result);
    }
}

static bool results_waiting(struct pool *pool)
{
    for (int slot = 0; slot < pool->size; slot++) {
        struct result_ring *ring = &pool->rings[slot];
        if (atomic_load(&ring->tail) != atomic_load_explicit(
                                            &ring->head, memory_order_relaxed))
            return true;
    }
    return atomic_load(&pool->notes_pending) || atomic_load(&pool->workers_gone);
}

static void sleep_until_notified(struct pool *pool)
{
    struct spin spin = spin_begin(HANDLER_SPIN_NANOSECONDS);
    do
        if (results_waiting(pool))
            return;
    while (spin_more(&spin));
    struct pool_shared *shared = pool->shared;
    /* Mirror image of notify_handler: announce the sleep, then look once
     * more; a notifier makes its news visible, then looks at the flag. */
    uint32_t seen = atomic_load(&shared->handler_word);
    atomic_store(&shared->handler_asleep, 1);
    if (!results_waiting(pool))
        futex_wait_until(&shared->handler_word, seen, UINT64_MAX, true);
    atomic_store(&shared->handler_asleep, 0);
}

void *handler_main(void *argument)
{
    struct pool *pool = argument;
    handler_of = pool;
    log_set_name("pool-results");
    atomic_store(&pool->handler_running, 1);
    futex_wake(&pool->handler_running, INT_MAX, false);

    struct batch *batch = xcalloc(1, sizeof *batch);
    for (;;) {
        /* Read before draining: whatever was sent before the workers were
         * declared gone is then drained below. */
        bool gone = atomic_load(&pool->workers_gone);
        uint64_t delivered = drain_rings(pool, batch);
        delivered += take_notes(pool, batch);
        batch_flush(pool, batch);
        if (delivered > 0)
            continue;
        if (gone)
            break;
        sleep_until_notified(pool);
    }
    cancel_leftovers(pool, batch);
    take_notes(pool, batch); /* cancels that raced with the end */
    batch_flush(pool, batch);
    free(batch);

    atomic_store(&pool->handler_finished, 1);
    futex_wake(&pool->handler_finished, INT_MAX, false);
    return NULL;
}
